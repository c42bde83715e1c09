/**
 * The demo page and the seed's own client, in headless Chromium against the real CLI
 * (`node bin/dropgate.js dev`): on the disk store, and with `--storage s3` on Ceph RGW (bucket
 * CORS by `dropgate s3 cors --apply`; skipped locally without RGW, a failure in CI).
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium, requireOrSkip, throttleUploads } from './helpers/chromium.js';
import { type DevProcess, REPO_ROOT, startDevProcess } from './helpers/dev-process.js';
import { requireRgw } from './helpers/rgw.js';
import { startS3DevProcess } from './helpers/s3-dev-process.js';

const MiB = 1024 * 1024;
/** The dev default route's limit (DESIGN.md: the seed's 200 MB, in binary units). */
const MAX_SIZE = 200 * MiB;
/** A minimal ISO BMFF `ftyp` box: the server's magic-byte check at complete wants a real MP4 head. */
const MP4_HEAD = Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex');
/** A complete 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

interface PageEvent {
  type: 'progress' | 'done' | 'error';
  name: string;
  loadedBytes: number;
  totalBytes: number;
  progress: number;
  code?: string;
}

declare global {
  interface Window {
    /** Recorded by demo/app.tsx for tests and debugging. */
    dropgateEvents: PageEvent[];
    previewSeen?: Promise<{ src: string; finished: number; loadedBytes: number }>;
    __pwned?: number;
  }
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const chromium = requireOrSkip();
const rgw = chromium.available ? await requireRgw() : undefined;

/** The stores `dropgate dev` runs the demo on here. */
const STACKS: { store: string; start: () => Promise<DevProcess>; putsTo: (dev: DevProcess) => string }[] = [
  { store: 'disk', start: () => startDevProcess(), putsTo: (dev) => dev.url },
  ...(rgw ? [{ store: 's3 (Ceph RGW)', start: () => startS3DevProcess(rgw), putsTo: () => new URL(rgw.S3_ENDPOINT ?? '').origin }] : []),
];

