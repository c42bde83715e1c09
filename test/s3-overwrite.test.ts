/**
 * On Ceph RGW: the ETag recorded at complete catches a later overwrite (DESIGN.md: "in every case
 * the ETag recorded at complete lets a later overwrite be detected"), and a pending upload is
 * completed by its first read, as the seed's client needs.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KiB } from '../src/shared/sizes.js';
import { fileOf } from './helpers/harness.js';
import { requireRgw } from './helpers/rgw.js';
import { BASE, createS3Gateway, putTo, type S3Gateway } from './helpers/s3-gateway.js';

const rgw = await requireRgw();

type Signed = { presignedUrl: string; headers: Record<string, string>; uploadId: string; key: string };

describe.skipIf(!rgw)('overwrites and first reads on the s3 store (Ceph RGW)', () => {
  let g: S3Gateway;
  beforeAll(async () => {
    g = await createS3Gateway(rgw ?? {}, { visibility: 'private', rateLimit: { perUserPerMinute: 1000, perIpPerMinute: 1000 } });
  });
  afterAll(() => g?.close());

  async function signAndPut(bytes: Uint8Array, extra: Record<string, unknown> = {}): Promise<Signed> {
    const signed = await g.call('POST', BASE, { size: bytes.length, contentType: 'image/png', ...extra });
    expect(signed.status, JSON.stringify(signed.json)).toBe(200);
    const s = signed.json as unknown as Signed;
    expect((await putTo(s.presignedUrl, s.headers, bytes)).status).toBe(200);
    return s;
  }

  it('refuses to serve a file overwritten out of band (SDK PutObject, same size and type): 422', async () => {
    const { uploadId, key } = await signAndPut(fileOf('image/png', 4 * KiB));
    expect((await g.call('POST', `${BASE}/${uploadId}/complete`, {})).status).toBe(200);
    expect((await g.call('GET', `${BASE}/files/${uploadId}`)).status).toBe(302);

    const other = fileOf('image/png', 4 * KiB);
    await g.storage.client.send(
      new PutObjectCommand({ Bucket: g.storage.bucket, Key: key, Body: other, ContentType: 'image/png', ContentLength: other.length }),
    );
    const read = await g.call('GET', `${BASE}/files/${uploadId}`);
    expect(read.status).toBe(422);
    expect(read.json.error).toMatchObject({ code: 'UPLOAD_INTEGRITY_FAILED' });
    expect(read.headers.location).toBeUndefined();
  });

  it("catches an overwrite through the still-valid URL of a client that did not sign If-None-Match (the seed's)", async () => {
    const first = fileOf('image/png', 4 * KiB);
    const signed = await signAndPut(first);
    expect((await g.call('POST', `${BASE}/${signed.uploadId}/complete`, {})).status).toBe(200);
    expect((await putTo(signed.presignedUrl, signed.headers, fileOf('image/png', 4 * KiB))).status).toBe(200);
    expect((await g.call('GET', `${BASE}/files/${signed.uploadId}`)).status).toBe(422);
  });

  it("completes a pending upload on its owner's first read, and only then redirects to RGW", async () => {
    const bytes = fileOf('image/png', 4 * KiB);
    const { uploadId } = await signAndPut(bytes);
    expect((await g.call('GET', `${BASE}/files/${uploadId}`, undefined, 'mallory')).status).toBe(404);
    expect((await g.ledger.getUpload(uploadId))?.status).toBe('pending');
    const read = await g.call('GET', `${BASE}/files/${uploadId}`);
    expect(read.status).toBe(302);
    expect((await g.ledger.getUpload(uploadId))?.status).toBe('completed');
    const served = await fetch(read.headers.location ?? '');
    expect(Buffer.from(await served.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
  });
});
