/**
 * Fault: `kill -9` of `dropgate dev` while 20 uploads are in flight (each PUT half sent, the
 * server writing it to a temp file), then a restart on the same port and data folder. Nothing is
 * lost: the PGlite ledger still holds every reservation and completed file; the half-received
 * bytes never became objects; every upload completes with the URL it already had; and at the end
 * the allowance and pending counts are exact, read from the ledger itself.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import type { ClientRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPGliteLedger } from '../../src/ledger/pglite.js';
import { createDiskStorage } from '../../src/storage/disk.js';
import { openPut, waitFor } from '../../src/storage/disk-fixtures.contract.js';
import { freePort } from '../helpers/dev-process.js';
import { fileOf } from '../helpers/harness.js';
import { type DevChild, startDevChild } from './dev-child.js';

const SIZE = 1024 * 1024;
const USER = 'ip:localhost';
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

interface Upload {
  id: string;
  bytes: Uint8Array;
  readUrl: string;
  /** The URL the bytes go to: the presigned PUT, or the one part's URL. */
  url: string;
  headers: Record<string, string>;
}

async function api(base: string, method: string, path: string, json?: unknown) {
  const response = await fetch(`${base}/api/upload${path}`, {
    method,
    ...(json === undefined ? {} : { body: JSON.stringify(json), headers: { 'content-type': 'application/json' } }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function signUpload(base: string, size: number, multipart: boolean): Promise<Upload> {
  const bytes = fileOf('image/png', size);
  const { json } = await api(base, 'POST', '', { size, contentType: 'image/png', multipart });
  const upload = { id: String(json.uploadId), bytes, readUrl: String(json.readUrl) };
  if (!multipart) return { ...upload, url: String(json.presignedUrl), headers: json.headers as Record<string, string> };
  const parts = await api(base, 'POST', `/${upload.id}/parts`, { parts: [{ partNumber: 1 }] });
  const [part] = parts.json.parts as { url: string; headers: Record<string, string> }[];
  return { ...upload, url: part!.url, headers: part!.headers };
}

const put = (u: Upload) => fetch(u.url, { method: 'PUT', headers: u.headers, body: u.bytes as Uint8Array<ArrayBuffer> });
const allowance = async (base: string) => (await api(base, 'GET', '')).json.allowance as { usedBytes: number; reservedBytes: number };

describe('kill -9 of `dropgate dev` with 20 uploads in flight', () => {
  it('loses nothing: every upload completes after a restart, and the ledger is exact', { timeout: 180_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'dropgate-kill9-'));
    const port = await freePort();
    const tmp = join(dataDir, 'files', '.tmp');
    let dev: DevChild = await startDevChild(dataDir, port);
    const hanging: ClientRequest[] = [];
    try {
      // Before the crash: 4 files completed, 3 uploads signed and not started, 20 in flight
      // (17 single PUTs and 3 one-part multipart uploads).
      const done: Upload[] = [];
      for (let i = 0; i < 3; i++) {
        const u = await signUpload(dev.url, 4096, false);
        expect((await put(u)).status).toBe(200);
        expect((await api(dev.url, 'POST', `/${u.id}/complete`, {})).status).toBe(200);
        done.push(u);
      }
      const idle = [await signUpload(dev.url, SIZE, false), await signUpload(dev.url, SIZE, false)];
      const inFlight: Upload[] = [];
      for (let i = 0; i < 20; i++) inFlight.push(await signUpload(dev.url, SIZE, i >= 17));
      for (const u of inFlight) {
        const { request, response } = openPut(u.url, { ...u.headers, 'content-length': String(SIZE) });
        response.catch(() => undefined);
        request.on('error', () => undefined);
        request.write(u.bytes.subarray(0, SIZE / 2));
        hanging.push(request);
      }
      await waitFor(async () => (await readdir(tmp).catch(() => [])).length >= 20, '20 uploads being received', 30_000);
      // The last ledger writes land a moment before the kill: a commit must be durable at once.
      const last = await signUpload(dev.url, 4096, false);
      expect((await put(last)).status).toBe(200);
      expect((await api(dev.url, 'POST', `/${last.id}/complete`, {})).status).toBe(200);
      done.push(last);
      idle.push(await signUpload(dev.url, SIZE, false));

      await dev.kill9();
      for (const request of hanging) request.destroy();
      dev = await startDevChild(dataDir, port);

      // The ledger survived the kill: every completed file and every reservation is there.
      const before = await api(dev.url, 'GET', '');
      expect((before.json.files as unknown[]).length).toBe(4);
      expect(await allowance(dev.url)).toMatchObject({ usedBytes: 4 * 4096, reservedBytes: 23 * SIZE });
      for (const u of inFlight) {
        const status = await api(dev.url, 'GET', `/${u.id}`);
        expect(status.json.status).toBe('pending');
        // Half a body never became an object.
        expect((await api(dev.url, 'POST', `/${u.id}/complete`, {})).json.error).toMatchObject({ code: 'UPLOAD_NOT_RECEIVED' });
      }

      // Every upload is re-done with the URL it already had (the crashed attempt did not use it up).
      for (const u of [...inFlight, ...idle]) {
        expect((await put(u)).status, u.url).toBe(200);
        expect((await api(dev.url, 'POST', `/${u.id}/complete`, {})).status).toBe(200);
      }
      for (const u of [...done, ...inFlight, ...idle]) {
        const read = await fetch(u.readUrl);
        expect(sha(new Uint8Array(await read.arrayBuffer()))).toBe(sha(u.bytes));
      }
      const total = 4 * 4096 + 23 * SIZE;
      expect(await allowance(dev.url)).toMatchObject({ usedBytes: total, reservedBytes: 0 });
      await dev.stop();

      // Exact counts straight from the ledger, and what the crash left on disk.
      const ledger = await createPGliteLedger({ dataDir: join(dataDir, 'ledger') });
      try {
        expect(await ledger.pendingCount(USER, 'default')).toBe(0);
        expect(await ledger.usage(USER, 'default', new Date().toISOString().slice(0, 10))).toEqual({ usedBytes: total, reservedBytes: 0 });
        expect((await ledger.listFiles(USER, { limit: 100 })).files).toHaveLength(27);
      } finally {
        await ledger.close();
      }
      expect(await readdir(join(dataDir, 'files', '.multipart'))).toEqual([]);
      // Only the killed receives' temp files remain, and the store's cleanup removes them.
      const orphans = await readdir(tmp);
      expect(orphans.length).toBeLessThanOrEqual(20);
      expect(orphans.every((name) => /^(put|part)-/.test(name))).toBe(true);
      const secret = (await readFile(join(dataDir, 'secret'), 'utf8')).trim();
      const storage = createDiskStorage({ directory: join(dataDir, 'files'), secret, baseUrl: `${dev.url}/api/upload/_disk` });
      expect((await storage.cleanup({ tempIdleMs: 0 })).temp).toBe(orphans.length);
      expect(await readdir(tmp)).toEqual([]);
    } finally {
      for (const request of hanging) request.destroy();
      await dev.kill9();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
