/**
 * Part integrity at the gateway: the MD5 each part URL is signed with is recorded, and complete
 * holds every part the storage lists to it (and to the plan's count and sizes) without reading a
 * byte back. A store that ignores Content-MD5 is simulated by signing its part URLs without it,
 * so the storage accepts a corrupted part and only complete's check stands in the way.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MiB } from '../src/shared/sizes.js';
import { createDiskStorage, type DiskStorage } from '../src/storage/disk.js';
import type { Storage } from '../src/storage/types.js';
import { BASE, createHarness, fileOf, type Harness, ORIGIN } from './helpers/harness.js';
import { gatewayRequest, jsonOf } from './helpers/requests.js';

let h: Harness;
let disk: DiskStorage;
let dir: string | undefined;
afterEach(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

type Part = { partNumber: number; url: string; headers: Record<string, string> };
const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('base64');

/** A harness whose disk store may be told to leave Content-MD5 out of part URLs, or to list more parts. */
async function harness(store: { ignoreMd5?: boolean; extraPart?: boolean } = {}) {
  let clock: () => Date = () => new Date();
  dir = await mkdtemp(join(tmpdir(), 'dropgate-part-checksums-'));
  disk = createDiskStorage({
    directory: dir,
    secret: 'test-secret-0123456789abcdef0123456789',
    baseUrl: `${ORIGIN}${BASE}/_disk`,
    now: () => clock(),
  });
  const storage: Storage & { receiver: typeof disk.receiver } = {
    ...disk,
    presignPart: (target) => {
      if (!store.ignoreMd5) return disk.presignPart(target);
      const { md5: _ignored, ...rest } = target;
      return disk.presignPart(rest);
    },
    listParts: async (key, multipartId) => {
      const parts = await disk.listParts(key, multipartId);
      const last = parts.at(-1);
      return store.extraPart && last ? [...parts, { ...last, partNumber: last.partNumber + 1 }] : parts;
    },
  };
  h = await createHarness({ storage, routes: { default: { maxSize: '100MiB' } } });
  clock = () => h.clock.now;
}

async function startUpload(size: number) {
  const { status, json } = await h.sign({ size, contentType: 'video/mp4', multipart: true });
  expect(status).toBe(200);
  const plan = json.multipart as { partSize: number; partCount: number };
  const bytes = fileOf('video/mp4', size);
  const slice = (n: number) => bytes.subarray((n - 1) * plan.partSize, Math.min(size, n * plan.partSize));
  return { id: String(json.uploadId), key: String(json.key), plan, bytes, slice };
}

async function signParts(id: string, parts: { partNumber: number; md5?: string }[]): Promise<Part[]> {
  const response = await h.call('POST', `${BASE}/${id}/parts`, { json: { parts }, user: 'alice' });
  expect(response.status).toBe(200);
  return (await jsonOf<{ parts: Part[] }>(response)).parts;
}

async function putPart(part: Part, bytes: Uint8Array, headers = part.headers) {
  const url = new URL(part.url);
  const response = await h.gateway.handle(gatewayRequest('PUT', url.pathname, { body: bytes, headers }));
  return { status: response.status, etag: response.headers.etag ?? '', body: await jsonOf(response).catch(() => ({})) };
}

/** A copy of `bytes` with one byte changed, as a flaky link or bad memory would deliver it. */
function corrupt(bytes: Uint8Array, at = 1234): Uint8Array {
  const copy = bytes.slice();
  copy[at] = (copy[at] ?? 0) ^ 0xff;
  return copy;
}

