/**
 * Resume in Node: an upload paused halfway and dropped with its client is picked up by a new
 * client (a new process, as far as the client can tell) from the same resume file, which asks the
 * server which parts the storage holds and sends only the others. Part PUTs are counted by the
 * fault proxy, which here injects nothing.
 */
import { openAsBlob } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, createFileResumeStore, type Uploader } from '../src/client/index.js';
import type { StatusResponse } from '../src/shared/protocol.js';
import { MiB } from '../src/shared/sizes.js';
import type { Exchange } from './helpers/fault-proxy.js';
import { type ProxiedStack, sha256OfUrl, startProxiedStack, writeMp4 } from './helpers/proxied-stack.js';

let s: ProxiedStack;
let dir: string;
let source: { path: string; sha256: string };
const SIZE = 112 * MiB + 5; // 8 parts of 16 MiB

beforeAll(async () => {
  s = await startProxiedStack();
  dir = await mkdtemp(join(tmpdir(), 'dropgate-resume-'));
  source = await writeMp4(dir, 'clip.mp4', SIZE);
});
afterAll(async () => {
  await s?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const partNumbers = (puts: Exchange[]) => puts.map((p) => p.partNumber as number).sort((a, b) => a - b);

/** A fresh client and file-backed store, as a new run of a program would make them. */
function newRun(stateFile: string) {
  const resumeStore = createFileResumeStore(stateFile);
  const client = createClient({ endpoint: s.endpoint, multipartThreshold: 20 * MiB, concurrency: 2, resumeStore });
  return { client, resumeStore };
}

async function pausedHalfway(stateFile: string): Promise<Uploader> {
  const { client } = newRun(stateFile);
  const u: Uploader = client.createUpload(await openAsBlob(source.path, { type: 'video/mp4' }), {
    fingerprint: `${source.path}|1`,
    onProgress: (p) => p.progress >= 0.6 && u.pause(),
  });
  u.start();
  const deadline = Date.now() + 20_000;
  while (u.state !== 'paused') {
    if (Date.now() > deadline) throw new Error(`no pause (state ${u.state})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // Every PUT it had in flight cut or answered, and the storage's answer in for each body that went
  // through whole (a part cut after its last byte lands all the same): the log says what it holds.
  await s.proxy.settled();
  return u;
}

describe('resume from a state file', () => {
  it('a new client sends only the parts the storage does not hold, and completes to the exact bytes', async () => {
    const stateFile = join(dir, 'state', 'uploads.json');
    const started = performance.now();
    const first = await pausedHalfway(stateFile);
    const id = first.uploadId as string;
    const firstRun = s.proxy.log.length;
    const landed = s.proxy.partPuts().filter((e) => e.storageStatus === 200);
    expect(landed.length).toBeGreaterThanOrEqual(2);
    expect(landed.length).toBeLessThan(8);
    expect(JSON.parse(await readFile(stateFile, 'utf8'))).toEqual({
      [`dropgate1|${s.endpoint}||${source.path}|1|${SIZE}`]: expect.objectContaining({ uploadId: id, size: SIZE, partCount: 8 }),
    });
    const status = (await (await fetch(`${s.endpoint}/${id}`)).json()) as StatusResponse;
    expect(status.parts?.map((p) => p.partNumber)).toEqual(partNumbers(landed));

    // The first client is dropped where it stands; a second one starts from the file.
    const { client, resumeStore } = newRun(stateFile);
    const second = client.createUpload(await openAsBlob(source.path, { type: 'video/mp4' }), { fingerprint: `${source.path}|1` }).start();
    const file = await second.done;
    const elapsed = performance.now() - started;

    expect(second.uploadId).toBe(id);
    expect(second.resumedParts).toBe(landed.length);
    const resent = s.proxy.log.slice(firstRun).filter((e) => e.partNumber !== undefined);
    expect(resent.every((p) => p.status === 200)).toBe(true);
    const all = [1, 2, 3, 4, 5, 6, 7, 8];
    expect(partNumbers(resent)).toEqual(all.filter((n) => !partNumbers(landed).includes(n)));
    expect(await sha256OfUrl(file.url)).toBe(source.sha256);
    expect(await resumeStore.get(`dropgate1|${s.endpoint}||${source.path}|1|${SIZE}`)).toBeUndefined();
    console.info(`resume: ${landed.length} parts in run 1, ${resent.length} in run 2, ${Math.round(elapsed)} ms`);
  });

  it('starts over when the saved upload was aborted meanwhile (or expired): new id, every part sent', async () => {
    const stateFile = join(dir, 'state-2', 'uploads.json');
    const first = await pausedHalfway(stateFile);
    expect((await fetch(`${s.endpoint}/${first.uploadId}`, { method: 'DELETE' })).status).toBe(200);
    const from = s.proxy.log.length;
    const { client } = newRun(stateFile);
    const second = client.createUpload(await openAsBlob(source.path, { type: 'video/mp4' }), { fingerprint: `${source.path}|1` }).start();
    const file = await second.done;
    expect(second.uploadId).not.toBe(first.uploadId);
    expect(second.resumedParts).toBe(0);
    expect(partNumbers(s.proxy.log.slice(from).filter((e) => e.partNumber !== undefined && e.status === 200))).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8,
    ]);
    expect(await sha256OfUrl(file.url)).toBe(source.sha256);
  });

  it('a completed upload whose state was never cleared is recognised: no byte is sent again', async () => {
    const stateFile = join(dir, 'state-3', 'uploads.json');
    const { client, resumeStore } = newRun(stateFile);
    const fingerprint = `${source.path}|3`;
    const key = `dropgate1|${s.endpoint}||${fingerprint}|${SIZE}`;
    const u = client.createUpload(await openAsBlob(source.path, { type: 'video/mp4' }), { fingerprint }).start();
    const saved = new Promise<void>((resolve) => {
      const poll = setInterval(async () => {
        if (await resumeStore.get(key)) resolve(clearInterval(poll));
      }, 5);
    });
    await saved;
    const snapshot = await resumeStore.get(key);
    const file = await u.done;
    await resumeStore.set(key, snapshot!); // as if the process died between complete and forgetting
    const from = s.proxy.log.length;
    const again = await newRun(stateFile).client.upload(await openAsBlob(source.path, { type: 'video/mp4' }), { fingerprint });
    expect(again).toMatchObject({ id: file.id, size: SIZE });
    expect(s.proxy.log.slice(from).map((e) => `${e.method} ${e.partNumber ?? e.path.replace(/[0-9a-f-]{36}/, ':id')}`)).toEqual([
      'GET /api/upload/:id',
    ]);
  });

  it('pause() and resume() on one uploader: in-flight parts are sent again, progress never goes back', async () => {
    const reports: number[] = [];
    let paused = false;
    const from = s.proxy.log.length;
    const { client } = newRun(join(dir, 'state-4', 'uploads.json'));
    const u: Uploader = client.createUpload(await openAsBlob(source.path, { type: 'video/mp4' }), {
      progressIntervalMs: 0,
      onProgress: (p) => {
        reports.push(p.progress);
        if (!paused && p.progress > 0.3) {
          paused = true;
          u.pause();
          expect(u.state).toBe('paused');
          setTimeout(() => u.resume(), 300);
        }
      },
    });
    const file = await u.start().done;
    expect(paused).toBe(true);
    expect(u.state).toBe('completed');
    expect(reports).toEqual([...reports].sort((a, b) => a - b));
    expect(reports.filter((p) => p === 1)).toHaveLength(1);
    expect(await sha256OfUrl(file.url)).toBe(source.sha256);
    const puts = s.proxy.log.slice(from).filter((e) => e.partNumber !== undefined);
    expect(puts.some((p) => p.status === 'cut')).toBe(true);
    expect(partNumbers(puts.filter((p) => p.status === 200))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('abort() of a multipart upload deletes it on the server, forgets its state and rejects with UPLOAD_ABORTED', async () => {
    const stateFile = join(dir, 'state-5', 'uploads.json');
    const { client, resumeStore } = newRun(stateFile);
    const fingerprint = `${source.path}|5`;
    const u: Uploader = client.createUpload(await openAsBlob(source.path, { type: 'video/mp4' }), {
      fingerprint,
      onProgress: (p) => p.progress > 0.2 && void u.abort(),
    });
    u.start();
    const error = await u.done.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UPLOAD_ABORTED' });
    expect(u.state).toBe('aborted');
    const status = (await (await fetch(`${s.endpoint}/${u.uploadId}`)).json()) as StatusResponse;
    expect(status.status).toBe('aborted');
    expect(await resumeStore.get(`dropgate1|${s.endpoint}||${fingerprint}|${SIZE}`)).toBeUndefined();
  });
});
