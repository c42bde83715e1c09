/**
 * Faults at gateway level: the disk store's folder fills up or turns read-only under a running
 * gateway. The client hears a clear 503 STORAGE_UNAVAILABLE that names the cause; no partial
 * object or part is ever visible; nothing is reserved when the store cannot even start a multipart
 * upload; and the reservation of a PUT that failed stays until the client aborts or it expires.
 * The disk engineer's storage-level tests do the same on the bare store (disk-receiver.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiskStorage, type DiskStorage } from '../../src/storage/disk.js';
import { type AttackStack, codeOf, diskStack, expectLedger } from '../attacks/stack.js';
import { fileOf } from '../helpers/harness.js';
import { gatewayRequest, jsonOf } from '../helpers/requests.js';
import { mountTmpfs } from '../helpers/tmpfs.js';

const MiB = 1024 * 1024;

describe('the disk store fails under a running gateway', () => {
  let dir: string;
  let mounted = false;
  let storage: DiskStorage;
  let s: AttackStack;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dropgate-gw-fault-'));
    mounted = mountTmpfs(dir, 'size=2m');
    // Same secret and base path as the harness, so its put() reaches this store's receiver.
    storage = createDiskStorage({
      directory: join(dir, 'files'),
      secret: 'test-secret-0123456789abcdef0123456789',
      baseUrl: 'http://localhost:3000/api/upload/_disk',
      now: () => s.clock.now,
    });
    s = await diskStack.create({ storage, routes: { default: { maxSize: '10MiB' } } });
  });
  afterAll(async () => {
    await s?.close();
    if (mounted) execFileSync('umount', ['-l', dir]);
    await rm(dir, { recursive: true, force: true });
  });
  const scratch = async () => ({
    temp: await readdir(join(storage.directory, '.tmp')).catch(() => []),
    multipart: await readdir(join(storage.directory, '.multipart')).catch(() => []),
  });

  it('answers a PUT that fills the disk 503 ENOSPC; nothing stored, the reservation kept for a retry', async (ctx) => {
    if (!mounted) ctx.skip('cannot mount a tmpfs here (needs root)');
    const size = 3 * MiB;
    const { json } = await s.sign({ size, contentType: 'image/png' }, 'full');
    const response = await s.put(json, fileOf('image/png', size));
    expect(response.status).toBe(503);
    const error = (await jsonOf(response)).error as Record<string, unknown>;
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', reason: 'ENOSPC' });
    expect(String(error.message)).toContain('disk is full');
    expect(await storage.head(String(json.key))).toBeUndefined();
    expect(await scratch()).toEqual({ temp: [], multipart: [] });
    await expectLedger(s, 'full', { usedBytes: 0, reservedBytes: size, pending: 1 });
    expect(codeOf((await s.complete(String(json.uploadId), 'full')).json)).toBe('UPLOAD_NOT_RECEIVED');
    expect((await s.call('DELETE', `/api/upload/${json.uploadId}`, { user: 'full' })).status).toBe(200);
    await expectLedger(s, 'full', { usedBytes: 0, reservedBytes: 0, pending: 0 });
  });

  it('answers a multipart part that fills the disk 503, and leaves no part behind', async (ctx) => {
    if (!mounted) ctx.skip('cannot mount a tmpfs here (needs root)');
    const size = 3 * MiB;
    const { json } = await s.sign({ size, contentType: 'image/png', multipart: true }, 'parts');
    const parts = await jsonOf<{ parts: { url: string }[] }>(
      await s.call('POST', `/api/upload/${json.uploadId}/parts`, { user: 'parts', json: { parts: [{ partNumber: 1 }] } }),
    );
    const put = await s.gateway.handle(gatewayRequest('PUT', new URL(parts.parts[0]!.url).pathname, { body: fileOf('image/png', size) }));
    expect(put.status).toBe(503);
    expect(((await jsonOf(put)).error as { reason: string }).reason).toBe('ENOSPC');
    const status = await jsonOf<{ parts: unknown[] }>(await s.call('GET', `/api/upload/${json.uploadId}`, { user: 'parts' }));
    expect(status.parts).toEqual([]);
    expect((await scratch()).temp).toEqual([]);
    expect((await s.call('DELETE', `/api/upload/${json.uploadId}`, { user: 'parts' })).status).toBe(200);
    expect(await scratch()).toEqual({ temp: [], multipart: [] });
    await expectLedger(s, 'parts', { usedBytes: 0, reservedBytes: 0, pending: 0 });
  });

  it('on a read-only folder: 503 EROFS for PUTs, nothing reserved for multipart, files already there still served', async (ctx) => {
    if (!mounted) ctx.skip('cannot mount a tmpfs here (needs root)');
    const kept = await s.sign({ size: 300, contentType: 'image/png' }, 'ro');
    await s.put(kept.json, fileOf('image/png', 300));
    expect((await s.complete(String(kept.json.uploadId), 'ro')).status).toBe(200);
    execFileSync('mount', ['-o', 'remount,ro', dir]);
    try {
      const { json } = await s.sign({ size: 300, contentType: 'image/png' }, 'ro');
      const response = await s.put(json, fileOf('image/png', 300));
      expect(response.status).toBe(503);
      expect((await jsonOf(response)).error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', reason: 'EROFS' });
      expect(await storage.head(String(json.key))).toBeUndefined();
      // Fail closed: a multipart upload needs the store at sign time, so nothing is reserved.
      const multipart = await s.sign({ size: 300, contentType: 'image/png', multipart: true }, 'ro');
      expect(multipart.status).toBe(503);
      expect(codeOf(multipart.json)).toBe('STORAGE_UNAVAILABLE');
      await expectLedger(s, 'ro', { usedBytes: 300, reservedBytes: 300, pending: 1 });
      // Giving up works even now: there is nothing to delete, so a read-only store is no excuse.
      const abort = await s.call('DELETE', `/api/upload/${json.uploadId}`, { user: 'ro' });
      expect(abort.status).toBe(200);
      await expectLedger(s, 'ro', { usedBytes: 300, reservedBytes: 0, pending: 0 });
      const read = await s.call('GET', `/api/upload/files/${kept.json.uploadId}`, { user: 'ro' });
      const served = await s.gateway.handle(gatewayRequest('GET', new URL(String(read.headers.location)).pathname));
      expect(served.status).toBe(200);
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', dir]);
    }
  });
});
