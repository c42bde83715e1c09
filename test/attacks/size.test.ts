/**
 * Issue 6, attack 1: size bypass. The URL was signed for N bytes; the storage itself must refuse
 * every other count, whatever the headers claim, and a refused attempt must leave no bytes, no
 * charge, and the reservation exactly as it was (the client may still send the right file).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileOf } from '../helpers/harness.js';
import { type Live, send, sendRaw, startLive } from './live.js';
import { codeOf, expectLedger, expectNothingStored, expectRefused, newUser, STACKS, useStack } from './stack.js';

const N = 1000;

describe.each(STACKS)('size bypass on $name', (factory) => {
  const stack = useStack(factory);

  it.each([
    ['N+1', N + 1],
    ['N-1', N - 1],
    ['0', 0],
    ['5N', 5 * N],
  ])('refuses a body of %s bytes for a URL signed for N, and keeps the reservation', async (_, length) => {
    const s = stack();
    const user = newUser();
    const { json } = await s.sign({ size: N, contentType: 'image/png' }, user);
    await expectRefused(s, await s.put(json, fileOf('image/png', length)), 'size-mismatch');
    await expectNothingStored(s, String(json.key));
    await expectLedger(s, user, { usedBytes: 0, reservedBytes: N, pending: 1 });
    // The refusal did not use the URL up: the honest N bytes still land and complete at N.
    expect((await s.put(json, fileOf('image/png', N))).status).toBe(200);
    expect((await s.complete(String(json.uploadId), user)).status).toBe(200);
    await expectLedger(s, user, { usedBytes: N, reservedBytes: 0, pending: 0 });
  });

  it('refuses a Content-Length that lies in either direction', async () => {
    const s = stack();
    const user = newUser();
    const { json } = await s.sign({ size: N, contentType: 'image/png' }, user);
    const signed = json.headers as Record<string, string>;
    // Says 5N: refused before any byte is read.
    const bigger = await s.put(json, fileOf('image/png', N), { ...signed, 'content-length': String(5 * N) });
    await expectRefused(s, bigger, 'size-mismatch');
    await expectNothingStored(s, String(json.key));
    // Says N, carries N+1: the disk receiver counts what arrives, not what was announced. S3 reads
    // the signed N bytes as the body and the extra byte as the start of the next request on the
    // connection: the object is exactly the N bytes signed for, never N+1.
    const sent = fileOf('image/png', N + 1);
    const longer = await s.put(json, sent, { ...signed, 'content-length': String(N) });
    if (s.store === 's3') {
      expect(longer.status).toBe(200);
      expect(Buffer.from(await s.storage.readRange(String(json.key), 0, N)).equals(Buffer.from(sent.subarray(0, N)))).toBe(true);
      expect((await s.storage.head(String(json.key)))?.size).toBe(N);
      expect((await s.complete(String(json.uploadId), user)).json.file).toMatchObject({ size: N });
      await expectLedger(s, user, { usedBytes: N, reservedBytes: 0, pending: 0 });
      return;
    }
    await expectRefused(s, longer, 'size-mismatch');
    await expectNothingStored(s, String(json.key));
    expect((await s.complete(String(json.uploadId), user)).json.error).toMatchObject({ code: 'UPLOAD_NOT_RECEIVED' });
    expect((await s.call('DELETE', `/api/upload/${json.uploadId}`, { user })).status).toBe(200);
    await expectLedger(s, user, { usedBytes: 0, reservedBytes: 0, pending: 0 });
  });

  it('refuses a sign request for 0 bytes or past the route maximum, reserving nothing', async () => {
    const s = stack();
    const user = newUser();
    const max = 200 * 1024 * 1024;
    expect(codeOf((await s.sign({ size: 0, contentType: 'image/png' }, user)).json)).toBe('INVALID_REQUEST');
    expect(codeOf((await s.sign({ size: max + 1, contentType: 'image/png' }, user)).json)).toBe('FILE_TOO_LARGE');
    expect(codeOf((await s.sign({ size: 5 * max, contentType: 'image/png', multipart: true }, user)).json)).toBe('FILE_TOO_LARGE');
    await expectLedger(s, user, { usedBytes: 0, reservedBytes: 0, pending: 0 });
    await expectNothingStored(s);
  });
});

describe('size bypass over a real socket to `dropgate dev`', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive();
  });
  afterAll(() => live.stop());

  async function signPng(size = N) {
    const answer = await live.sign({ size, contentType: 'image/png' });
    expect(answer.status).toBe(200);
    return answer.json as { uploadId: string; key: string; presignedUrl: string; headers: Record<string, string> };
  }

  it.each([
    ['N+1', N + 1],
    ['N-1', N - 1],
    ['0', 0],
    ['5N', 5 * N],
  ])('refuses a chunked body with no length of %s bytes', async (_, length) => {
    const signed = await signPng();
    const body = fileOf('image/png', length);
    // Two writes, so the body really goes out as chunks and only the receiver's count can judge it.
    const half = Math.floor(length / 2);
    const answer = await send(signed.presignedUrl, 'PUT', signed.headers, body.subarray(0, half), body.subarray(half));
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({ code: 'INVALID_REQUEST', reason: 'size-mismatch' });
    expect(await live.objectExists(signed.key)).toBe(false);
    expect(await live.scratch()).toEqual({ temp: [], multipart: [] });
    const complete = await send(`${live.endpoint}/${signed.uploadId}/complete`, 'POST', { 'content-type': 'application/json' }, '{}');
    expect(complete.json.error).toMatchObject({ code: 'UPLOAD_NOT_RECEIVED' });
    expect((await send(`${live.endpoint}/${signed.uploadId}`, 'DELETE')).status).toBe(200);
    expect(await live.ledgerOf()).toEqual({ usedBytes: 0, reservedBytes: 0, pending: 0 });
  });

  it('answers exactly N bytes sent chunked with 200: the count, not the framing, is what matters', async () => {
    const signed = await signPng();
    const body = fileOf('image/png', N);
    expect((await send(signed.presignedUrl, 'PUT', signed.headers, body.subarray(0, 10), body.subarray(10))).status).toBe(200);
    const complete = await send(`${live.endpoint}/${signed.uploadId}/complete`, 'POST', { 'content-type': 'application/json' }, '{}');
    expect(complete.status).toBe(200);
    expect((complete.json.file as { size: number }).size).toBe(N);
    await send(`${live.endpoint}/files/${signed.uploadId}`, 'DELETE');
  });

  it('refuses a request that carries both Content-Length and Transfer-Encoding (request smuggling)', async () => {
    const signed = await signPng();
    const url = new URL(signed.presignedUrl);
    const body = Buffer.from(fileOf('image/png', N + 1)).toString('latin1');
    const statusLine = await sendRaw(
      signed.presignedUrl,
      `PUT ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: image/png\r\nContent-Length: ${N}\r\n` +
        `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${(N + 1).toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    );
    expect(statusLine).toMatch(/^HTTP\/1\.1 400 /);
    expect(await live.objectExists(signed.key)).toBe(false);
    expect((await send(`${live.endpoint}/${signed.uploadId}`, 'DELETE')).status).toBe(200);
    expect(await live.scratch()).toEqual({ temp: [], multipart: [] });
  });
});
