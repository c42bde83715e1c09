/**
 * Security requirement 7 of DESIGN.md on a production S3 implementation (Ceph RGW): every request
 * that was not signed for is refused BY THE STORAGE and leaves no object. The last case is the
 * control: drop the length from the signature and RGW takes a size+1 body, so the refusals above
 * come from what dropgate binds into each URL, not from something RGW refuses anyway.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3Storage } from '../src/storage/s3.js';
import { createPresigner } from '../src/storage/sigv4.js';
import type { SentResponse } from '../src/storage/storage.contract.js';
import { sendWithFetch } from '../src/storage/storage.contract.js';
import { removePrefix, requireRgw, rgwStorage, testPrefix } from './helpers/rgw.js';

const rgw = await requireRgw();

const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('base64');
const codeOf = (response: SentResponse) => /<Code>([^<]+)<\/Code>/.exec(Buffer.from(response.body).toString('utf8'))?.[1];

describe.skipIf(!rgw)('Ceph RGW refuses what the URL does not bind', () => {
  const env = rgw ?? {};
  // Built in beforeAll: without RGW the suite is skipped and its env is empty.
  let storage: S3Storage;
  beforeAll(() => {
    storage = rgwStorage(env);
  });
  const prefix = testPrefix('refusals');
  afterAll(() => storage && removePrefix(storage, prefix));
  let n = 0;
  const newKey = () => `${prefix}${++n}.mp4`;
  const signPut = (key: string, size: number, extra: { md5?: string; now?: Date; expiresIn?: number } = {}) =>
    (extra.now ? rgwStorage(env, { now: () => extra.now as Date }) : storage).presignPut({
      key,
      size,
      contentType: 'video/mp4',
      expiresIn: extra.expiresIn ?? 600,
      ...(extra.md5 && { checksum: { algorithm: 'md5' as const, value: extra.md5 } }),
    });
  const refused = async (response: SentResponse, status: number, code: string, ...keys: string[]) => {
    expect(response.status).toBe(status);
    expect(codeOf(response)).toBe(code);
    for (const key of keys) expect(await storage.head(key)).toBeUndefined();
  };

  it('an expired URL (signed an hour ago for ten minutes); the same age with a longer life works', async () => {
    const key = newKey();
    const hourAgo = new Date(Date.now() - 3600_000);
    await refused(await sendWithFetch(signPut(key, 100, { now: hourAgo }), randomBytes(100)), 403, 'AccessDenied', key);
    expect((await sendWithFetch(signPut(key, 100, { now: hourAgo, expiresIn: 7200 }), randomBytes(100))).status).toBe(200);
  });

  it('a tampered signature', async () => {
    const key = newKey();
    const signed = signPut(key, 100);
    const url = new URL(signed.url);
    const signature = url.searchParams.get('X-Amz-Signature') ?? '';
    url.searchParams.set('X-Amz-Signature', `${signature[0] === 'a' ? 'b' : 'a'}${signature.slice(1)}`);
    await refused(await sendWithFetch({ ...signed, url: url.toString() }, randomBytes(100)), 403, 'SignatureDoesNotMatch', key);
  });

  it('a URL for one key sent to another', async () => {
    const [key, other] = [newKey(), newKey()];
    const signed = signPut(key, 100);
    const url = signed.url.replace(key.slice(prefix.length), other.slice(prefix.length));
    expect(url).not.toBe(signed.url);
    await refused(await sendWithFetch({ ...signed, url }, randomBytes(100)), 403, 'SignatureDoesNotMatch', key, other);
  });

  it.each([
    ['size+1', 101],
    ['size-1', 99],
  ])('a %s body', async (_what, size) => {
    const key = newKey();
    await refused(await sendWithFetch(signPut(key, 100), randomBytes(size)), 403, 'SignatureDoesNotMatch', key);
  });

  it('another content type', async () => {
    const key = newKey();
    const response = await sendWithFetch(signPut(key, 100), randomBytes(100), { 'content-type': 'text/html' });
    await refused(response, 403, 'SignatureDoesNotMatch', key);
  });

  it('a body that is not the signed Content-MD5, and a Content-MD5 other than the signed one', async () => {
    const key = newKey();
    const bytes = randomBytes(100);
    const signed = signPut(key, 100, { md5: md5(bytes) });
    await refused(await sendWithFetch(signed, randomBytes(100)), 400, 'BadDigest', key);
    const other = randomBytes(100);
    await refused(await sendWithFetch(signed, other, { 'content-md5': md5(other) }), 403, 'SignatureDoesNotMatch', key);
    expect((await sendWithFetch(signed, bytes)).status).toBe(200);
  });

  it('a part URL with its part number (or upload id) changed', async () => {
    const key = newKey();
    const { multipartId } = await storage.createMultipart(key, 'video/mp4');
    const { multipartId: otherId } = await storage.createMultipart(key, 'video/mp4');
    const part = storage.presignPart({ key, multipartId, partNumber: 1, size: 1000, expiresIn: 600 });
    expect(part.url).toContain('partNumber=1&');
    const renumbered = await sendWithFetch({ ...part, url: part.url.replace('partNumber=1&', 'partNumber=2&') }, randomBytes(1000));
    await refused(renumbered, 403, 'SignatureDoesNotMatch', key);
    const movedUrl = part.url.replace(encodeURIComponent(multipartId), encodeURIComponent(otherId));
    expect(movedUrl).not.toBe(part.url);
    const moved = await sendWithFetch({ ...part, url: movedUrl }, randomBytes(1000));
    await refused(moved, 403, 'SignatureDoesNotMatch', key);
    expect(await storage.listParts(key, multipartId)).toEqual([]);
    expect(await storage.listParts(key, otherId)).toEqual([]);
    expect((await sendWithFetch(part, randomBytes(1000))).status).toBe(200);
    await storage.abortMultipart(key, multipartId);
    await storage.abortMultipart(key, otherId);
  });

  it('control: with the length left out of the signature, RGW takes a size+1 body', async () => {
    const key = newKey();
    const credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' };
    const headers = { 'content-type': 'video/mp4' };
    const url = createPresigner({ credentials, region: 'us-east-1' }).presign({
      method: 'PUT',
      url: storage.bucketUrl,
      key,
      headers,
      expiresIn: 60,
    });
    expect((await sendWithFetch({ url, method: 'PUT', headers, expiresAt: new Date() }, randomBytes(101))).status).toBe(200);
    expect((await storage.head(key))?.size).toBe(101);
  });
});
