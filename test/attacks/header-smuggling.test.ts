/**
 * Issue 6, attack 4: unsigned headers on a presigned PUT have no effect. On the disk store through
 * a real socket with fetch and through `gateway.handle` (where the receiver is mounted in
 * production); on the S3 stack with fetch against Ceph RGW's own presigned URLs. Single PUTs and
 * the part PUTs of a multipart upload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DiskServer, startDiskServer } from '../../src/storage/disk-fixtures.contract.js';
import type { S3Storage } from '../../src/storage/s3.js';
import { sendWithFetch } from '../../src/storage/storage.contract.js';
import { fileOf } from '../helpers/harness.js';
import { jsonOf } from '../helpers/requests.js';
import { checkSmuggledHeader, SMUGGLED_HEADERS } from './header-smuggling.cases.js';
import { codeOf, expectLedger, expectNothingStored, newUser, STACKS, useStack } from './stack.js';

const MiB = 1024 * 1024;
type PartUrl = { partNumber: number; url: string; headers: Record<string, string> };

describe('header smuggling on the disk store over a socket', () => {
  let server: DiskServer;
  beforeAll(async () => {
    server = await startDiskServer();
  });
  afterAll(() => server.close());

  it.each(SMUGGLED_HEADERS)('$name has no effect', async (smuggle) => {
    // The disk store ignores every header it did not sign: none of them is even refused.
    expect(await checkSmuggledHeader({ storage: server.storage, send: sendWithFetch }, smuggle)).toBe('ignored');
  });
});

describe.each(STACKS)('header smuggling on the presigned URLs of $name', (factory) => {
  const stack = useStack(factory);

  // The disk store ignores every header it did not sign. S3 (RGW) stores several of them with the
  // object (Content-Disposition, Cache-Control, x-amz-meta-*, a website redirect): for S3 the
  // defence is complete's, in the next test.
  it.each(factory.store === 'disk' ? SMUGGLED_HEADERS : [])('$name has no effect on the store', async (smuggle) => {
    const s = stack();
    expect(await checkSmuggledHeader({ storage: s.storage, send: s.send }, smuggle)).toBe('ignored');
    expect(await s.scratch()).toEqual({ temp: [], multipart: [] });
  });

  it.each(SMUGGLED_HEADERS)('$name never reaches a completed file', async (smuggle) => {
    const s = stack();
    const user = newUser();
    const bytes = fileOf('video/mp4', 1024);
    const { json } = await s.sign({ size: bytes.length, contentType: 'video/mp4' }, user);
    const key = String(json.key);
    const victim = { bucket: s.store === 's3' ? (s.storage as S3Storage).bucket : 'dropgate', key: 'default/victim.mp4' };
    const put = await s.put(json, bytes, { ...(json.headers as Record<string, string>), ...smuggle.headers(victim) });
    const done = await s.complete(String(json.uploadId), user);
    if (put.status !== 200) {
      // Refused by the store: nothing stored, the reservation kept for an honest retry.
      expect(put.status).toBeGreaterThanOrEqual(400);
      expect(put.status).toBeLessThan(500);
      expect(codeOf(done.json)).toBe('UPLOAD_NOT_RECEIVED');
      await expectNothingStored(s, key);
    } else if (done.status !== 200) {
      // Stored with the header: complete sees it on the object and refuses the file.
      expect(done.status).toBe(422);
      expect(codeOf(done.json)).toBe('UPLOAD_INTEGRITY_FAILED');
      await expectNothingStored(s, key);
      await expectLedger(s, user, { usedBytes: 0, reservedBytes: 0, pending: 0 });
    } else {
      // Completed: the file must be exactly what was signed for, served as signed, and private.
      expect(await s.storage.head(key)).toMatchObject({ size: bytes.length, contentType: 'video/mp4' });
      expect((await s.storage.head(key))?.extraHeaders ?? {}).toEqual({});
      const redirect = await s.call('GET', `/api/upload/files/${json.uploadId}`, { user });
      expect(redirect.status).toBe(302);
      const read = await s.send({ url: String(redirect.headers.location), method: 'GET', headers: {}, expiresAt: new Date() });
      expect(read.status).toBe(200);
      expect(Buffer.from(read.body).equals(Buffer.from(bytes))).toBe(true);
      expect(read.headers.get('content-type')).toBe('video/mp4');
      for (const name of ['content-encoding', 'cache-control', 'x-amz-website-redirect-location'])
        expect(read.headers.get(name), name).toBeNull();
      if (s.store === 's3') {
        const anonymous = await fetch(`${(s.storage as S3Storage).bucketUrl}/${key}`);
        expect(anonymous.status, 'an unsigned read of the object').toBe(403);
      }
    }
  });
});

describe.each(STACKS)('header smuggling on the part URLs of $name', (factory) => {
  const stack = useStack(factory);

  // Complete judges an object assembled from parts by its parts and its bytes, without asking the
  // store for its headers and grants again: this shows that a part PUT cannot set either.
  it.each(SMUGGLED_HEADERS)('$name on every part never reaches the assembled file', async (smuggle) => {
    const s = stack();
    const user = newUser();
    const size = 16 * MiB + 1024;
    const { json } = await s.sign({ size, contentType: 'video/mp4', multipart: true }, user);
    const id = String(json.uploadId);
    const key = String(json.key);
    const { partSize, partCount } = json.multipart as { partSize: number; partCount: number };
    expect(partCount).toBe(2);
    const numbers = Array.from({ length: partCount }, (_, i) => i + 1);
    const signed = await s.call('POST', `/api/upload/${id}/parts`, {
      user,
      json: { parts: numbers.map((partNumber) => ({ partNumber })) },
    });
    const { parts } = await jsonOf<{ parts: PartUrl[] }>(signed);
    const bytes = fileOf('video/mp4', size);
    const victim = { bucket: s.store === 's3' ? (s.storage as S3Storage).bucket : 'dropgate', key: 'default/victim.mp4' };
    const statuses: number[] = [];
    for (const part of parts) {
      const slice = bytes.subarray((part.partNumber - 1) * partSize, Math.min(size, part.partNumber * partSize));
      const put = await s.send({ ...part, method: 'PUT', expiresAt: new Date() }, slice, smuggle.headers(victim));
      statuses.push(put.status);
    }
    const done = await s.complete(id, user);
    if (statuses.some((status) => status !== 200)) {
      // A refused part: nothing assembled, and abort leaves nothing behind.
      for (const status of statuses) expect(status === 200 || (status >= 400 && status < 500)).toBe(true);
      expect(codeOf(done.json)).toBe('UPLOAD_NOT_RECEIVED');
      expect((await s.call('DELETE', `/api/upload/${id}`, { user })).status).toBe(200);
      await expectNothingStored(s, key);
      return;
    }
    expect(done.status).toBe(200);
    // Asked of the store itself, not of complete: the object carries nothing the gateway did not give it.
    const object = await s.storage.head(key);
    expect(object).toMatchObject({ size, contentType: 'video/mp4' });
    expect(object?.extraHeaders ?? {}).toEqual({});
    expect((await s.storage.foreignGrants?.(key)) ?? []).toEqual([]);
    const read = await s.send(s.storage.presignGet(key, { expiresIn: 60 }));
    expect(read.status).toBe(200);
    expect(Buffer.from(read.body).equals(Buffer.from(bytes))).toBe(true);
    for (const name of ['content-encoding', 'content-disposition', 'cache-control', 'x-amz-website-redirect-location'])
      expect(read.headers.get(name), name).toBeNull();
    if (s.store === 's3') {
      const anonymous = await fetch(`${(s.storage as S3Storage).bucketUrl}/${key}`);
      expect(anonymous.status, 'an unsigned read of the object').toBe(403);
    }
  });
});
