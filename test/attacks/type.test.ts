/**
 * Issue 6, attack 2: type swap. A URL signed for image/png must not carry another type (the
 * storage refuses it), and a file whose bytes are markup or a program must not survive complete
 * under an image's name (magic bytes), whatever type the PUT claimed.
 */
import { describe, expect, it } from 'vitest';
import { codeOf, expectLedger, expectNothingStored, expectRefused, newUser, STACKS, useStack } from './stack.js';

const PNG_HEAD = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const text = (s: string) => new TextEncoder().encode(s.padEnd(256, ' '));
const bytes = (...head: number[]) => Uint8Array.from({ length: 256 }, (_, i) => head[i] ?? 0x41);

describe.each(STACKS)('type swap on $name', (factory) => {
  const stack = useStack(factory);
  const png = () => bytes(...PNG_HEAD);

  it.each([
    ['text/html', { 'content-type': 'text/html' }],
    ['image/svg+xml', { 'content-type': 'image/svg+xml' }],
    ['image/jpeg', { 'content-type': 'image/jpeg' }],
    ['no content type', {}],
  ])('the storage refuses a PUT as %s on a URL signed for image/png', async (_, headers) => {
    const s = stack();
    const user = newUser();
    const { json } = await s.sign({ size: 256, contentType: 'image/png' }, user);
    await expectRefused(s, await s.put(json, png(), headers), 'wrong-content-type');
    await expectNothingStored(s, String(json.key));
    await expectLedger(s, user, { usedBytes: 0, reservedBytes: 256, pending: 1 });
    expect(codeOf((await s.complete(String(json.uploadId), user)).json)).toBe('UPLOAD_NOT_RECEIVED');
  });

  it('stores the signed type even when the PUT spells it with parameters or capitals (S3: refuses it)', async () => {
    const s = stack();
    const user = newUser();
    for (const contentType of ['image/png; charset=utf-8', 'IMAGE/PNG']) {
      const { json } = await s.sign({ size: 256, contentType: 'image/png' }, user);
      const response = await s.put(json, png(), { 'content-type': contentType });
      // SigV4 signs the header's exact spelling: any other is refused, so nothing is ever stored under another type.
      if (s.store === 's3') await expectRefused(s, response, 'wrong-content-type');
      else expect(response.status).toBe(200);
      expect((await s.storage.head(String(json.key)))?.contentType).toBe(s.store === 's3' ? undefined : 'image/png');
    }
  });

  it.each(['text/html', 'image/svg+xml', 'IMAGE/SVG+XML; charset=utf-8', 'application/xhtml+xml', 'text/xml', 'application/javascript'])(
    'never signs %s on the default route',
    async (contentType) => {
      const s = stack();
      const user = newUser();
      const { status, json } = await s.sign({ size: 256, contentType }, user);
      expect(status).toBe(415);
      expect(codeOf(json)).toBe('FILE_TYPE_NOT_ALLOWED');
      await expectLedger(s, user, { usedBytes: 0, reservedBytes: 0, pending: 0 });
    },
  );

  it.each([
    ['HTML', 'image/png', text('<!DOCTYPE html><script>alert(1)</script>')],
    ['HTML after a BOM and blanks', 'image/png', text('\uFEFF \n <html><body onload=alert(1)>')],
    ['SVG', 'image/png', text('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')],
    ['XML', 'image/png', text('<?xml version="1.0"?><x/>')],
    ['a JPEG', 'image/png', bytes(0xff, 0xd8, 0xff, 0xe0)],
    ['an ELF binary', 'image/png', bytes(0x7f, 0x45, 0x4c, 0x46)],
    ['an ELF binary', 'video/x-flv', bytes(0x7f, 0x45, 0x4c, 0x46)],
    ['a Windows executable', 'video/x-flv', bytes(0x4d, 0x5a)],
    ['a shell script', 'audio/x-aiff', text('#!/bin/sh\nrm -rf ~\n')],
    ['HTML', 'video/x-flv', text('<iframe src=https://evil.example>')],
  ])('refuses %s declared as %s at complete, and removes it', async (_, contentType, body) => {
    const s = stack();
    const user = newUser();
    const { json } = await s.sign({ size: body.length, contentType }, user);
    // The PUT is right in every way the URL can bind: size and type. Only the bytes lie.
    expect((await s.put(json, body)).status).toBe(200);
    const done = await s.complete(String(json.uploadId), user);
    expect(done.status).toBe(422);
    expect(codeOf(done.json)).toBe('UPLOAD_INTEGRITY_FAILED');
    await expectNothingStored(s, String(json.key));
    await expectLedger(s, user, { usedBytes: 0, reservedBytes: 0, pending: 0 });
    expect((await s.ledger.getUpload(String(json.uploadId)))?.status).toBe('failed');
    // Completing again does not bring it back.
    expect(codeOf((await s.complete(String(json.uploadId), user)).json)).toBe('UPLOAD_INTEGRITY_FAILED');
  });

  it('serves a PNG that carries HTML after its signature as image/png (disk: with nosniff), never as a page', async () => {
    const s = stack();
    const user = newUser();
    const polyglot = bytes(...PNG_HEAD, ...text('<html><script>alert(1)</script>'));
    const { json } = await s.sign({ size: polyglot.length, contentType: 'image/png', name: 'cat.png' }, user);
    await s.put(json, polyglot);
    expect((await s.complete(String(json.uploadId), user)).status).toBe(200);
    const redirect = await s.call('GET', `/api/upload/files/${json.uploadId}`, { user });
    expect(redirect.status).toBe(302);
    const read = await s.send({ url: String(redirect.headers.location), method: 'GET', headers: {}, expiresAt: new Date() });
    expect(read.status).toBe(200);
    expect(read.headers.get('content-type')).toBe('image/png');
    // The disk store sends nosniff itself; on S3 that header is the bucket's or CDN's business.
    if (s.store === 'disk') expect(read.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
