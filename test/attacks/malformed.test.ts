/**
 * Issue 6, attack 11: bodies no client of ours would send. Each is answered 400 or 413 with a
 * clear code, never a 500; nothing is reserved, recorded or changed; and the server stays up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileOf } from '../helpers/harness.js';
import { jsonOf } from '../helpers/requests.js';
import { type Live, send, sendRaw, startLive } from './live.js';
import { type AttackStack, codeOf, expectLedger, newUser, STACKS, useStack } from './stack.js';

const ok = { size: 1000, contentType: 'image/png' };
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const j = (value: unknown) => JSON.stringify(value);

/** [what, raw body, status] for `POST {base}`. */
const SIGN_BODIES: [string, string, number][] = [
  ['an empty body', '', 400],
  ['truncated JSON', '{"size":1000,', 400],
  ['trailing garbage', `${j(ok)}garbage`, 400],
  ['null', 'null', 400],
  ['an array', '[]', 400],
  ['a string', '"x"', 400],
  ['a number', '1', 400],
  ['size as a string', j({ ...ok, size: '1000' }), 400],
  ['size as a float', j({ ...ok, size: 1.5 }), 400],
  ['size past 2^53', '{"size":1e400,"contentType":"image/png"}', 400],
  ['size as an object', j({ ...ok, size: { valueOf: 1000 } }), 400],
  ['size missing', j({ contentType: 'image/png' }), 400],
  ['a later duplicate size', '{"size":1000,"size":-1,"contentType":"image/png"}', 400],
  ['contentType as a number', j({ ...ok, contentType: 5 }), 400],
  ['contentType of 300 characters', j({ ...ok, contentType: `image/${'x'.repeat(294)}` }), 400],
  ['name as an object', j({ ...ok, name: { toString: 'a.png' } }), 400],
  ['metadata as an array', j({ ...ok, metadata: [1] }), 400],
  ['nested metadata', j({ ...ok, metadata: { a: { b: 1 } } }), 400],
  ['metadata over 2 KB', j({ ...ok, metadata: { a: 'x'.repeat(2100) } }), 400],
  ['a checksum that is not base64 of 16 bytes', j({ ...ok, checksum: { algorithm: 'md5', value: 'zz' } }), 400],
  ['an unknown checksum algorithm', j({ ...ok, checksum: { algorithm: 'crc32', value: 'AAAAAA==' } }), 400],
  ['multipart as a string', j({ ...ok, multipart: 'yes' }), 400],
  ['route as a number', j({ ...ok, route: 1 }), 400],
  ['an unknown field', j({ ...ok, admin: true }), 400],
  ['a __proto__ field', '{"__proto__":{"maxSize":1e12},"size":1000,"contentType":"image/png"}', 400],
  ['a constructor field', j({ ...ok, constructor: { prototype: {} } }), 400],
  ['nesting 30,000 deep', nested(30_000), 400],
  ['nesting 10,000 deep inside metadata', `{"size":1000,"contentType":"image/png","metadata":{"a":${nested(10_000)}}}`, 400],
  ['64 KiB + 1 of JSON', j({ ...ok, name: 'x'.repeat(64 * 1024) }), 413],
  ['1 MB of JSON', j({ ...ok, metadata: { a: 'x'.repeat(1_000_000) } }), 413],
];

