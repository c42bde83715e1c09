/**
 * The multipart protocol on the disk store: plan, lazily signed part URLs of exact length, status
 * for resume, and completion that checks the parts against the plan.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MiB } from '../src/shared/sizes.js';
import { BASE, createHarness, fileOf, type Harness } from './helpers/harness.js';
import { gatewayRequest, jsonOf } from './helpers/requests.js';

let h: Harness;
beforeEach(async () => {
  h = await createHarness({ routes: { default: { maxSize: '100MiB' } } });
});
afterEach(async () => {
  await h.close();
});

type Part = { partNumber: number; url: string; headers: Record<string, string> };

async function signParts(id: string, numbers: number[], user = 'alice'): Promise<Part[]> {
  const response = await h.call('POST', `${BASE}/${id}/parts`, { json: { parts: numbers.map((partNumber) => ({ partNumber })) }, user });
  expect(response.status).toBe(200);
  return (await jsonOf<{ parts: Part[] }>(response)).parts;
}

async function putPart(part: Part, bytes: Uint8Array) {
  const url = new URL(part.url);
  const response = await h.gateway.handle(gatewayRequest('PUT', url.pathname, { body: bytes, headers: part.headers }));
  return { status: response.status, etag: response.headers.etag ?? '' };
}

describe('multipart on the disk store', () => {
  it('uploads in planned parts, resumes from status, and completes to the exact bytes', async () => {
    const size = 40 * MiB + 123;
    const bytes = fileOf('video/mp4', size);
    const { status, json } = await h.sign({ size, contentType: 'video/mp4', multipart: true });
    expect(status).toBe(200);
    expect(json.presignedUrl).toBeUndefined();
    const plan = json.multipart as { partSize: number; partCount: number };
    expect(plan.partCount).toBe(Math.ceil(size / plan.partSize));
    const id = String(json.uploadId);
    const slice = (n: number) => bytes.subarray((n - 1) * plan.partSize, Math.min(size, n * plan.partSize));

    const first = await signParts(id, [1, 2]);
    for (const part of first) expect((await putPart(part, slice(part.partNumber))).status).toBe(200);

    // A new session asks which parts the storage holds and sends only the rest.
    const state = await jsonOf<{ parts: { partNumber: number }[] }>(await h.call('GET', `${BASE}/${id}`, { user: 'alice' }));
    expect(state.parts.map((p) => p.partNumber)).toEqual([1, 2]);
    const rest = Array.from({ length: plan.partCount - 2 }, (_, i) => i + 3);
    for (const part of await signParts(id, rest)) expect((await putPart(part, slice(part.partNumber))).status).toBe(200);

    const done = await h.complete(id);
    expect(done.status).toBe(200);
    const key = String(json.key);
    const stored = await h.storage.readRange(key, 0, size - 1);
    expect(createHash('sha256').update(stored).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(await h.ledger.usage('alice', 'default', '2026-11-24')).toEqual({ usedBytes: size, reservedBytes: 0 });
  });

  it('binds each part URL to its exact length', async () => {
    const size = 20 * MiB;
    const { json } = await h.sign({ size, contentType: 'video/mp4', multipart: true });
    const [part] = await signParts(String(json.uploadId), [1]);
    const plan = json.multipart as { partSize: number };
    expect((await putPart(part!, fileOf('video/mp4', plan.partSize + 1))).status).toBeGreaterThanOrEqual(400);
    expect((await putPart(part!, fileOf('video/mp4', plan.partSize - 1))).status).toBeGreaterThanOrEqual(400);
  });

  it('refuses parts beyond the plan and a forged parts list at complete', async () => {
    const size = 17 * MiB;
    const { json } = await h.sign({ size, contentType: 'video/mp4', multipart: true });
    const id = String(json.uploadId);
    const plan = json.multipart as { partSize: number; partCount: number };
    const beyond = await h.call('POST', `${BASE}/${id}/parts`, { json: { parts: [{ partNumber: plan.partCount + 1 }] }, user: 'alice' });
    expect(beyond.status).toBe(400);
    const bytes = fileOf('video/mp4', size);
    for (const part of await signParts(id, [1, 2])) {
      await putPart(part, bytes.subarray((part.partNumber - 1) * plan.partSize, part.partNumber * plan.partSize));
    }
    const forged = await h.complete(id, 'alice', {
      parts: [
        { partNumber: 1, etag: '"0123"' },
        { partNumber: 2, etag: '"4567"' },
      ],
    });
    expect(forged.status).toBe(422);
    expect(await h.ledger.usage('alice', 'default', '2026-11-24')).toEqual({ usedBytes: 0, reservedBytes: 0 });
  });

  it('answers 409 while parts are missing, and abort removes them', async () => {
    const size = 12 * MiB;
    const { json } = await h.sign({ size, contentType: 'video/mp4', multipart: true });
    const id = String(json.uploadId);
    const [part] = await signParts(id, [1]);
    const plan = json.multipart as { partSize: number };
    await putPart(part!, fileOf('video/mp4', plan.partSize));
    expect((await h.complete(id)).status).toBe(409);
    expect((await h.call('DELETE', `${BASE}/${id}`, { user: 'alice' })).status).toBe(200);
    expect((await putPart(part!, fileOf('video/mp4', plan.partSize))).status).toBeGreaterThanOrEqual(400);
    expect((await h.ledger.usage('alice', 'default', '2026-11-24')).reservedBytes).toBe(0);
  });
});
