/**
 * The storage contract: what every store (disk, S3, Ceph RGW, …) must do, checked over real HTTP
 * against the store's own presigned URLs. A store's test file calls `describeStorageContract` with
 * a setup that starts whatever it needs.
 *
 * @example
 * describeStorageContract('disk', async () => {
 *   const server = await startDiskServer();
 *   return { storage: server.storage, send: sendWithFetch, teardown: () => server.close() };
 * });
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeMultipartContract } from './storage-multipart.contract.js';
import type { PresignedRequest, Storage } from './types.js';

export interface SentResponse {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/** Sends a presigned request as a client would: its signed headers, then `extraHeaders` (null drops one). */
export type Send = (request: PresignedRequest, body?: Uint8Array, extraHeaders?: Record<string, string | null>) => Promise<SentResponse>;

export interface StorageUnderTest {
  storage: Storage;
  send: Send;
  teardown(): Promise<void>;
  /** Moves the store's clock forward; without it the suite waits for a short URL to expire. */
  advanceClock?(seconds: number): void;
  /** Rewrites a URL to name `toKey` while keeping the old signature. Default: swaps the key in the path. */
  retargetUrl?(url: string, fromKey: string, toKey: string): string;
  /** Corrupts a URL's signature. Default: changes one character of `X-Amz-Signature`. */
  tamperSignature?(url: string): string;
  /** Prefix for every key, so runs against a shared bucket stay apart. */
  keyPrefix?: string;
}

/** A `Send` over the platform's fetch; Content-Length is left to fetch, which counts the body. */
export const sendWithFetch: Send = async (request, body, extraHeaders = {}) => {
  const headers = new Headers();
  for (const [name, value] of Object.entries({ ...request.headers, ...extraHeaders })) {
    if (value !== null && name.toLowerCase() !== 'content-length') headers.set(name, value);
  }
  // The cast: TS types fetch bodies as ArrayBuffer-backed only; Node accepts any Uint8Array.
  const response = await fetch(request.url, { method: request.method, headers, ...(body && { body: body as Uint8Array<ArrayBuffer> }) });
  return { status: response.status, headers: response.headers, body: new Uint8Array(await response.arrayBuffer()) };
};

function defaultRetarget(url: string, fromKey: string, toKey: string): string {
  const parsed = new URL(url);
  if (!parsed.pathname.endsWith(`/${fromKey}`)) throw new Error('The key is not in the URL path; give the suite a retargetUrl.');
  parsed.pathname = parsed.pathname.slice(0, -fromKey.length) + toKey;
  return parsed.toString();
}

function defaultTamperSignature(url: string): string {
  const parsed = new URL(url);
  const signature = parsed.searchParams.get('X-Amz-Signature');
  if (!signature) throw new Error('No X-Amz-Signature in the URL; give the suite a tamperSignature.');
  parsed.searchParams.set('X-Amz-Signature', (signature[0] === '0' ? '1' : '0') + signature.slice(1));
  return parsed.toString();
}

