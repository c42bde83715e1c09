/**
 * The multipart client in Chromium, bundled for the browser as users bundle it: parts go up with
 * XMLHttpRequest, each with a Content-MD5 from the pure-JS MD5 run in a Web Worker (no node:crypto
 * in a browser), ETags read from the answers, and the stored bytes equal the source.
 */
import { createHash } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileRecord } from '../src/shared/protocol.js';
import { MiB } from '../src/shared/sizes.js';
import { launchChromium, requireOrSkip } from './helpers/chromium.js';
import { countWorkers, routeClientPage, workerStats } from './helpers/client-page.js';
import { type DevStack, startDevStack } from './helpers/dev-stack.js';
import { mp4Bytes, sha256OfUrl } from './helpers/proxied-stack.js';

const chromium = requireOrSkip();

describe.skipIf(!chromium.available)('multipart in Chromium', () => {
  let stack: DevStack;
  let browser: Browser;

  beforeAll(async () => {
    stack = await startDevStack();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('sends parts in parallel with XHR and JS MD5s from a worker; the stored bytes and the signed MD5s match the source', async () => {
    const bytes = mp4Bytes(40 * MiB + 9); // 3 parts of 16 MiB
    const page = await browser.newPage();
    await countWorkers(page);
    await page.route(`${stack.url}/__bytes`, (route) => route.fulfill({ contentType: 'video/mp4', body: bytes }));
    await routeClientPage(page, stack.url);
    const started = performance.now();
    const result = await page.evaluate(async (endpoint) => {
      const data = await (await fetch('/__bytes')).blob();
      const file = new File([data], 'long.mp4', { type: 'video/mp4' });
      const { createClient } = window.dropgate;
      const progress: number[] = [];
      const u = createClient({ endpoint, multipartThreshold: 10 * 1024 * 1024, concurrency: 3 })
        .createUpload(file, { onProgress: (p) => progress.push(p.progress) })
        .start();
      const record = await u.done;
      return { record, progress, isXhr: typeof XMLHttpRequest === 'function' };
    }, '/api/upload');
    const elapsed = performance.now() - started;
    const workers = await workerStats(page);
    await page.close();

    const record: FileRecord = result.record;
    expect(result.isXhr).toBe(true);
    expect(record).toMatchObject({ size: bytes.length, name: 'long.mp4' });
    expect(await sha256OfUrl(record.url)).toBe(createHash('sha256').update(bytes).digest('hex'));
    const md5 = (from: number, to: number) => createHash('md5').update(bytes.subarray(from, to)).digest('base64');
    expect(await stack.stack.ledger.partChecksums(record.id)).toEqual([
      { partNumber: 1, md5: md5(0, 16 * MiB) },
      { partNumber: 2, md5: md5(16 * MiB, 32 * MiB) },
      { partNumber: 3, md5: md5(32 * MiB, bytes.length) },
    ]);
    // Every part's MD5 came from a worker, not the main thread.
    expect(workers.created).toBeGreaterThanOrEqual(1);
    expect(workers.md5s).toBe(3);
    expect(result.progress).toEqual([...result.progress].sort((a, b) => a - b));
    expect(result.progress.at(-1)).toBe(1);
    console.info(`browser multipart: 40 MiB in ${Math.round(elapsed)} ms`);
  });
});
