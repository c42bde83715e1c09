/**
 * Hook semantics of issue 3: metadata reaches the hooks and the file record; a failing
 * `onUploadComplete` leaves the upload verified but pending (nothing charged), and a retried
 * complete — or the sweeper — runs it again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { UploadCompleteContext } from '../src/server/hooks.js';
import { DropgateError } from '../src/shared/errors.js';
import type { FileListResponse } from '../src/shared/protocol.js';
import { MiB } from '../src/shared/sizes.js';
import { BASE, createHarness, fileOf, type Harness } from './helpers/harness.js';
import { gatewayRequest, jsonOf } from './helpers/requests.js';

let h: Harness;
afterEach(() => h?.close());

const PERIOD = '2026-11-24';

/** An onUploadComplete that fails while `failures` has entries (each thrown once), recording every call. */
function flakyHook(failures: unknown[]) {
  const calls: UploadCompleteContext[] = [];
  const hook = async (ctx: UploadCompleteContext) => {
    calls.push(ctx);
    if (failures.length > 0) throw failures.shift();
  };
  return { calls, hook };
}

async function signAndPut(body: Record<string, unknown>, size = 2048) {
  const { status, json } = await h.sign({ size, contentType: 'image/png', ...body });
  expect(status).toBe(200);
  expect((await h.put(json, fileOf('image/png', size))).status).toBe(200);
  return String(json.uploadId);
}

describe('metadata', () => {
  it('reaches onBeforeSign and onUploadComplete, and is stored on the file record', async () => {
    const seen: unknown[] = [];
    const { calls, hook } = flakyHook([]);
    h = await createHarness({ hooks: { onBeforeSign: ({ metadata }) => void seen.push(metadata), onUploadComplete: hook } });
    const metadata = { project: 'p-17', take: 3, final: true };
    const id = await signAndPut({ metadata });
    const done = await h.complete(id);
    expect(done.status).toBe(200);
    expect(seen).toEqual([metadata]);
    expect(calls.map((c) => c.upload.metadata)).toEqual([metadata]);
    expect((done.json.file as { metadata?: unknown }).metadata).toEqual(metadata);
    expect((await h.ledger.getUpload(id))?.metadata).toEqual(metadata);
    const list = await jsonOf<FileListResponse>(await h.call('GET', BASE, { user: 'alice' }));
    expect(list.files[0]?.metadata).toEqual(metadata);
  });
});

describe('onUploadComplete failures', () => {
  it('answer 503 SERVICE_UNAVAILABLE, keep the upload pending and uncharged, and a retry runs the hook again', async () => {
    const { calls, hook } = flakyHook([new Error('app database is down')]);
    h = await createHarness({ hooks: { onUploadComplete: hook } });
    const id = await signAndPut({}, 2048);

    const failed = await h.complete(id);
    expect(failed.status).toBe(503);
    expect(failed.json.error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', uploadId: id });
    expect((await h.ledger.getUpload(id))?.status).toBe('pending');
    expect(await h.ledger.usage('alice', 'default', PERIOD)).toEqual({ usedBytes: 0, reservedBytes: 2048 });
    // The app's error is logged for the operator, not sent to the client.
    expect(JSON.stringify(failed.json)).not.toContain('app database is down');
    expect(h.logs.some((entry) => String(entry.cause).includes('app database is down'))).toBe(true);

    const retried = await h.complete(id);
    expect(retried.status).toBe(200);
    expect(calls).toHaveLength(2);
    expect(await h.ledger.usage('alice', 'default', PERIOD)).toEqual({ usedBytes: 2048, reservedBytes: 0 });
    // Once recorded, completing again answers the file without running the hook a third time.
    expect((await h.complete(id)).status).toBe(200);
    expect(calls).toHaveLength(2);
  });

  it("answer the hook's own DropgateError as it is", async () => {
    const { hook } = flakyHook([new DropgateError('FORBIDDEN', 'Project p-17 is archived.')]);
    h = await createHarness({ hooks: { onUploadComplete: hook } });
    const id = await signAndPut({ metadata: { project: 'p-17' } });
    const refused = await h.complete(id);
    expect([refused.status, (refused.json.error as { message: string }).message]).toEqual([403, 'Project p-17 is archived.']);
    expect((await h.ledger.getUpload(id))?.status).toBe('pending');
  });

  it('leave an assembled multipart upload completable on retry', async () => {
    const { calls, hook } = flakyHook([new Error('timeout')]);
    h = await createHarness({ hooks: { onUploadComplete: hook }, routes: { default: { maxSize: '100MiB' } } });
    const size = 6 * MiB;
    const bytes = fileOf('video/mp4', size);
    const { json } = await h.sign({ size, contentType: 'video/mp4', multipart: true });
    const id = String(json.uploadId);
    const { partSize, partCount } = json.multipart as { partSize: number; partCount: number };
    const numbers = Array.from({ length: partCount }, (_, i) => ({ partNumber: i + 1 }));
    const signed = await jsonOf<{ parts: { partNumber: number; url: string; headers: Record<string, string> }[] }>(
      await h.call('POST', `${BASE}/${id}/parts`, { json: { parts: numbers }, user: 'alice' }),
    );
    for (const part of signed.parts) {
      const body = bytes.subarray((part.partNumber - 1) * partSize, Math.min(size, part.partNumber * partSize));
      const put = await h.gateway.handle(gatewayRequest('PUT', new URL(part.url).pathname, { body, headers: part.headers }));
      expect(put.status).toBe(200);
    }
    expect((await h.complete(id)).status).toBe(503);
    const retried = await h.complete(id);
    expect(retried.status).toBe(200);
    expect((retried.json.file as { size: number }).size).toBe(size);
    expect(calls).toHaveLength(2);
  });

  it('are retried by the sweeper, which runs the hook before recording an upload the client never completed', async () => {
    const { calls, hook } = flakyHook([new Error('still down')]);
    h = await createHarness({ hooks: { onUploadComplete: hook } });
    const id = await signAndPut({ metadata: { source: 'tab closed before complete' } });
    h.clock.advance(24 * 3600 + 1);
    expect(await h.gateway.sweep()).toMatchObject({ completed: 0, failed: 1 });
    expect((await h.ledger.getUpload(id))?.status).toBe('pending');
    h.clock.advance(3600); // past the failed pass's claim
    expect(await h.gateway.sweep()).toMatchObject({ completed: 1 });
    expect((await h.ledger.getUpload(id))?.status).toBe('completed');
    expect(calls.map((c) => c.upload.metadata)).toEqual([
      { source: 'tab closed before complete' },
      { source: 'tab closed before complete' },
    ]);
  });
});