const md5Base64 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('base64');
const md5Hex = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');
const bare = (etag: string) => etag.replace(/^(?:W\/)?"(.*)"$/, '$1');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function describeStorageContract(name: string, setup: () => Promise<StorageUnderTest>): void {
  describe(`storage contract: ${name}`, () => {
    let t: StorageUnderTest;
    let storage: Storage;
    beforeAll(async () => {
      t = await setup();
      storage = t.storage;
    });
    afterAll(async () => {
      await t?.teardown();
    });

    const newKey = (ext = 'bin') => `${t.keyPrefix ?? ''}contract/${randomUUID()}.${ext}`;
    const signPut = (key: string, size: number, extra: { contentType?: string; md5?: string; expiresIn?: number } = {}) =>
      storage.presignPut({
        key,
        size,
        contentType: extra.contentType ?? 'video/mp4',
        expiresIn: extra.expiresIn ?? 600,
        ...(extra.md5 && { checksum: { algorithm: 'md5' as const, value: extra.md5 } }),
      });
    const expectRefused = (response: SentResponse, what: string) => {
      expect(response.status, `${what} must be refused`).toBeGreaterThanOrEqual(400);
      expect(response.status, `${what} must be refused as a client error`).toBeLessThan(500);
    };
    const expectAbsent = async (key: string) => expect(await storage.head(key)).toBeUndefined();
    const put = async (key: string, bytes: Uint8Array, contentType = 'video/mp4') => {
      const response = await t.send(signPut(key, bytes.length, { contentType }), bytes);
      expect(response.status).toBe(200);
      return response;
    };

    it('canary: a tampered signature and a size+1 body are refused (else the store is not verifying)', async () => {
      const key = newKey();
      const bytes = randomBytes(1000);
      const request = signPut(key, bytes.length);
      const tampered = (t.tamperSignature ?? defaultTamperSignature)(request.url);
      expect(tampered).not.toBe(request.url);
      const forged = await t.send({ ...request, url: tampered }, bytes);
      const oversized = await t.send(signPut(key, bytes.length), randomBytes(bytes.length + 1));
      const broken = [forged.status < 400 && 'a tampered signature', oversized.status < 400 && 'a size+1 body'].filter(Boolean);
      if (broken.length > 0) {
        throw new Error(`CANARY: the storage under test is not verifying: it accepted ${broken.join(' and ')}.`);
      }
      await expectAbsent(key);
    });

    describe('single PUT', () => {
      it('stores exactly the signed bytes and reports size, type and ETag', async () => {
        const key = newKey('mp4');
        const bytes = randomBytes(1000);
        const response = await put(key, bytes);
        const etag = response.headers.get('etag');
        expect(etag && bare(etag)).toBe(md5Hex(bytes));
        const info = await storage.head(key);
        expect(info).toMatchObject({ size: 1000, contentType: 'video/mp4' });
        expect(bare(info?.etag ?? '')).toBe(md5Hex(bytes));
        expect(info?.lastModified).toBeInstanceOf(Date);
        expect(Buffer.from(await storage.readRange(key, 0, 999)).equals(bytes)).toBe(true);
      });

      it.each([
        ['one byte more', 1],
        ['one byte less', -1],
      ])('refuses a body %s than signed and keeps nothing', async (_what, delta) => {
        const key = newKey();
        expectRefused(await t.send(signPut(key, 1000), randomBytes(1000 + delta)), `a body of size${delta > 0 ? '+' : ''}${delta}`);
        await expectAbsent(key);
      });

      it('refuses another content type', async () => {
        const key = newKey();
        const response = await t.send(signPut(key, 100, { contentType: 'video/mp4' }), randomBytes(100), { 'content-type': 'text/html' });
        expectRefused(response, 'another content type');
        await expectAbsent(key);
      });

      it('refuses a URL for one key rewritten to write another', async () => {
        const keyA = newKey();
        const keyB = newKey();
        const request = signPut(keyA, 100);
        const url = (t.retargetUrl ?? defaultRetarget)(request.url, keyA, keyB);
        expect(url).not.toBe(request.url);
        expectRefused(await t.send({ ...request, url }, randomBytes(100)), 'a URL retargeted to another key');
        await expectAbsent(keyA);
        await expectAbsent(keyB);
      });

      it('refuses a tampered signature', async () => {
        const key = newKey();
        const request = signPut(key, 100);
        const url = (t.tamperSignature ?? defaultTamperSignature)(request.url);
        expectRefused(await t.send({ ...request, url }, randomBytes(100)), 'a tampered signature');
        await expectAbsent(key);
      });

      it('refuses an expired URL', async () => {
        const key = newKey();
        const request = signPut(key, 100, { expiresIn: t.advanceClock ? 60 : 1 });
        if (t.advanceClock) t.advanceClock(61);
        else await sleep(2100);
        expectRefused(await t.send(request, randomBytes(100)), 'an expired URL');
        await expectAbsent(key);
      });

      it('holds the body to a signed MD5', async () => {
        const key = newKey();
        const bytes = randomBytes(500);
        const request = signPut(key, bytes.length, { md5: md5Base64(bytes) });
        expectRefused(await t.send(request, randomBytes(bytes.length)), 'a body that does not match the signed MD5');
        await expectAbsent(key);
        expect((await t.send(request, bytes)).status).toBe(200);
        expect((await storage.head(key))?.size).toBe(bytes.length);
      });

      it('refuses to replace an object when signed with ifNoneMatch, where the store can', async () => {
        if (!storage.capabilities.conditionalWrite) return;
        const key = newKey();
        const first = randomBytes(100);
        await put(key, first);
        const request = storage.presignPut({ key, size: 100, contentType: 'video/mp4', expiresIn: 600, ifNoneMatch: true });
        expectRefused(await t.send(request, randomBytes(100)), 'an overwrite under If-None-Match');
        expect(Buffer.from(await storage.readRange(key, 0, 99)).equals(first)).toBe(true);
      });
    });

    describe('reads', () => {
      it('reads byte ranges, fewer bytes past the end', async () => {
        const key = newKey();
        const bytes = randomBytes(1000);
        await put(key, bytes);
        expect(Buffer.from(await storage.readRange(key, 10, 19)).equals(bytes.subarray(10, 20))).toBe(true);
        expect(Buffer.from(await storage.readRange(key, 990, 5000)).equals(bytes.subarray(990))).toBe(true);
      });

      it('serves a presigned GET, with ranges', async () => {
        const key = newKey('mp4');
        const bytes = randomBytes(1000);
        await put(key, bytes);
        const get = storage.presignGet(key, { expiresIn: 600, fileName: 'holiday clip.mp4' });
        expect(get.method).toBe('GET');
        const full = await t.send(get);
        expect(full.status).toBe(200);
        expect(full.headers.get('content-type')).toBe('video/mp4');
        expect(full.headers.get('content-disposition')).toContain('holiday');
        expect(Buffer.from(full.body).equals(bytes)).toBe(true);

        const cases: [string, number, number][] = [
          ['bytes=5-9', 5, 9],
          ['bytes=990-', 990, 999],
          ['bytes=-10', 990, 999],
          ['bytes=995-5000', 995, 999],
        ];
        for (const [range, start, end] of cases) {
          const partial = await t.send(get, undefined, { range });
          expect(partial.status, range).toBe(206);
          expect(partial.headers.get('content-range'), range).toBe(`bytes ${start}-${end}/1000`);
          expect(Buffer.from(partial.body).equals(bytes.subarray(start, end + 1)), range).toBe(true);
        }
        expect((await t.send(get, undefined, { range: 'bytes=5000-' })).status).toBe(416);
      });

      it('gives the same public URL for the same key, when it has one', () => {
        const key = newKey();
        expect(storage.publicUrl(key)).toBe(storage.publicUrl(key));
      });

      it('deletes idempotently', async () => {
        const key = newKey();
        await put(key, randomBytes(10));
        await storage.delete(key);
        await expectAbsent(key);
        await storage.delete(key);
        await storage.delete(newKey());
      });
    });

    describeMultipartContract(() => ({ t, storage, newKey, expectRefused, expectAbsent }));
  });
}
