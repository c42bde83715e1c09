/**
 * The s3 store against a real S3 implementation: the storage contract (the same suite the disk
 * store passes, canary included) on the Ceph RGW of scripts/rgw.sh, plus what RGW itself shows.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removePrefix, requireRgw, rgwStorage, testPrefix } from '../../test/helpers/rgw.js';
import type { S3Storage } from './s3.js';
import { createPresigner } from './sigv4.js';
import { describeStorageContract, sendWithFetch } from './storage.contract.js';

const rgw = await requireRgw();

describe.skipIf(!rgw)('s3 store on Ceph RGW', () => {
  const env = rgw ?? {};

  describeStorageContract('s3 (Ceph RGW)', async () => {
    const storage = rgwStorage(env);
    const keyPrefix = testPrefix('contract');
    // No advanceClock: RGW judges expiry by its own clock, so the suite waits a 1 s URL out.
    return { storage, send: sendWithFetch, keyPrefix, teardown: () => removePrefix(storage, keyPrefix) };
  });

  describe('what RGW shows', () => {
    // Built in beforeAll: without RGW the suite is skipped and its env is empty.
    let storage: S3Storage;
    beforeAll(() => {
      storage = rgwStorage(env);
    });
    const prefix = testPrefix('rgw');
    afterAll(() => storage && removePrefix(storage, prefix));

    it('honours a signed If-None-Match: * (412), so conditionalWrite is on by default', async () => {
      expect(storage.capabilities.conditionalWrite).toBe(true);
      const key = `${prefix}inm.bin`;
      const first = storage.presignPut({ key, size: 10, contentType: 'video/mp4', expiresIn: 60, ifNoneMatch: true });
      expect(first.headers['if-none-match']).toBe('*');
      expect((await sendWithFetch(first, randomBytes(10))).status).toBe(200);
      const again = storage.presignPut({ key, size: 10, contentType: 'video/mp4', expiresIn: 60, ifNoneMatch: true });
      expect((await sendWithFetch(again, randomBytes(10))).status).toBe(412);
    });

    it('completes a multipart upload with the ETag HEAD shows, though RGW answers an empty one', async () => {
      const key = `${prefix}mp.bin`;
      const { multipartId } = await storage.createMultipart(key, 'video/mp4');
      const part = await sendWithFetch(
        storage.presignPart({ key, multipartId, partNumber: 1, size: 100, expiresIn: 60 }),
        randomBytes(100),
      );
      expect(part.status).toBe(200);
      const { etag } = await storage.completeMultipart(key, multipartId, [{ partNumber: 1, etag: part.headers.get('etag') ?? '' }]);
      expect(etag).toMatch(/^"[0-9a-f]{32}-1"$/);
      expect((await storage.head(key))?.etag).toBe(etag);
    });

    it('signs no ACL by default (objects stay private); a configured one is applied', async () => {
      const anonymous = (key: string) => fetch(`${storage.bucketUrl}/${key}`).then((r) => r.status);
      const privateKey = `${prefix}private.bin`;
      await sendWithFetch(storage.presignPut({ key: privateKey, size: 3, contentType: 'video/mp4', expiresIn: 60 }), randomBytes(3));
      expect(await anonymous(privateKey)).toBe(403);
      const legacy = rgwStorage(env, { acl: 'public-read' });
      const publicKey = `${prefix}public.bin`;
      const put = legacy.presignPut({ key: publicKey, size: 3, contentType: 'video/mp4', expiresIn: 60 });
      expect((await sendWithFetch(put, randomBytes(3))).status).toBe(200);
      expect(await anonymous(publicKey)).toBe(200);
    });

    it('reports an object stored without a type as binary/octet-stream (why presignPut always signs one)', async () => {
      const key = `${prefix}untyped.bin`;
      // Signed here without a type; the SDK's PutObject would add application/octet-stream itself.
      const credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' };
      const url = createPresigner({ credentials, region: 'us-east-1' }).presign({
        method: 'PUT',
        url: storage.bucketUrl,
        key,
        expiresIn: 60,
      });
      expect((await fetch(url, { method: 'PUT', body: randomBytes(5) })).status).toBe(200);
      expect(await storage.head(key)).toMatchObject({ size: 5, contentType: 'binary/octet-stream' });
    });
  });
});