describe.skipIf(!chromium.available).each(STACKS)('in Chromium, against `dropgate dev` on the $store store', ({ start, putsTo }) => {
  let dev: DevProcess;
  let browser: Browser;
  let workDir: string;
  let page: Page;
  let pageErrors: string[];
  /** Every URL the page sent a PUT to: the presigned URLs, which must never reach the logs. */
  let putUrls: string[];

  beforeAll(async () => {
    // The dev server serves dist/demo/app.js; bundle the demo app from the tree under test.
    execFileSync(process.execPath, ['scripts/build-demo.js'], { cwd: REPO_ROOT, stdio: 'pipe' });
    workDir = await mkdtemp(join(tmpdir(), 'dropgate-browser-'));
    [dev, browser] = await Promise.all([start(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await dev?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  beforeEach(async (context) => {
    const logStart = dev.output().length;
    context.onTestFailed(() =>
      console.error(`--- dropgate dev output during the failed test ---\n${dev.output().slice(logStart).slice(-4000)}`),
    );
    page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    page.setDefaultTimeout(15_000);
    pageErrors = [];
    putUrls = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('request', (request) => {
      if (request.method() === 'PUT') putUrls.push(request.url());
    });
    const listed = page.waitForResponse((r) => r.request().method() === 'GET' && new URL(r.url()).pathname === '/api/upload');
    await page.goto(dev.url);
    expect((await listed).status()).toBe(200);
  });

  afterEach(async () => {
    await page?.close();
    expect(pageErrors).toEqual([]);
    // Presigned URLs are bearer secrets (DESIGN.md, security 14): not one may appear in the logs.
    const logs = dev.output();
    for (const url of putUrls) {
      const { pathname, search } = new URL(url);
      expect(logs).not.toContain(pathname);
      if (search) expect(logs).not.toContain(search.slice(1));
    }
  });

  const events = () => page.evaluate(() => window.dropgateEvents);
  const fileRow = (name: string) => page.locator('#files li', { has: page.locator('.file-name', { hasText: name }) });

  it('uploads a 50 MiB video with a preview at once, steady progress, the same bytes stored, and deletes it', async () => {
    const name = 'clip-50mib.mp4';
    const path = join(workDir, name);
    const bytes = Buffer.concat([MP4_HEAD, randomBytes(50 * MiB - MP4_HEAD.length)]);
    await writeFile(path, bytes);
    await throttleUploads(page, 24 * MiB);

    // Notes what the page had recorded when the preview element appeared.
    await page.evaluate(() => {
      window.previewSeen = new Promise((resolve) => {
        const observer = new MutationObserver(() => {
          const video = document.querySelector<HTMLVideoElement>('#uploads video');
          if (!video) return;
          observer.disconnect();
          const recorded = window.dropgateEvents;
          resolve({
            src: video.src,
            finished: recorded.filter((e) => e.type !== 'progress').length,
            loadedBytes: Math.max(0, ...recorded.map((e) => e.loadedBytes)),
          });
        });
        observer.observe(document.body, { childList: true, subtree: true });
      });
    });
    const started = Date.now();
    await page.locator('#picker').setInputFiles(path);
    const preview = await page.evaluate(() => window.previewSeen);
    expect(preview?.src).toMatch(/^blob:/);
    expect(preview?.finished).toBe(0);
    expect(preview?.loadedBytes).toBeLessThan(bytes.length);

    await page.waitForFunction(() => window.dropgateEvents.some((e) => e.type !== 'progress'), null, {
      timeout: 45_000,
    });
    const recorded = await events();
    expect(recorded.filter((e) => e.type === 'error')).toEqual([]);
    expect(recorded.at(-1)?.type).toBe('done');
    const progress = recorded.filter((e) => e.type === 'progress');
    expect(progress.length).toBeGreaterThanOrEqual(10);
    for (const [i, e] of progress.entries()) {
      expect(e.totalBytes).toBe(bytes.length);
      if (i > 0) {
        expect(e.loadedBytes).toBeGreaterThanOrEqual(progress[i - 1]!.loadedBytes);
        expect(e.progress).toBeGreaterThanOrEqual(progress[i - 1]!.progress);
      }
    }
    expect(progress.at(-1)?.loadedBytes).toBe(bytes.length);
    expect(progress.filter((e) => e.loadedBytes > 0 && e.loadedBytes < bytes.length).length).toBeGreaterThanOrEqual(5);
    expect(Date.now() - started).toBeLessThan(45_000);
    // One presigned PUT, which afterEach then looks for in the server's logs.
    expect(putUrls).toHaveLength(1);
    expect(new URL(putUrls[0] ?? '').origin).toBe(putsTo(dev));

    // The list refreshed with the file; its link serves exactly the bytes that were picked.
    const row = fileRow(name);
    await expect.poll(() => row.count()).toBe(1);
    await expect.poll(() => row.locator('.file-meta').textContent()).toContain('video/mp4');
    const href = await row.locator('a.file-name').getAttribute('href');
    expect(href).toBeTruthy();
    const link = new URL(href!, dev.url).href;
    const served = await fetch(link);
    expect(served.status).toBe(200);
    expect(sha256(new Uint8Array(await served.arrayBuffer()))).toBe(sha256(bytes));
    await expect.poll(() => page.locator('#allowance-text').textContent()).toMatch(/left/);

    await row.getByRole('button', { name: `Delete ${name}` }).click();
    await expect.poll(() => row.count()).toBe(0);
    expect((await fetch(link)).status).toBe(404);
  }, 60_000);

  it("keeps the seed's client working unchanged: text/plain JSON sign, XHR PUT that wants a 200, readUrl serves the bytes", async () => {
    const result = await page.evaluate(async (pngBase64) => {
      // ── From the seed document, as written (types removed) ──
      const uploadWithProgress = ({ file, url, onProgress }: { file: File; url: string; onProgress: (p: unknown) => void }) => {
        return new Promise<void>((resolve, reject) => {
          const xhr = new XMLHttpRequest();
          xhr.open('PUT', url);
          xhr.upload.onprogress = (event) => {
            if (event.lengthComputable) {
              onProgress({ progress: event.loaded / event.total, loadedBytes: event.loaded, totalBytes: event.total });
            }
          };
          xhr.onload = () => {
            if (xhr.status === 200) {
              resolve();
            } else {
              reject(new Error(`Upload failed with status: ${xhr.status}`));
            }
          };
          xhr.onerror = () => {
            reject(new Error('Network error occurred during upload'));
          };
          xhr.setRequestHeader('content-type', file.type);
          xhr.send(file);
        });
      };
      const file = new File([Uint8Array.from(atob(pngBase64), (c) => c.charCodeAt(0))], 'seed.png', { type: 'image/png' });
      const presignedResponse = await fetch('/api/upload', {
        method: 'POST',
        body: JSON.stringify({
          size: file.size,
          contentType: file.type,
        }),
      });
      const json = (await presignedResponse.json()) as { presignedUrl: string; readUrl: string };
      // ── End of the seed's code ──
      const signed = { status: presignedResponse.status, cacheControl: presignedResponse.headers.get('cache-control'), json };
      let uploadError: string | null = null;
      try {
        await uploadWithProgress({ file, url: json.presignedUrl, onProgress: () => {} });
      } catch (error) {
        uploadError = (error as Error).message;
      }
      const read = await fetch(json.readUrl);
      return { signed, uploadError, readStatus: read.status, readBytes: Array.from(new Uint8Array(await read.arrayBuffer())) };
    }, PNG.toString('base64'));

    expect(result.signed.status, JSON.stringify(result.signed.json)).toBe(200);
    expect(result.signed.cacheControl).toContain('no-store');
    expect(result.signed.json.presignedUrl).toEqual(expect.any(String));
    expect(result.signed.json.readUrl).toEqual(expect.any(String));
    expect(result.uploadError).toBeNull();
    expect(result.readStatus).toBe(200);
    expect(Buffer.from(result.readBytes).equals(PNG)).toBe(true);
  });

  it('shows a readable message, not a code, for a type that is not allowed', async () => {
    await page
      .locator('#picker')
      .setInputFiles({ name: 'setup.exe', mimeType: 'application/x-msdownload', buffer: Buffer.from('MZ\x90\x00') });
    const message = page.locator('#uploads .upload-message');
    await expect.poll(() => message.isVisible()).toBe(true);
    const text = (await message.textContent()) ?? '';
    expect(text).toContain("can't be uploaded here");
    expect(text).toContain('application/x-msdownload');
    expect(text).not.toMatch(/[A-Z]+_[A-Z_]+/);
    expect((await events()).at(-1)).toMatchObject({ type: 'error', code: 'FILE_TYPE_NOT_ALLOWED' });
  });

  it('tells max+1 bytes from the limit in the message, without reading the file', async () => {
    // Sparse: refused at sign, so its bytes are never read or sent.
    const path = join(workDir, 'one-byte-too-big.mp4');
    await writeFile(path, MP4_HEAD);
    await truncate(path, MAX_SIZE + 1);
    await page.locator('#picker').setInputFiles(path);
    const message = page.locator('#uploads .upload-message');
    await expect.poll(() => message.textContent()).toBe('This file is 209,715,201 bytes; the limit is 209,715,200 bytes.');
    expect(putUrls).toEqual([]);
    expect((await events()).at(-1)).toMatchObject({ type: 'error', code: 'FILE_TOO_LARGE' });
  });

  it('renders file names as text, never as HTML', async () => {
    const name = '<img src=x onerror="window.__pwned=1">.png';
    await page.locator('#picker').setInputFiles({ name, mimeType: 'image/png', buffer: PNG });
    const row = fileRow(name);
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.locator('.file-name').textContent()).toBe(name);
    expect(await page.locator('#files img, #uploads .upload-name img').count()).toBe(0);
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
    await row.getByRole('button', { name: `Delete ${name}` }).click();
    await expect.poll(() => row.count()).toBe(0);
  });

  it('cancels an upload with its button and gives the reservation back', async () => {
    const name = 'cancel-me.mp4';
    const reservedNow = () =>
      page.evaluate(async () => {
        const body = (await (await fetch('/api/upload')).json()) as { allowance: { reservedBytes: number } };
        return body.allowance.reservedBytes;
      });
    // Other tests' uploads share this user (the seed's is left pending by design), so compare.
    const reservedBefore = await reservedNow();
    await throttleUploads(page, 2 * MiB);
    await page.locator('#picker').setInputFiles({ name, mimeType: 'video/mp4', buffer: Buffer.concat([MP4_HEAD, randomBytes(8 * MiB)]) });
    await page.waitForFunction(() => window.dropgateEvents.some((e) => e.type === 'progress' && e.loadedBytes > 0));
    await page.getByRole('button', { name: `Cancel upload of ${name}` }).click();
    await expect.poll(async () => (await events()).at(-1)).toMatchObject({ type: 'error', code: 'UPLOAD_ABORTED' });
    expect(await page.locator('#uploads .upload-stats').first().textContent()).toMatch(/^Cancelled at/);
    expect(await page.locator('#uploads .upload-message').first().isVisible()).toBe(false);
    await expect.poll(reservedNow).toBe(reservedBefore);
    expect(await fileRow(name).count()).toBe(0);
  });
});
