/**
 * `GET {base}/files/{id}` of an upload that is still pending completes it on the first read (the
 * seed's client reads `readUrl` right after its PUT and never calls complete), through the same
 * verification as `POST …/complete`: private files only for their owner, public ones for anyone
 * with the read URL; 404 while the bytes are not there or do not verify. On the disk store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BASE, createHarness, fileOf, type Harness } from './helpers/harness.js';
import { bodyOf } from './helpers/requests.js';

let h: Harness;
beforeEach(async () => {
  h = await createHarness({
    routes: {
      default: { visibility: 'private', rateLimit: { perUserPerMinute: 1000, perIpPerMinute: 1000 } },
      open: { visibility: 'public' },
    },
  });
});
afterEach(() => h.close());

const usage = (user = 'alice', route = 'default') => h.ledger.usage(user, route, '2026-11-24');
const status = async (id: string) => (await h.ledger.getUpload(id))?.status;
const read = (id: string, user?: string) => h.call('GET', `${BASE}/files/${id}`, user ? { user } : {});

async function signAndPut(route = 'default', bytes = fileOf('image/png', 4096)) {
  const { json } = await h.sign({ size: bytes.length, contentType: 'image/png', route });
  expect((await h.put(json, bytes)).status).toBe(200);
  return { id: String(json.uploadId), key: String(json.key), bytes };
}

/** Follows the read's redirect to the disk store and returns the bytes served. */
async function follow(location: string | undefined): Promise<string> {
  const url = new URL(location ?? '');
  const served = await h.call('GET', url.pathname + url.search);
  expect(served.status).toBe(200);
  return bodyOf(served);
}

describe('complete on first read', () => {
  it("private route: only the owner's read completes it; others get the 404 of no file, and nothing changes", async () => {
    const { id, bytes } = await signAndPut();
    for (const user of [undefined, 'mallory']) {
      expect((await read(id, user)).status).toBe(404);
      expect(await status(id)).toBe('pending');
    }
    expect(await usage()).toEqual({ usedBytes: 0, reservedBytes: bytes.length });

    const first = await read(id, 'alice');
    expect(first.status).toBe(302);
    expect(await status(id)).toBe('completed');
    expect(await usage()).toEqual({ usedBytes: bytes.length, reservedBytes: 0 });
    expect(await follow(first.headers.location)).toBe(new TextDecoder().decode(bytes));
    // complete afterwards is the same file, charged once.
    expect((await h.complete(id)).status).toBe(200);
    expect(await usage()).toEqual({ usedBytes: bytes.length, reservedBytes: 0 });
    expect((await read(id, 'mallory')).status).toBe(404);
  });

  it('public route: anyone with the read URL completes it', async () => {
    const { id } = await signAndPut('open');
    const first = await read(id);
    expect(first.status).toBe(302);
    expect(await status(id)).toBe('completed');
    expect((await h.ledger.getUpload(id))?.etag).toEqual(expect.any(String));
    expect((await read(id, 'mallory')).status).toBe(302);
  });

  it('answers 404 before the bytes are there and keeps the upload pending and reserved', async () => {
    const { json } = await h.sign({ size: 4096, contentType: 'image/png' });
    const id = String(json.uploadId);
    expect((await read(id, 'alice')).status).toBe(404);
    expect(await status(id)).toBe('pending');
    expect(await usage()).toEqual({ usedBytes: 0, reservedBytes: 4096 });
    expect((await h.put(json, fileOf('image/png', 4096))).status).toBe(200);
    expect((await read(id, 'alice')).status).toBe(302);
  });

  it('runs one verification for parallel reads and completes: one file, one charge', async () => {
    const { id, bytes } = await signAndPut();
    const answers = await Promise.all([
      ...Array.from({ length: 5 }, () => read(id, 'alice')),
      ...Array.from({ length: 5 }, async () => ({ status: (await h.complete(id)).status })),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 302, 302, 302, 302, 302]);
    expect(await usage()).toEqual({ usedBytes: bytes.length, reservedBytes: 0 });
    expect(h.logs.filter((l) => l.msg === 'upload completed')).toHaveLength(1);
  });

  it('refuses bytes that do not verify: 404 to the reader, the upload failed and its object removed', async () => {
    const html = new TextEncoder().encode(`<html><script>alert(1)</script>${' '.repeat(100)}</html>`);
    const { id, key } = await signAndPut('default', html);
    expect((await read(id, 'alice')).status).toBe(404);
    expect(await status(id)).toBe('failed');
    expect(await h.storage.head(key)).toBeUndefined();
    expect(await usage()).toEqual({ usedBytes: 0, reservedBytes: 0 });
  });

  it('answers 404 for a completed file whose object was removed behind its back', async () => {
    const { id, key } = await signAndPut();
    expect((await h.complete(id)).status).toBe(200);
    await h.storage.delete(key);
    expect((await read(id, 'alice')).status).toBe(404);
  });
});