describe.each(STACKS)('malformed requests on $name', (factory) => {
  const stack = useStack(factory, { routes: { default: { rateLimit: { perUserPerMinute: 1000 } } } });
  const post = (s: AttackStack, path: string, body: string, user: string) =>
    s.call('POST', path, { body, headers: { 'content-type': 'application/json' }, user });

  it.each(SIGN_BODIES)('answers sign with %s: %i and a code, reserving nothing', async (_, body, status) => {
    const s = stack();
    const user = newUser();
    const response = await post(s, '/api/upload', body, user);
    expect(response.status).toBe(status);
    expect(codeOf(await jsonOf(response))).toBe(status === 413 ? 'REQUEST_TOO_LARGE' : 'INVALID_REQUEST');
    await expectLedger(s, user, { usedBytes: 0, reservedBytes: 0, pending: 0 });
  });

  it('answers parts and complete with bad bodies 400/413, and the upload is unharmed', async () => {
    const s = stack();
    const user = newUser();
    const { json } = await s.sign({ size: 6000, contentType: 'image/png', multipart: true }, user);
    const id = String(json.uploadId);
    const parts: [string, number][] = [
      ['{}', 400],
      [j({ parts: [] }), 400],
      [j({ parts: 'all' }), 400],
      [j({ parts: Array.from({ length: 101 }, (_, i) => ({ partNumber: i + 1 })) }), 400],
      ...[0, 10_001, 1.5, '1', null].map((partNumber): [string, number] => [j({ parts: [{ partNumber }] }), 400]),
      [j({ parts: [{ partNumber: 1, md5: 'not-md5' }] }), 400],
      [j({ parts: [{ partNumber: 1, url: 'https://evil.example' }] }), 400],
      [j({ parts: [{ partNumber: 2 }] }), 400],
    ];
    const complete: [string, number][] = [
      ['[]', 400],
      [j({ parts: {} }), 400],
      [j({ parts: [{ partNumber: 1 }] }), 400],
      [j({ parts: [{ partNumber: 1, etag: 'x'.repeat(129) }] }), 400],
      [j({ parts: [{ partNumber: 1, etag: 5 }] }), 400],
      [j({ key: 'default/other.png' }), 400],
      [j({ parts: Array.from({ length: 10_000 }, (_, i) => ({ partNumber: i + 1, etag: 'e' })) }), 413],
      [nested(30_000), 400],
    ];
    for (const [path, bodies] of [
      [`/api/upload/${id}/parts`, parts],
      [`/api/upload/${id}/complete`, complete],
    ] as const) {
      for (const [body, status] of bodies) {
        const response = await post(s, path, body, user);
        expect(response.status, `${path} ${body.slice(0, 60)}`).toBe(status);
        expect(['INVALID_REQUEST', 'REQUEST_TOO_LARGE']).toContain(codeOf(await jsonOf(response)));
      }
    }
    expect(await s.ledger.partChecksums(id)).toEqual([]);
    expect((await s.ledger.getUpload(id))?.status).toBe('pending');
    await expectLedger(s, user, { usedBytes: 0, reservedBytes: 6000, pending: 1 });
    // The genuine client carries on as if nothing happened.
    const signed = await jsonOf<{ parts: { url: string }[] }>(
      await post(s, `/api/upload/${id}/parts`, j({ parts: [{ partNumber: 1 }] }), user),
    );
    expect((await s.put({ presignedUrl: signed.parts[0]!.url, headers: {} }, fileOf('image/png', 6000))).status).toBe(200);
    expect((await s.complete(id, user)).status).toBe(200);
    expect(s.logs.filter((entry) => entry.level === 'error')).toEqual([]);
  });
});

describe('malformed requests over real HTTP to `dropgate dev`', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive();
  });
  afterAll(() => live.stop());
  const json = { 'content-type': 'application/json' };

  it('answers 1 MB of JSON 413, with a length or chunked', async () => {
    const big = j({ ...ok, metadata: { a: 'x'.repeat(1_000_000) } });
    const withLength = await send(live.endpoint, 'POST', { ...json, 'content-length': String(Buffer.byteLength(big)) }, big);
    expect(withLength.status).toBe(413);
    expect(codeOf(withLength.json)).toBe('REQUEST_TOO_LARGE');
    const chunked = await send(live.endpoint, 'POST', json, ...Array.from({ length: 20 }, () => 'x'.repeat(100_000)));
    expect(chunked.status).toBe(413);
    expect(codeOf(chunked.json)).toBe('REQUEST_TOO_LARGE');
  });

  it('answers a huge declared length at once, without waiting for a body that never comes', async () => {
    const statusLine = await sendRaw(
      live.endpoint,
      'POST /api/upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\nConnection: close\r\n\r\n',
    );
    expect(statusLine).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('answers invalid UTF-8, deep nesting and a broken Content-Length with 400', async () => {
    const invalid = await send(live.endpoint, 'POST', json, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    expect(codeOf(invalid.json)).toBe('INVALID_REQUEST');
    expect((await send(live.endpoint, 'POST', json, nested(30_000))).status).toBe(400);
    const broken = await sendRaw(live.endpoint, 'POST /api/upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 12abc\r\n\r\n{}');
    expect(broken).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('is still up and healthy afterwards, with no server error logged', async () => {
    expect((await live.sign(ok)).status).toBe(200);
    expect((await send(live.endpoint, 'GET')).status).toBe(200);
    expect(live.logs.filter((entry) => entry.level === 'error')).toEqual([]);
    expect((await live.ledgerOf()).pending).toBe(1);
  });
});
