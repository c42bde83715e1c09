/**
 * Issue 6, attack 3: key takeover. A client may not choose where its bytes land, may not act on
 * another user's upload (and may not even learn that it exists: 404 exactly like an id nobody
 * has), and on the disk store may not write a second time through a URL that already carried a file.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fileOf } from '../helpers/harness.js';
import { bodyOf } from '../helpers/requests.js';
import { codeOf, expectLedger, expectNothingStored, expectRefused, newUser, STACKS, useStack } from './stack.js';

const BASE = '/api/upload';

describe.each(STACKS)('key takeover on $name', (factory) => {
  const stack = useStack(factory);

  it.each([
    ['key', 'default/victim.png'],
    ['path', '../../etc/passwd'],
    ['prefix', '../'],
    ['bucket', 'other-bucket'],
    ['filename', '../../victim.png'],
    ['location', 'https://evil.example/x'],
  ])('refuses a sign request with a "%s" field, reserving nothing', async (field, value) => {
    const s = stack();
    const user = newUser();
    const { status, json } = await s.sign({ size: 100, contentType: 'image/png', [field]: value }, user);
    expect(status).toBe(400);
    expect(json.error).toMatchObject({ code: 'INVALID_REQUEST', field });
    await expectLedger(s, user, { usedBytes: 0, reservedBytes: 0, pending: 0 });
  });

  it.each([
    ['a traversal in the name', { name: '../../../objects/default/victim.png' }],
    ['a traversal in the route', { route: '../default' }],
    ['a prototype key as route', { route: '__proto__' }],
  ])('refuses %s', async (_, extra) => {
    const s = stack();
    const user = newUser();
    const { status, json } = await s.sign({ size: 100, contentType: 'image/png', ...extra }, user);
    expect(status).toBe(400);
    expect(codeOf(json)).toBe('INVALID_REQUEST');
    await expectLedger(s, user, { usedBytes: 0, reservedBytes: 0, pending: 0 });
  });

  it('puts keys and traversal-looking metadata nowhere near the key', async () => {
    const s = stack();
    const user = newUser();
    const { status, json } = await s.sign({ size: 100, contentType: 'image/png', metadata: { key: '../../x', path: '/etc' } }, user);
    expect(status).toBe(200);
    expect(json.key).toBe(`default/${json.uploadId}.png`);
  });

  it("answers another user's upload id with the very 404 of an id nobody has, on every call, and changes nothing", async () => {
    const s = stack();
    const [alice, mallory] = [newUser(), newUser()];
    const { json } = await s.sign({ size: 256, contentType: 'image/png' }, alice);
    const id = String(json.uploadId);
    const ghost = randomUUID();
    const calls: [string, (id: string) => string, unknown][] = [
      ['GET', (i) => `${BASE}/${i}`, undefined],
      ['POST', (i) => `${BASE}/${i}/parts`, { parts: [{ partNumber: 1 }] }],
      ['POST', (i) => `${BASE}/${i}/complete`, {}],
      ['DELETE', (i) => `${BASE}/${i}`, undefined],
      ['GET', (i) => `${BASE}/files/${i}`, undefined],
      ['DELETE', (i) => `${BASE}/files/${i}`, undefined],
    ];
    for (const [method, path, body] of calls) {
      const theirs = await s.call(method, path(id), { user: mallory, ...(body === undefined ? {} : { json: body }) });
      const nobodys = await s.call(method, path(ghost), { user: mallory, ...(body === undefined ? {} : { json: body }) });
      expect(theirs.status, `${method} ${path(':id')}`).toBe(404);
      // Same body, word for word: nothing tells an existing id from a made-up one.
      expect(await bodyOf(theirs)).toBe(await bodyOf(nobodys));
    }
    expect((await s.ledger.getUpload(id))?.status).toBe('pending');
    await expectLedger(s, alice, { usedBytes: 0, reservedBytes: 256, pending: 1 });
    await expectLedger(s, mallory, { usedBytes: 0, reservedBytes: 0, pending: 0 });
    // The owner is unaffected: the upload still lands and completes.
    expect((await s.put(json, fileOf('image/png', 256))).status).toBe(200);
    expect((await s.complete(id, alice)).status).toBe(200);
  });

  it("cannot reach another user's completed file to complete, abort or delete it", async () => {
    const s = stack();
    const [alice, mallory] = [newUser(), newUser()];
    const { json } = await s.sign({ size: 256, contentType: 'image/png' }, alice);
    await s.put(json, fileOf('image/png', 256));
    await s.complete(String(json.uploadId), alice);
    for (const [method, path] of [
      ['POST', `${BASE}/${json.uploadId}/complete`],
      ['DELETE', `${BASE}/${json.uploadId}`],
      ['DELETE', `${BASE}/files/${json.uploadId}`],
    ] as const) {
      expect((await s.call(method, path, { user: mallory, json: {} })).status).toBe(404);
    }
    expect((await s.storage.head(String(json.key)))?.size).toBe(256);
    await expectLedger(s, alice, { usedBytes: 256, reservedBytes: 0, pending: 0 });
  });

  it.each([
    `${BASE}/..%2F..%2Fetc%2Fpasswd/complete`,
    `${BASE}/${randomUUID().toUpperCase()}/complete`,
    `${BASE}/${'-'.repeat(36)}/complete`,
    `${BASE}/files/..%2F${randomUUID()}`,
  ])('answers 404 to the odd id in %s', async (path) => {
    const response = await stack().call('POST', path, { user: newUser(), json: {} });
    expect(response.status).toBe(404);
  });

  it('refuses a second write through a URL that already carried a file; the first file stays', async () => {
    const s = stack();
    const user = newUser();
    // The disk store's token is single-use whatever the client; on S3 the URL stays valid until it
    // expires, and what refuses the second write is the If-None-Match: * dropgate's client signs.
    const { json } = await s.sign({ size: 512, contentType: 'image/png', ifNoneMatch: true }, user);
    const first = fileOf('image/png', 512);
    expect((await s.put(json, first)).status).toBe(200);
    await expectRefused(s, await s.put(json, fileOf('image/png', 512)), 'token-used');
    // And after complete too: the recorded file is the first one, byte for byte.
    expect((await s.complete(String(json.uploadId), user)).status).toBe(200);
    await expectRefused(s, await s.put(json, fileOf('image/png', 512)), 'token-used');
    expect(Buffer.from(await s.storage.readRange(String(json.key), 0, 511)).equals(Buffer.from(first))).toBe(true);
    expect((await s.call('GET', `${BASE}/files/${json.uploadId}`, { user })).status).toBe(302);
    await expectNothingStored(s);
  });

  it("catches an overwrite through a URL signed without If-None-Match (the seed's client) when the file is read", async () => {
    const s = stack();
    const user = newUser();
    const { json } = await s.sign({ size: 512, contentType: 'image/png' }, user);
    expect((await s.put(json, fileOf('image/png', 512))).status).toBe(200);
    expect((await s.complete(String(json.uploadId), user)).status).toBe(200);
    const replay = await s.put(json, fileOf('image/png', 512));
    if (s.store === 'disk') {
      await expectRefused(s, replay, 'token-used');
      expect((await s.call('GET', `${BASE}/files/${json.uploadId}`, { user })).status).toBe(302);
      return;
    }
    // S3 took the bytes (the URL is still valid); the ETag recorded at complete no longer matches,
    // so the gateway refuses to hand the file out, and never redirects to the new bytes.
    expect(replay.status).toBe(200);
    const read = await s.call('GET', `${BASE}/files/${json.uploadId}`, { user });
    expect(read.status).toBe(422);
    expect(read.headers.location).toBeUndefined();
    expect(codeOf(JSON.parse(await bodyOf(read)))).toBe('UPLOAD_INTEGRITY_FAILED');
    await expectLedger(s, user, { usedBytes: 512, reservedBytes: 0, pending: 0 });
  });
});