describe('part checksums', () => {
  it('records the MD5 each part was signed with; the latest signature of a part wins', async () => {
    await harness();
    const { id, slice } = await startUpload(20 * MiB);
    await signParts(id, [{ partNumber: 1, md5: md5(slice(1)) }, { partNumber: 2 }]);
    expect(await h.ledger.partChecksums(id)).toEqual([{ partNumber: 1, md5: md5(slice(1)) }]);
    await signParts(id, [
      { partNumber: 2, md5: md5(slice(2)) },
      { partNumber: 1, md5: md5(slice(2)) },
    ]);
    expect(await h.ledger.partChecksums(id)).toEqual([
      { partNumber: 1, md5: md5(slice(2)) },
      { partNumber: 2, md5: md5(slice(2)) },
    ]);
  });

  it('the disk store itself refuses a part whose bytes or Content-MD5 differ from the signed MD5', async () => {
    await harness();
    const { id, slice } = await startUpload(20 * MiB);
    const [part] = await signParts(id, [{ partNumber: 1, md5: md5(slice(1)) }]);
    expect(part?.headers['content-md5']).toBe(md5(slice(1)));
    const flipped = await putPart(part!, corrupt(slice(1)));
    expect(flipped.status).toBe(422);
    expect(flipped.body).toMatchObject({ error: { code: 'UPLOAD_INTEGRITY_FAILED' } });
    const otherHeader = await putPart(part!, slice(1), { 'content-md5': md5(slice(2)) });
    expect(otherHeader.status).toBe(403);
    // Refused attempts do not use the URL up: the right bytes still land through it.
    expect((await putPart(part!, slice(1))).status).toBe(200);
  });

  it('a store that ignores Content-MD5 accepts a corrupted part, and complete refuses it (422, released)', async () => {
    await harness({ ignoreMd5: true });
    const { id, key, plan, slice } = await startUpload(40 * MiB + 7);
    const numbers = Array.from({ length: plan.partCount }, (_, i) => i + 1);
    const parts = await signParts(
      id,
      numbers.map((partNumber) => ({ partNumber, md5: md5(slice(partNumber)) })),
    );
    expect(parts.every((p) => p.headers['content-md5'] === undefined)).toBe(true);
    for (const part of parts) {
      const bytes = part.partNumber === 2 ? corrupt(slice(2)) : slice(part.partNumber);
      expect((await putPart(part, bytes)).status).toBe(200);
    }
    const done = await h.complete(id);
    expect(done.status).toBe(422);
    expect(done.json).toMatchObject({
      error: { code: 'UPLOAD_INTEGRITY_FAILED', message: expect.stringContaining('Part 2 does not match') },
    });
    expect(await disk.head(key)).toBeUndefined();
    expect(await h.ledger.usage('alice', 'default', '2026-11-24')).toEqual({ usedBytes: 0, reservedBytes: 0 });
    expect((await h.ledger.getUpload(id))?.status).toBe('failed');
  });

  it('the same store with the right bytes completes: the check holds parts to their MD5, nothing more', async () => {
    await harness({ ignoreMd5: true });
    const size = 40 * MiB + 7;
    const { id, plan, slice, bytes } = await startUpload(size);
    const numbers = Array.from({ length: plan.partCount }, (_, i) => i + 1);
    const parts = await signParts(
      id,
      numbers.map((partNumber) => ({ partNumber, md5: md5(slice(partNumber)) })),
    );
    const etags = [];
    for (const part of parts) etags.push({ partNumber: part.partNumber, etag: (await putPart(part, slice(part.partNumber))).etag });
    const done = await h.complete(id, 'alice', { parts: etags });
    expect(done.status).toBe(200);
    const stored = await disk.readRange((done.json.file as { key: string }).key, 0, size - 1);
    expect(createHash('sha256').update(stored).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('a part signed with an MD5 and then re-signed without one is still held to the MD5', async () => {
    await harness();
    const { id, plan, slice } = await startUpload(20 * MiB);
    await signParts(id, [{ partNumber: 1, md5: md5(slice(1)) }]);
    const [unsigned] = await signParts(id, [{ partNumber: 1 }]);
    const [second] = await signParts(id, [{ partNumber: 2 }]);
    expect(plan.partCount).toBe(2);
    expect((await putPart(unsigned!, corrupt(slice(1)))).status).toBe(200);
    expect((await putPart(second!, slice(2))).status).toBe(200);
    const done = await h.complete(id);
    expect(done.status).toBe(422);
    expect(String((done.json.error as { message: string }).message)).toContain('Part 1 does not match');
  });

  it('refuses a storage listing with more parts than the plan', async () => {
    await harness({ extraPart: true });
    const { id, plan, slice } = await startUpload(20 * MiB);
    for (const part of await signParts(id, [{ partNumber: 1 }, { partNumber: 2 }])) await putPart(part, slice(part.partNumber));
    const done = await h.complete(id);
    expect(done.status).toBe(422);
    expect(String((done.json.error as { message: string }).message)).toContain(`3 parts; the plan has ${plan.partCount}`);
  });
});
