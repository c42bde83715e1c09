/**
 * A 300 MB file from disk, picked in Chromium and uploaded with the client's browser defaults
 * against the real `dropgate dev` (disk store, and Ceph RGW when it runs): multipart with parts in
 * parallel, every part's MD5 computed in a Web Worker, and the stored object's SHA-256 equal to
 * the source's. The file reaches the page through `setInputFiles` (a path, never bytes through
 * the test's own channel), as a user's pick would.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileRecord } from '../src/shared/protocol.js';
import { devStacks } from './helpers/browser-stacks.js';
import { launchChromium, requireOrSkip } from './helpers/chromium.js';
import { CLIENT_PAGE_CHROMIUM_ARGS, countWorkers, routeClientPage, workerStats } from './helpers/client-page.js';
import type { DevProcess } from './helpers/dev-process.js';
import { trackPartPuts } from './helpers/part-puts.js';
import { sha256OfUrl } from './helpers/proxied-stack.js';
import { requireRgw } from './helpers/rgw.js';

const SIZE = 300_000_123;
const PART = 16 * 1024 * 1024;
const PARTS = Math.ceil(SIZE / PART); // 18
const chromium = requireOrSkip();
const rgw = chromium.available ? await requireRgw() : undefined;

/** Writes `size` random bytes behind an MP4 head (the server checks magic bytes), returning the SHA-256. */
async function writeBigMp4(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  const head = Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex');
  for (let written = 0; written < size; ) {
    const chunk = written === 0 ? Buffer.concat([head, randomBytes(4 * 1024 * 1024 - head.length)]) : randomBytes(4 * 1024 * 1024);
    const piece = chunk.subarray(0, Math.min(chunk.length, size - written));
    hash.update(piece);
    written += piece.length;
    if (!out.write(piece)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return hash.digest('hex');
}

declare global {
  interface Window {
    bigUpload?: Promise<{ ok: true; record: FileRecord; maxTickGapMs: number } | { ok: false; error: string }>;
  }
}

describe.skipIf(!chromium.available)('a 300 MB file in Chromium', () => {
  let workDir: string;
  let path: string;
  let sha256: string;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'dropgate-browser-300mb-'));
    path = join(workDir, 'big-300mb.mp4');
    sha256 = await writeBigMp4(path, SIZE);
  });
  afterAll(async () => {
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  describe.each(devStacks(rgw, { DROPGATE_MAX_SIZE: '1GB' }))('against `dropgate dev` on the $store store', ({ start }) => {
    let dev: DevProcess;
    let browser: Browser;

    beforeAll(async () => {
      [dev, browser] = await Promise.all([start(), launchChromium({ args: CLIENT_PAGE_CHROMIUM_ARGS })]);
    });
    afterAll(async () => {
      await browser?.close();
      await dev?.stop();
    });

    it('uploads in parallel parts hashed twelve at a time in a worker; the stored SHA-256 equals the source', async () => {
      const page = await browser.newPage();
      await countWorkers(page);
      const puts = trackPartPuts(page);
      await routeClientPage(page, dev.url);
      await page.evaluate(() => {
        const picker = document.querySelector<HTMLInputElement>('#picker');
        if (!picker) throw new Error('no #picker');
        window.bigUpload = new Promise((resolve) => {
          picker.onchange = () => {
            const file = picker.files?.[0];
            if (!file) return;
            // How late a 50 ms timer fires while the upload runs: printed, not asserted (noisy).
            let last = performance.now();
            let maxTickGapMs = 0;
            const ticker = setInterval(() => {
              const now = performance.now();
              maxTickGapMs = Math.max(maxTickGapMs, now - last);
              last = now;
            }, 50);
            // Every default: threshold 100 MiB, 4 parts in flight, worker MD5s, IndexedDB resume.
            window.dropgate
              .createClient({ endpoint: '/api/upload' })
              .upload(file)
              .then(
                (record) => resolve({ ok: true, record, maxTickGapMs }),
                (error: unknown) => resolve({ ok: false, error: String(error) }),
              )
              .finally(() => clearInterval(ticker));
          };
        });
      });
      const started = Date.now();
      await page.locator('#picker').setInputFiles(path);
      const outcome = await page.evaluate(() => window.bigUpload);
      const elapsed = Date.now() - started;
      await puts.settled();
      const workers = await workerStats(page);
      await page.close();

      expect(outcome?.ok, JSON.stringify(outcome)).toBe(true);
      if (!outcome?.ok) return;
      const sent = puts.all();
      console.info(
        `300 MB in Chromium: ${elapsed} ms, ${sent.length} PUTs, at most ${puts.maxInFlight()} in flight, ` +
          `${workers.created} worker(s), main-thread timer late by at most ${Math.round(outcome.maxTickGapMs)} ms`,
      );
      expect(outcome.record.size).toBe(SIZE);
      // Multipart, every part once, several at a time.
      expect(sent.map((p) => p.partNumber).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(Array.from({ length: PARTS }, (_, i) => i + 1));
      expect(sent.every((p) => p.outcome === 'done')).toBe(true);
      expect(puts.maxInFlight()).toBeGreaterThan(1);
      // Each part's MD5 came from the worker's SIMD MD5 (Chromium has WebAssembly SIMD), one
      // worker for all; the storage verified each against its bytes.
      expect(workers.created).toBe(1);
      expect(workers.md5s).toBe(PARTS);
      expect(workers.laneMd5s).toBe(PARTS);
      expect(await sha256OfUrl(new URL(outcome.record.url, dev.url).href)).toBe(sha256);
    }, 300_000);
  });
});
