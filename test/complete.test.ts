/**
 * Security requirements 7, 10–13 and 15 of DESIGN.md from sign through the disk store to
 * completion, plus abort, the sweeper and the file list.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BASE, createHarness, fileOf, type Harness } from './helpers/harness.js';
import { jsonOf } from './helpers/requests.js';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

const PERIOD = '2026-11-24';
const usage = (user = 'alice') => h.ledger.usage(user, 'default', PERIOD);

async function signAndPut(contentType = 'image/png', size = 4096, user = 'alice') {
  const bytes = fileOf(contentType, size);
  const { json } = await h.sign({ size, contentType }, user);
  const put = await h.put(json, bytes);
  expect(put.status).toBe(200);
  return { id: String(json.uploadId), key: String(json.key), signed: json, bytes };
}

describe('7. the storage refuses what was not signed', () => {
  it('refuses size+1, size-1, another type and another key, leaving no object', async () => {
    const { json } = await h.sign({ size: 100, contentType: 'image/png' });
    const png = fileOf('image/png', 101);
    expect((await h.put(json, png)).status).toBeGreaterThanOrEqual(400);
    expect((await h.put(json, png.subarray(0, 99))).status).toBeGreaterThanOrEqual(400);
    expect((await h.put(json, png.subarray(0, 100), { 'content-type': 'text/html' })).status).toBeGreaterThanOrEqual(400);
    expect(await h.storage.head(String(json.key))).toBeUndefined();
    const other = await h.sign({ size: 100, contentType: 'image/png' });
    const forged = { ...json, presignedUrl: String(json.presignedUrl).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) };
    expect((await h.put(forged, png.subarray(0, 100))).status).toBeGreaterThanOrEqual(400);
    expect(await h.storage.head(String(other.json.key))).toBeUndefined();
  });
});

describe('10. quota', () => {
  it('grants exactly what fits to 200 concurrent requests', async () => {
    const tight = await createHarness({
      routes: { default: { allowance: { bytes: 37_000 }, rateLimit: { perUserPerMinute: 1000, perIpPerMinute: 1000 } } },
    });
    try {
      const results = await Promise.all(Array.from({ length: 200 }, () => tight.sign({ size: 1000, contentType: 'image/png' })));
      expect(results.filter((r) => r.status === 200)).toHaveLength(37);
      expect(results.filter((r) => r.status === 403).every((r) => (r.json.error as { code: string }).code === 'QUOTA_EXCEEDED')).toBe(true);
      expect((await tight.ledger.usage('alice', 'default', PERIOD)).reservedBytes).toBe(37_000);
    } finally {
      await tight.close();
    }
  });

  it('settles at complete and releases at abort', async () => {
    const { id } = await signAndPut('image/png', 4096);
    expect(await usage()).toEqual({ usedBytes: 0, reservedBytes: 4096 });
    expect((await h.complete(id)).status).toBe(200);
    expect(await usage()).toEqual({ usedBytes: 4096, reservedBytes: 0 });
    const { json } = await h.sign({ size: 500, contentType: 'image/png' });
    expect((await h.call('DELETE', `${BASE}/${json.uploadId}`, { user: 'alice' })).status).toBe(200);
    expect(await usage()).toEqual({ usedBytes: 4096, reservedBytes: 0 });
  });
});

describe('11. pending cap', () => {
  it('refuses a user past the cap of unfinished uploads', async () => {
    const capped = await createHarness({ routes: { default: { maxPendingUploads: 2 } } });
    try {
      expect((await capped.sign({ size: 10, contentType: 'image/png' })).status).toBe(200);
      expect((await capped.sign({ size: 10, contentType: 'image/png' })).status).toBe(200);
      const third = await capped.sign({ size: 10, contentType: 'image/png' });
      expect(third.status).toBe(429);
      expect((third.json.error as { code: string }).code).toBe('TOO_MANY_PENDING_UPLOADS');
    } finally {
      await capped.close();
    }
  });
});

describe('12. complete', () => {
  it("answers 404 for another user's upload, on every call", async () => {
    const { id } = await signAndPut();
    expect((await h.complete(id, 'mallory')).status).toBe(404);
    expect((await h.call('GET', `${BASE}/${id}`, { user: 'mallory' })).status).toBe(404);
    expect((await h.call('DELETE', `${BASE}/${id}`, { user: 'mallory' })).status).toBe(404);
    expect((await h.call('POST', `${BASE}/${id}/parts`, { user: 'mallory', json: { parts: [{ partNumber: 1 }] } })).status).toBe(404);
    expect((await h.complete(id)).status).toBe(200);
  });

  it('answers 409 before the bytes arrive and keeps the reservation', async () => {
    const { json } = await h.sign({ size: 100, contentType: 'image/png' });
    const early = await h.complete(String(json.uploadId));
    expect(early.status).toBe(409);
    expect((early.json.error as { code: string }).code).toBe('UPLOAD_NOT_RECEIVED');
    expect((await usage()).reservedBytes).toBe(100);
  });

  it('is idempotent: 10 parallel calls make one file and one charge', async () => {
    const { id } = await signAndPut('image/png', 2048);
    const results = await Promise.all(Array.from({ length: 10 }, () => h.complete(id)));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(results.map((r) => JSON.stringify(r.json.file))).size).toBe(1);
    expect(await usage()).toEqual({ usedBytes: 2048, reservedBytes: 0 });
    expect((await h.ledger.listFiles('alice', { limit: 10 })).files).toHaveLength(1);
  });

  it('answers 410 after abort', async () => {
    const { id, key } = await signAndPut();
    await h.call('DELETE', `${BASE}/${id}`, { user: 'alice' });
    expect(await h.storage.head(key)).toBeUndefined();
    const late = await h.complete(id);
    expect(late.status).toBe(410);
    expect((late.json.error as { code: string }).code).toBe('UPLOAD_ABORTED');
  });
});

describe('13. magic bytes', () => {
  it('refuses a .png whose bytes are HTML, deletes it and releases the reservation', async () => {
    const html = new TextEncoder().encode('<!doctype html><script>alert(1)</script>'.padEnd(200, ' '));
    const { json } = await h.sign({ size: html.length, contentType: 'image/png', name: 'cat.png' });
    expect((await h.put(json, html)).status).toBe(200);
    const result = await h.complete(String(json.uploadId));
    expect(result.status).toBe(422);
    expect((result.json.error as { code: string }).code).toBe('UPLOAD_INTEGRITY_FAILED');
    expect(await h.storage.head(String(json.key))).toBeUndefined();
    expect(await usage()).toEqual({ usedBytes: 0, reservedBytes: 0 });
  });

  it('refuses an ELF binary declared as a PDF', async () => {
    const elf = new Uint8Array(256);
    elf.set([0x7f, 0x45, 0x4c, 0x46]);
    const { json } = await h.sign({ size: elf.length, contentType: 'application/pdf' });
    await h.put(json, elf);
    expect((await h.complete(String(json.uploadId))).status).toBe(422);
  });
});

describe('15. disk tokens', () => {
  it('refuses a replay of a token that already carried an upload; the object is unchanged', async () => {
    const { signed, bytes, key } = await signAndPut('image/png', 1024);
    const replay = fileOf('image/png', 1024);
    expect((await h.put(signed, replay)).status).toBeGreaterThanOrEqual(400);
    const stored = await h.storage.readRange(key, 0, 1023);
    expect(Buffer.from(stored).equals(Buffer.from(bytes))).toBe(true);
  });
});

describe('overwrite protection on request', () => {
  it('signs If-None-Match when the client asks and the store honours it; never for the seed', async () => {
    const asked = await h.sign({ size: 100, contentType: 'image/png', ifNoneMatch: true });
    expect((asked.json.headers as Record<string, string>)['if-none-match']).toBe('*');
    const seed = await h.sign({ size: 100, contentType: 'image/png' });
    expect(seed.json.headers).toEqual({ 'content-type': 'image/png' });
  });
});

describe('sweeper', () => {
  it('completes an expired upload whose object verifies, and releases one that never arrived', async () => {
    const { id: landed } = await signAndPut('image/png', 300);
    const { json: lost } = await h.sign({ size: 700, contentType: 'image/png' });
    h.clock.advance(24 * 3600 + 1);
    const result = await h.gateway.sweep();
    expect(result).toMatchObject({ completed: 1, expired: 1 });
    expect((await h.ledger.getUpload(landed))?.status).toBe('completed');
    expect((await h.ledger.getUpload(String(lost.uploadId)))?.status).toBe('expired');
    expect(await usage()).toEqual({ usedBytes: 300, reservedBytes: 0 });
    expect(await h.ledger.pendingCount('alice', 'default')).toBe(0);
  });
});

describe('files', () => {
  it('lists own files newest first with the allowance, and deletion refunds', async () => {
    const first = await signAndPut('image/png', 100);
    await h.complete(first.id);
    h.clock.advance(1);
    const second = await signAndPut('image/jpeg', 200);
    await h.complete(second.id);
    const list = await jsonOf<{ files: { id: string }[]; allowance: { usedBytes: number; remainingBytes: number } }>(
      await h.call('GET', BASE, { user: 'alice' }),
    );
    expect(list.files.map((f) => f.id)).toEqual([second.id, first.id]);
    expect(list.allowance.usedBytes).toBe(300);
    expect((await jsonOf<{ files: unknown[] }>(await h.call('GET', BASE, { user: 'bob' }))).files).toEqual([]);
    expect((await h.call('DELETE', `${BASE}/files/${first.id}`, { user: 'bob' })).status).toBe(404);
    expect((await h.call('DELETE', `${BASE}/files/${first.id}`, { user: 'alice' })).status).toBe(200);
    expect(await h.storage.head(first.key)).toBeUndefined();
    expect((await usage()).usedBytes).toBe(200);
  });

  it('redirects the owner of a private file to a signed read and hides it from others', async () => {
    const { id } = await signAndPut('image/png', 100);
    const { json } = await h.complete(id);
    const url = new URL(String((json.file as { url: string }).url));
    expect(url.pathname).toBe(`${BASE}/files/${id}`);
    const owner = await h.call('GET', url.pathname, { user: 'alice' });
    expect(owner.status).toBe(302);
    expect(owner.headers.location).toContain('/_disk/');
    expect((await h.call('GET', url.pathname, { user: 'bob' })).status).toBe(404);
    expect((await h.call('GET', url.pathname)).status).toBe(404);
  });
});
