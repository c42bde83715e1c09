/**
 * The first parts' URLs in the sign answer (`parts` in the sign request, multipart only): the same
 * rules as the parts call — exact length, the MD5 bound and recorded before any URL leaves — and a
 * sign that cannot honour them reserves nothing.
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
const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('base64');
const SIZE = 40 * MiB + 7; // 3 parts of 16 MiB, the last 8 MiB + 7 bytes
const bytes = fileOf('video/mp4', SIZE);
const slice = (n: number) => bytes.subarray((n - 1) * 16 * MiB, Math.min(SIZE, n * 16 * MiB));

async function putPart(part: Part, body: Uint8Array) {
  const url = new URL(part.url);
  return (await h.gateway.handle(gatewayRequest('PUT', url.pathname, { body, headers: part.headers }))).status;
}

async function nothingReserved() {
  expect(await h.ledger.usage('alice', 'default', '2026-11-24')).toEqual({ usedBytes: 0, reservedBytes: 0 });
  expect(await h.ledger.pendingCount('alice', 'default')).toBe(0);
}

describe('part URLs in the sign answer', () => {
  it('signs the asked parts with their length and MD5, records the MD5s, and the upload completes', async () => {
    const wanted = [
      { partNumber: 1, md5: md5(slice(1)) },
      { partNumber: 2, md5: md5(slice(2)) },
    ];
    const { status, json } = await h.sign({ size: SIZE, contentType: 'video/mp4', multipart: true, parts: wanted });
    expect(status).toBe(200);
    const id = String(json.uploadId);
    const parts = json.parts as unknown as Part[];
    expect(parts.map((p) => [p.partNumber, p.headers['content-md5']])).toEqual(wanted.map((p) => [p.partNumber, p.md5]));
    expect(await h.ledger.partChecksums(id)).toEqual(wanted);

    // Bound to the MD5: other bytes of the same length are refused; the right ones land.
    const [first, second] = parts as [Part, Part];
    expect(await putPart(first, slice(2))).toBe(422);
    expect(await putPart(first, slice(1))).toBe(200);
    expect(await putPart(second, slice(2))).toBe(200);
    const more = await h.call('POST', `${BASE}/${id}/parts`, { json: { parts: [{ partNumber: 3 }] }, user: 'alice' });
    const [third] = (await jsonOf<{ parts: Part[] }>(more)).parts as [Part];
    expect(await putPart(third, slice(3))).toBe(200);
    expect((await h.complete(id)).status).toBe(200);
    expect(await h.ledger.usage('alice', 'default', '2026-11-24')).toEqual({ usedBytes: SIZE, reservedBytes: 0 });
  });

  it('binds the exact length of each part: a short last part does not fit a full part URL', async () => {
    const { json } = await h.sign({ size: SIZE, contentType: 'video/mp4', multipart: true, parts: [{ partNumber: 3 }] });
    const [last] = json.parts as unknown as [Part];
    expect(await putPart(last, slice(1))).toBe(400);
    expect(await putPart(last, slice(3))).toBe(200);
  });

  it('refuses parts for a single PUT, and parts past the plan, before reserving anything', async () => {
    const single = await h.sign({ size: 10 * MiB, contentType: 'video/mp4', parts: [{ partNumber: 1 }] });
    expect(single.status).toBe(400);
    expect(single.json).toMatchObject({ error: { code: 'INVALID_REQUEST', field: 'parts' } });
    const past = await h.sign({ size: SIZE, contentType: 'video/mp4', multipart: true, parts: [{ partNumber: 4 }] });
    expect(past.status).toBe(400);
    expect(past.json).toMatchObject({ error: { code: 'INVALID_REQUEST', message: expect.stringContaining('no part 4') } });
    await nothingReserved();
  });

  it('refuses a part asked for twice (400, not a database error), in the sign call and in the parts call', async () => {
    const twice = [
      { partNumber: 1, md5: md5(slice(1)) },
      { partNumber: 1, md5: md5(slice(2)) },
    ];
    const signed = await h.sign({ size: SIZE, contentType: 'video/mp4', multipart: true, parts: twice });
    expect(signed.status).toBe(400);
    expect(signed.json).toMatchObject({ error: { code: 'INVALID_REQUEST', message: expect.stringContaining('once') } });
    await nothingReserved();
    const { json } = await h.sign({ size: SIZE, contentType: 'video/mp4', multipart: true });
    const parts = await h.call('POST', `${BASE}/${String(json.uploadId)}/parts`, { json: { parts: twice }, user: 'alice' });
    expect(parts.status).toBe(400);
    expect(await h.ledger.partChecksums(String(json.uploadId))).toEqual([]);
  });

  it('a sign whose part MD5s cannot be recorded fails and hands its reservation back', async () => {
    h.ledger.recordPartChecksums = () => Promise.reject(new Error('connection lost'));
    const { status } = await h.sign({
      size: SIZE,
      contentType: 'video/mp4',
      multipart: true,
      parts: [{ partNumber: 1, md5: md5(slice(1)) }],
    });
    expect(status).toBeGreaterThanOrEqual(500);
    await nothingReserved();
  });
});
