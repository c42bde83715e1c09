/**
 * Issue 6, attack 4, store-independent: headers the URL did not sign, added to a presigned PUT.
 * A store passes a case when the smuggled header has no effect at all: either the PUT is refused
 * and nothing is stored, or the object is stored and reads back exactly like a control object
 * uploaded without it (same headers, same bytes, no redirect, no copied bytes).
 *
 * Any store runs the table through `checkSmuggledHeader({ storage, send })`. The disk store passes
 * it. Ceph RGW does not: it stores several unsigned headers (an ACL among them), so on S3 the
 * table goes through sign → PUT → complete instead, where complete refuses what landed
 * (header-smuggling.test.ts).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { Send, SentResponse } from '../../src/storage/storage.contract.js';
import type { Storage } from '../../src/storage/types.js';

export interface SmuggleTarget {
  storage: Storage;
  send: Send;
  /** Prefix for keys, so runs on a shared bucket stay apart. */
  keyPrefix?: string;
  /** Bucket name, for `x-amz-copy-source`; any name works on the disk store. */
  bucket?: string;
}

export interface SmuggleCase {
  name: string;
  /** The headers to add; `victim` is a key holding someone else's object. */
  headers(victim: { bucket: string; key: string }): Record<string, string>;
}

export const SMUGGLED_HEADERS: SmuggleCase[] = [
  { name: 'x-amz-acl: public-read', headers: () => ({ 'x-amz-acl': 'public-read' }) },
  {
    name: 'x-amz-grant-read to everyone',
    headers: () => ({ 'x-amz-grant-read': 'uri="http://acs.amazonaws.com/groups/global/AllUsers"' }),
  },
  { name: 'x-amz-meta-*', headers: () => ({ 'x-amz-meta-owner': 'mallory', 'x-amz-meta-html': '<script>alert(1)</script>' }) },
  {
    name: 'x-amz-website-redirect-location',
    headers: () => ({ 'x-amz-website-redirect-location': 'https://evil.example/phish' }),
  },
  { name: 'x-amz-copy-source of another object', headers: (v) => ({ 'x-amz-copy-source': `/${v.bucket}/${v.key}` }) },
  { name: 'x-amz-tagging', headers: () => ({ 'x-amz-tagging': 'owner=mallory' }) },
  { name: 'x-amz-storage-class', headers: () => ({ 'x-amz-storage-class': 'GLACIER' }) },
  { name: 'x-amz-server-side-encryption', headers: () => ({ 'x-amz-server-side-encryption': 'aws:kms' }) },
  { name: 'content-disposition', headers: () => ({ 'content-disposition': 'attachment; filename="invoice.html"' }) },
  { name: 'content-encoding', headers: () => ({ 'content-encoding': 'gzip' }) },
  { name: 'cache-control', headers: () => ({ 'cache-control': 'public, max-age=31536000, immutable' }) },
];

// Headers that differ between any two answers, smuggling or not.
const VOLATILE = new Set(['date', 'last-modified', 'x-amz-request-id', 'x-amz-id-2', 'connection', 'keep-alive']);

function stableHeaders(response: SentResponse): Record<string, string> {
  const out: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (!VOLATILE.has(name)) out[name] = value;
  });
  return out;
}

const md5Hex = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

/** Runs one case; fails with a message naming the header when it had an effect. */
export async function checkSmuggledHeader(target: SmuggleTarget, smuggle: SmuggleCase): Promise<'refused' | 'ignored'> {
  const { storage, send } = target;
  const prefix = target.keyPrefix ?? 'smuggling/';
  const newKey = () => `${prefix}${randomUUID()}.mp4`;
  const put = (key: string, bytes: Uint8Array, extra: Record<string, string> = {}) =>
    send(storage.presignPut({ key, size: bytes.length, contentType: 'video/mp4', expiresIn: 300 }), bytes, extra);
  const read = (key: string) => send(storage.presignGet(key, { expiresIn: 300 }));

  const victim = { bucket: target.bucket ?? 'dropgate', key: newKey() };
  const [control, attacked] = [newKey(), newKey()];
  try {
    const victimBytes = randomBytes(2048);
    expect((await put(victim.key, victimBytes)).status).toBe(200);
    const body = randomBytes(1024);
    expect((await put(control, body)).status).toBe(200);
    const answer = await put(attacked, body, smuggle.headers(victim));

    if (answer.status !== 200) {
      expect(answer.status, `${smuggle.name}: refused with a client error`).toBeGreaterThanOrEqual(400);
      expect(answer.status, `${smuggle.name}: refused with a client error`).toBeLessThan(500);
      expect(await storage.head(attacked), `${smuggle.name}: refused, yet an object was stored`).toBeUndefined();
      return 'refused';
    }
    // Stored: it must be the bytes that were sent (not a copy of the victim), stored as signed.
    const info = await storage.head(attacked);
    expect(info, smuggle.name).toMatchObject({ size: body.length, contentType: 'video/mp4' });
    expect(info?.etag.replaceAll('"', ''), `${smuggle.name}: ETag`).toBe(md5Hex(body));
    const [mine, theirs] = await Promise.all([read(attacked), read(control)]);
    expect(mine.status, `${smuggle.name}: read answered a redirect or an error`).toBe(200);
    expect(Buffer.from(mine.body).equals(body), `${smuggle.name}: stored bytes`).toBe(true);
    expect(stableHeaders(mine), `${smuggle.name}: served differently from a control object`).toEqual(stableHeaders(theirs));
    expect(Buffer.from((await read(victim.key)).body).equals(victimBytes), `${smuggle.name}: the other object changed`).toBe(true);
    return 'ignored';
  } finally {
    await Promise.all([storage.delete(victim.key), storage.delete(control), storage.delete(attacked)]);
  }
}
