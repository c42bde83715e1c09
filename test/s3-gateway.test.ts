/**
 * The whole flow on the s3 store: createDropgate over Ceph RGW, the bytes going from "the browser"
 * (fetch) straight to RGW, the gateway verifying what landed there.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KiB, MiB } from '../src/shared/sizes.js';
import { fileOf } from './helpers/harness.js';
import { requireRgw } from './helpers/rgw.js';
import { BASE, createS3Gateway, putTo, type S3Gateway } from './helpers/s3-gateway.js';

const rgw = await requireRgw();

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe.skipIf(!rgw)('gateway on the s3 store (Ceph RGW)', () => {
  let g: S3Gateway;
  beforeAll(async () => {
    g = await createS3Gateway(rgw ?? {}, { rateLimit: { perUserPerMinute: 1000, perIpPerMinute: 1000 } });
  });
  afterAll(() => g?.close());
  const usage = async (user = 'alice') => g.ledger.usage(user, 'default', new Date().toISOString().slice(0, 10));

  it('sign → PUT to RGW → complete → a file whose read URL redirects to a signed RGW read', async () => {
    const bytes = fileOf('video/mp4', 300 * KiB);
    const signed = await g.call('POST', BASE, { size: bytes.length, contentType: 'video/mp4', name: 'Holiday.mp4' });
    expect(signed.status, JSON.stringify(signed.json)).toBe(200);
    expect(signed.headers['cache-control']).toContain('no-store');
    const { presignedUrl, headers, uploadId, key } = signed.json as {
      presignedUrl: string;
      headers: Record<string, string>;
      uploadId: string;
      key: string;
    };
    expect(presignedUrl.startsWith(`${g.storage.bucketUrl}/${g.prefix}/`)).toBe(true);
    expect(headers).toEqual({ 'content-type': 'video/mp4' });

    const put = await putTo(presignedUrl, headers, bytes);
    expect(put.status).toBe(200);
    const done = await g.call('POST', `${BASE}/${uploadId}/complete`, {});
    expect(done.status).toBe(200);
    const file = done.json.file as { id: string; key: string; size: number; url: string };
    expect(file).toMatchObject({
      key,
      size: bytes.length,
      contentType: 'video/mp4',
      url: `http://localhost:3000${BASE}/files/${uploadId}`,
    });
    expect(await usage()).toMatchObject({ usedBytes: bytes.length, reservedBytes: 0 });

    const read = await g.call('GET', `${BASE}/files/${file.id}`);
    expect(read.status).toBe(302);
    const download = await fetch(read.headers.location ?? '');
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toContain('Holiday.mp4');
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(sha256(bytes));
    expect((await g.call('GET', `${BASE}/files/${file.id}`, undefined, 'mallory')).status).toBe(404);
  });

  it('signs If-None-Match for a client that asks, so its URL can never overwrite the object', async () => {
    const bytes = fileOf('image/png', 2 * KiB);
    const signed = await g.call('POST', BASE, { size: bytes.length, contentType: 'image/png', ifNoneMatch: true });
    const { presignedUrl, headers, key } = signed.json as { presignedUrl: string; headers: Record<string, string>; key: string };
    expect(headers['if-none-match']).toBe('*');
    expect((await putTo(presignedUrl, headers, bytes)).status).toBe(200);
    const etag = (await g.storage.head(key))?.etag;
    expect((await putTo(presignedUrl, headers, fileOf('image/png', 2 * KiB))).status).toBe(412);
    expect((await g.storage.head(key))?.etag).toBe(etag);
    // Dropping the header breaks the signature: the condition cannot be stripped.
    expect((await putTo(presignedUrl, { 'content-type': 'image/png' }, bytes)).status).toBe(403);
  });

  it('refuses at complete what is not the declared type (magic bytes) and deletes it from RGW', async () => {
    const html = new TextEncoder().encode(`<html><script>alert(1)</script>${' '.repeat(1000)}</html>`);
    const signed = await g.call('POST', BASE, { size: html.length, contentType: 'image/png' });
    const { presignedUrl, headers, uploadId, key } = signed.json as {
      presignedUrl: string;
      headers: Record<string, string>;
      uploadId: string;
      key: string;
    };
    expect((await putTo(presignedUrl, headers, html)).status).toBe(200);
    expect((await g.storage.head(key))?.size).toBe(html.length);
    const done = await g.call('POST', `${BASE}/${uploadId}/complete`, {});
    expect(done.status).toBe(422);
    expect(done.json.error).toMatchObject({ code: 'UPLOAD_INTEGRITY_FAILED' });
    expect(await g.storage.head(key)).toBeUndefined();
    expect((await g.call('POST', `${BASE}/${uploadId}/complete`, {})).status).toBe(422);
  });

  it('a body RGW refused never becomes a file: complete answers UPLOAD_NOT_RECEIVED and keeps the reservation', async () => {
    const signed = await g.call('POST', BASE, { size: 1000, contentType: 'image/png' });
    const { presignedUrl, headers, uploadId, key } = signed.json as {
      presignedUrl: string;
      headers: Record<string, string>;
      uploadId: string;
      key: string;
    };
    expect((await putTo(presignedUrl, headers, fileOf('image/png', 1001))).status).toBe(403);
    const done = await g.call('POST', `${BASE}/${uploadId}/complete`, {});
    expect(done.status).toBe(409);
    expect(await g.storage.head(key)).toBeUndefined();
    expect((await g.call('DELETE', `${BASE}/${uploadId}`)).status).toBe(200);
  });

  it('multipart: plan, lazily signed part URLs, ListParts checked, assembled in RGW; abort releases it all', async () => {
    const bytes = fileOf('video/mp4', 16 * MiB + 5 * KiB);
    const signed = await g.call('POST', BASE, { size: bytes.length, contentType: 'video/mp4', multipart: true });
    expect(signed.status).toBe(200);
    const { uploadId, key, multipart } = signed.json as {
      uploadId: string;
      key: string;
      multipart: { partSize: number; partCount: number };
    };
    expect(multipart).toEqual({ partSize: 16 * MiB, partCount: 2 });
    const plan = await g.call('POST', `${BASE}/${uploadId}/parts`, { parts: [{ partNumber: 1 }, { partNumber: 2 }] });
    const parts = plan.json.parts as { partNumber: number; url: string; headers: Record<string, string> }[];
    const etags = [];
    for (const part of parts) {
      const body = bytes.subarray((part.partNumber - 1) * multipart.partSize, part.partNumber * multipart.partSize);
      const response = await putTo(part.url, part.headers, body);
      expect(response.status).toBe(200);
      etags.push({ partNumber: part.partNumber, etag: response.headers.get('etag') ?? '' });
    }
    const status = await g.call('GET', `${BASE}/${uploadId}`);
    expect((status.json.parts as unknown[]).length).toBe(2);
    const done = await g.call('POST', `${BASE}/${uploadId}/complete`, { parts: etags });
    expect(done.status).toBe(200);
    expect((await g.storage.head(key))?.size).toBe(bytes.length);
    expect(sha256(await g.storage.readRange(key, 0, bytes.length))).toBe(sha256(bytes));

    const other = await g.call('POST', BASE, { size: 6 * MiB, contentType: 'video/mp4', multipart: true });
    const otherId = other.json.uploadId as string;
    const [part] = (await g.call('POST', `${BASE}/${otherId}/parts`, { parts: [{ partNumber: 1 }] })).json.parts as {
      url: string;
      headers: Record<string, string>;
    }[];
    expect((await putTo(part?.url ?? '', part?.headers ?? {}, randomBytes(6 * MiB))).status).toBe(200);
    expect((await g.call('DELETE', `${BASE}/${otherId}`)).status).toBe(200);
    const record = await g.ledger.getUpload(otherId);
    await expect(g.storage.listParts(record?.key ?? '', record?.multipartId ?? '')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('deleting a file removes the object from RGW', async () => {
    const bytes = fileOf('image/png', 2 * KiB);
    const signed = await g.call('POST', BASE, { size: bytes.length, contentType: 'image/png' });
    const { presignedUrl, headers, uploadId, key } = signed.json as {
      presignedUrl: string;
      headers: Record<string, string>;
      uploadId: string;
      key: string;
    };
    await putTo(presignedUrl, headers, bytes);
    expect((await g.call('POST', `${BASE}/${uploadId}/complete`, {})).status).toBe(200);
    expect((await g.call('DELETE', `${BASE}/files/${uploadId}`)).status).toBe(200);
    expect(await g.storage.head(key)).toBeUndefined();
  });
});
