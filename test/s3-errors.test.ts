/**
 * S3 failures come out of the s3 store as DropgateErrors with the right code (STYLE.md 4), on the
 * real RGW; and the faults RGW shows only under load — 503 SlowDown, CompleteMultipartUpload's
 * "200 with an Error body" — injected by a proxy in front of it (security requirement 16).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DropgateError } from '../src/shared/errors.js';
import { MiB } from '../src/shared/sizes.js';
import type { S3Storage } from '../src/storage/s3.js';
import { sendWithFetch } from '../src/storage/storage.contract.js';
import { removePrefix, requireRgw, rgwStorage, testPrefix } from './helpers/rgw.js';
import { ok200WithError, type S3FaultProxy, slowDown, startS3FaultProxy } from './helpers/s3-fault-proxy.js';

const rgw = await requireRgw();

const failure = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DropgateError);
  return error as DropgateError;
};

describe.skipIf(!rgw)('s3 store errors on Ceph RGW', () => {
  const env = rgw ?? {};
  // Built in beforeAll: without RGW the suite is skipped and its env is empty.
  let storage: S3Storage;
  beforeAll(() => {
    storage = rgwStorage(env);
  });
  const prefix = testPrefix('errors');
  afterAll(() => storage && removePrefix(storage, prefix));
  let n = 0;
  const newKey = () => `${prefix}${++n}.bin`;
  const uploadPart = async (s: S3Storage, key: string, multipartId: string, partNumber: number, size: number) => {
    const response = await sendWithFetch(s.presignPart({ key, multipartId, partNumber, size, expiresIn: 60 }), randomBytes(size));
    expect(response.status).toBe(200);
    return { partNumber, etag: response.headers.get('etag') ?? '' };
  };

  it('an unknown, aborted or completed multipart upload → NOT_FOUND, and completing it twice fails', async () => {
    const key = newKey();
    const aborted = await storage.createMultipart(key, 'video/mp4');
    await storage.abortMultipart(key, aborted.multipartId);
    // RGW 16 answers ListParts of an unknown upload with NoSuchKey, where AWS says NoSuchUpload.
    expect(await failure(storage.listParts(key, aborted.multipartId))).toMatchObject({ code: 'NOT_FOUND', details: { s3Status: 404 } });
    const done = await storage.createMultipart(key, 'video/mp4');
    await storage.completeMultipart(key, done.multipartId, [await uploadPart(storage, key, done.multipartId, 1, 10)]);
    expect(await failure(storage.listParts(key, done.multipartId))).toMatchObject({ code: 'NOT_FOUND', details: { s3Status: 404 } });
    // Completing it again fails: AWS says NoSuchUpload; RGW 16 says 500 "This multipart completion
    // is already in progress" for a while, which is why the gateway HEADs before it completes.
    const again = await failure(storage.completeMultipart(key, done.multipartId, [{ partNumber: 1, etag: '"x"' }]));
    expect(['NOT_FOUND', 'STORAGE_UNAVAILABLE']).toContain(again.code);
  });

  it('InvalidPart and EntityTooSmall → UPLOAD_INTEGRITY_FAILED', async () => {
    const key = newKey();
    const { multipartId } = await storage.createMultipart(key, 'video/mp4');
    const parts = [await uploadPart(storage, key, multipartId, 1, 10), await uploadPart(storage, key, multipartId, 2, 10)];
    const wrong = storage.completeMultipart(key, multipartId, [{ partNumber: 1, etag: `"${'f'.repeat(32)}"` }]);
    expect(await failure(wrong)).toMatchObject({ code: 'UPLOAD_INTEGRITY_FAILED', status: 422, details: { s3Code: 'InvalidPart' } });
    const small = storage.completeMultipart(key, multipartId, parts);
    expect(await failure(small)).toMatchObject({ code: 'UPLOAD_INTEGRITY_FAILED', details: { s3Code: 'EntityTooSmall' } });
    await storage.abortMultipart(key, multipartId);
  });

  it('a missing object: head → undefined, readRange → NOT_FOUND, delete and abort → fine', async () => {
    const key = newKey();
    expect(await storage.head(key)).toBeUndefined();
    expect(await failure(storage.readRange(key, 0, 10))).toMatchObject({ code: 'NOT_FOUND', details: { s3Code: 'NoSuchKey' } });
    await storage.delete(key);
    await storage.abortMultipart(key, '2~no-such-upload');
  });

  it('a missing bucket or refused credentials → STORAGE_UNAVAILABLE, head included', async () => {
    const noBucket = rgwStorage(env, { bucket: 'dropgate-no-such-bucket' });
    expect(await failure(noBucket.head('a.bin'))).toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      status: 503,
      details: { s3Code: 'NoSuchBucket' },
    });
    expect(await failure(noBucket.readRange('a.bin', 0, 1))).toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      details: { s3Code: 'NoSuchBucket' },
    });
    const badSecret = rgwStorage(env, { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: 'wrong-secret' } });
    expect(await failure(badSecret.createMultipart(newKey(), 'video/mp4'))).toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      details: { s3Code: 'SignatureDoesNotMatch', s3Status: 403 },
    });
  });

  it('nothing listening → STORAGE_UNAVAILABLE', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const gone = rgwStorage(env, { endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 });
    expect(await failure(gone.head('a.bin'))).toMatchObject({ code: 'STORAGE_UNAVAILABLE', details: { s3Code: 'ECONNREFUSED' } });
  });

  describe('faults injected in front of RGW', () => {
    let proxy: S3FaultProxy;
    let viaProxy: S3Storage;
    beforeAll(async () => {
      proxy = await startS3FaultProxy(env.S3_ENDPOINT ?? '');
      viaProxy = rgwStorage(env, { endpoint: proxy.url });
    });
    afterAll(() => proxy?.close());
    afterEach(() => proxy.clear());
    const seen = (method: string) => proxy.seen.filter((line) => line.startsWith(`${method} `)).length;
    const isComplete = (req: IncomingMessage) => req.method === 'POST' && /[?&]uploadId=/.test(req.url ?? '');

    it('retries 503 SlowDown with backoff, then succeeds', async () => {
      const key = newKey();
      await sendWithFetch(storage.presignPut({ key, size: 10, contentType: 'video/mp4', expiresIn: 60 }), randomBytes(10));
      proxy.inject((req) => req.method === 'HEAD', slowDown, 2);
      const before = seen('HEAD');
      expect(await viaProxy.head(key)).toMatchObject({ size: 10 });
      expect(seen('HEAD') - before).toBe(3);
    });

    it('gives up after maxAttempts with STORAGE_UNAVAILABLE (SlowDown)', async () => {
      const twice = rgwStorage(env, { endpoint: proxy.url, maxAttempts: 2 });
      proxy.inject((req) => req.method === 'GET', slowDown, 5);
      const before = seen('GET');
      expect(await failure(twice.readRange(newKey(), 0, 1))).toMatchObject({
        code: 'STORAGE_UNAVAILABLE',
        details: { s3Code: 'SlowDown', s3Status: 503 },
      });
      expect(seen('GET') - before).toBe(2);
      proxy.inject((req) => req.method === 'HEAD', slowDown, 5);
      // A HEAD's error has no body to name it: the status does.
      expect(await failure(twice.head(newKey()))).toMatchObject({ code: 'STORAGE_UNAVAILABLE', details: { s3Code: 'HTTP503' } });
    });

    it('treats CompleteMultipartUpload "200 with an Error body" as the error: retried when transient', async () => {
      const key = newKey();
      const { multipartId } = await viaProxy.createMultipart(key, 'video/mp4');
      const part = await uploadPart(viaProxy, key, multipartId, 1, MiB);
      proxy.inject(isComplete, ok200WithError('InternalError'), 1);
      const before = seen('POST');
      const { etag } = await viaProxy.completeMultipart(key, multipartId, [part]);
      expect(seen('POST') - before).toBe(2);
      expect(etag).toMatch(/-1"$/);
      expect((await viaProxy.head(key))?.size).toBe(MiB);
    });

    it('…and a failure when it persists, or when it names a bad part', async () => {
      const key = newKey();
      const { multipartId } = await viaProxy.createMultipart(key, 'video/mp4');
      const part = await uploadPart(viaProxy, key, multipartId, 1, 10);
      // A 200 with an Error body counts as a 503 (as the SDK counted it), retried when its code is a transient one.
      proxy.inject(isComplete, ok200WithError('InternalError'), 3);
      expect(await failure(viaProxy.completeMultipart(key, multipartId, [part]))).toMatchObject({
        code: 'STORAGE_UNAVAILABLE',
        details: { s3Code: 'InternalError', s3Status: 503 },
      });
      proxy.inject(isComplete, ok200WithError('InvalidPart'), 3);
      expect(await failure(viaProxy.completeMultipart(key, multipartId, [part]))).toMatchObject({ code: 'UPLOAD_INTEGRITY_FAILED' });
      expect(await viaProxy.head(key)).toBeUndefined();
      await viaProxy.abortMultipart(key, multipartId);
    });

    it('…and when text follows </Error> (the SDK looked at the last 16 bytes only): still the error, retried', async () => {
      const key = newKey();
      const { multipartId } = await viaProxy.createMultipart(key, 'video/mp4');
      const part = await uploadPart(viaProxy, key, multipartId, 1, 10);
      proxy.inject(isComplete, ok200WithError('InternalError', '\n'.repeat(20)), 1);
      const before = seen('POST');
      expect((await viaProxy.completeMultipart(key, multipartId, [part])).etag).toMatch(/-1"$/);
      expect(seen('POST') - before).toBe(2);
      expect((await viaProxy.head(key))?.size).toBe(10);
    });
  });
});
