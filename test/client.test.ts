/**
 * `dropgate/client` against the real gateway (`dropgate dev`'s stack: disk store + PGlite on a
 * loopback port): Node's streamed fetch PUT here, the browser's XHR PUT in Chromium below.
 */
import { createHash, randomBytes } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FetchLike, isDropgateError, type UploadProgress, upload } from '../src/client/index.js';
import type { FileListResponse, SignResponse, StatusResponse } from '../src/shared/protocol.js';
import { MiB } from '../src/shared/sizes.js';
import { launchChromium, requireOrSkip, throttleUploads } from './helpers/chromium.js';
import { clientBundle } from './helpers/client-page.js';
import { type DevStack, startDevStack } from './helpers/dev-stack.js';

let stack: DevStack;
let dir: string;

beforeAll(async () => {
  stack = await startDevStack({ routes: { default: { visibility: 'public' }, small: { visibility: 'public', maxSize: '1MiB' } } });
  dir = await mkdtemp(join(tmpdir(), 'dropgate-client-'));
});

afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** An MP4 `ftyp` box then random bytes: passes the magic-byte check at completion. */
function mp4Bytes(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  bytes.set(randomBytes(size));
  bytes.set([0, 0, 0, 0x18, ...Buffer.from('ftypisom'), 0, 0, 2, 0, ...Buffer.from('isomiso2')]);
  return bytes;
}

async function mp4File(name: string, size: number) {
  const bytes = mp4Bytes(size);
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { path, bytes, sha256: sha256(bytes) };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function allowance() {
  const response = await fetch(stack.endpoint);
  expect(response.status).toBe(200);
  return ((await response.json()) as FileListResponse).allowance;
}

/** The real fetch, remembering the sign answer so tests can look the upload up afterwards. */
function recordingFetch() {
  const signs: SignResponse[] = [];
  const fetchImpl: FetchLike = async (url, init) => {
    const response = await fetch(url, init);
    if (init?.method === 'POST' && url === stack.endpoint && response.ok) signs.push((await response.clone().json()) as SignResponse);
    return response;
  };
  return { fetchImpl, signs };
}

/** A Blob that hands out its bytes in small, slow chunks, like a slow uplink. */
class SlowBlob extends Blob {
  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    const reader = super.stream().getReader();
    return new ReadableStream({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        for (let at = 0; at < value.length; at += 16 * 1024) {
          await new Promise((resolve) => setTimeout(resolve, 2));
          controller.enqueue(value.slice(at, at + 16 * 1024));
        }
      },
      cancel: (reason) => reader.cancel(reason),
    });
  }
}

describe('upload() from Node', () => {
  it('streams a file-backed Blob to the storage and returns the verified file', async () => {
    const { path, sha256: expected } = await mp4File('clip.mp4', 3 * MiB + 123);
    const blob = await openAsBlob(path, { type: 'video/mp4' });
    const reports: UploadProgress[] = [];
    const onProgress = (p: UploadProgress) => reports.push(p);
    const file = await upload(blob, { endpoint: stack.endpoint, name: 'clip.mp4', onProgress, progressIntervalMs: 0 });

    expect(file).toMatchObject({ size: blob.size, contentType: 'video/mp4' });
    expect(file.key).toMatch(/^default\/[0-9a-f-]{36}\.mp4$/);
    const read = await fetch(file.url);
    expect(read.status).toBe(200);
    expect(sha256(new Uint8Array(await read.arrayBuffer()))).toBe(expected);

    expect(reports.length).toBeGreaterThan(40); // every 64 KiB chunk read from disk, with no throttle
    const progress = reports.map((r) => r.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.filter((p) => p === 1)).toHaveLength(1);
    expect(reports.at(-1)).toMatchObject({ progress: 1, loadedBytes: blob.size, totalBytes: blob.size, etaSeconds: 0 });
    expect(reports.slice(0, -1).every((r) => r.progress < 1)).toBe(true);

    expect(await allowance()).toMatchObject({ reservedBytes: 0, usedBytes: blob.size });
  });

  it('rebuilds FILE_TOO_LARGE from the server, at the seed’s 200 MiB limit, before any byte is sent', async () => {
    const path = join(dir, 'huge.mp4');
    await writeFile(path, mp4Bytes(64));
    await truncate(path, 200 * MiB + 1); // sparse: nothing near 200 MiB is written or read
    const blob = await openAsBlob(path, { type: 'video/mp4' });
    const error = await upload(blob, { endpoint: stack.endpoint, name: 'huge.mp4' }).catch((e: unknown) => e);
    expect(isDropgateError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'FILE_TOO_LARGE', status: 413, details: { maxBytes: 200 * MiB, size: 200 * MiB + 1 } });
    expect(await allowance()).toMatchObject({ reservedBytes: 0 });
  });

  it('honours the route it is given', async () => {
    const blob = new Blob([mp4Bytes(MiB + 1)], { type: 'video/mp4' });
    await expect(upload(blob, { endpoint: stack.endpoint, route: 'small' })).rejects.toMatchObject({
      code: 'FILE_TOO_LARGE',
      details: { maxBytes: MiB },
    });
  });

  it('rebuilds FILE_TYPE_NOT_ALLOWED for a type the route refuses', async () => {
    const page = new Blob(['<!doctype html><script>alert(1)</script>'], { type: 'text/html' });
    await expect(upload(page, { endpoint: stack.endpoint, name: 'page.html' })).rejects.toMatchObject({
      name: 'DropgateError',
      code: 'FILE_TYPE_NOT_ALLOWED',
      status: 415,
    });
    const untyped = new Blob([mp4Bytes(100)]);
    await expect(upload(untyped, { endpoint: stack.endpoint })).rejects.toMatchObject({ code: 'FILE_TYPE_NOT_ALLOWED' });
  });

  it('signs the checksum in: the right one lands, a wrong one is refused by the storage and released', async () => {
    const bytes = mp4Bytes(256 * 1024);
    const blob = new Blob([bytes], { type: 'video/mp4' });
    const digest = (data: Uint8Array) => createHash('sha256').update(data).digest('base64');
    const file = await upload(blob, { endpoint: stack.endpoint, checksum: { algorithm: 'sha256', value: digest(bytes) } });
    expect(file.size).toBe(bytes.length);

    const error = await upload(blob, { endpoint: stack.endpoint, checksum: { algorithm: 'sha256', value: digest(mp4Bytes(64)) } }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: 'DropgateError', code: 'UPLOAD_INTEGRITY_FAILED' });
    expect(await allowance()).toMatchObject({ reservedBytes: 0 });
  });

  it('on abort mid-upload stops the PUT, releases the reservation and rejects with UPLOAD_ABORTED', async () => {
    const blob = new SlowBlob([mp4Bytes(4 * MiB)], { type: 'video/mp4' });
    const controller = new AbortController();
    const { fetchImpl, signs } = recordingFetch();
    let abortedAt: UploadProgress | undefined;
    const error = await upload(blob, {
      endpoint: stack.endpoint,
      fetch: fetchImpl,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.loadedBytes > 256 * 1024 && !abortedAt) {
          abortedAt = p;
          controller.abort();
        }
      },
    }).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'UPLOAD_ABORTED' });
    expect(abortedAt?.loadedBytes).toBeLessThan(blob.size);
    const [sign] = signs;
    expect(sign).toBeDefined();
    const status = (await (await fetch(`${stack.endpoint}/${sign?.uploadId}`)).json()) as StatusResponse;
    expect(status.status).toBe('aborted');
    expect(await allowance()).toMatchObject({ reservedBytes: 0 });
  });

  it('rejects at once, without signing, when the signal has already fired', async () => {
    const { fetchImpl, signs } = recordingFetch();
    const before = await allowance();
    await expect(
      upload(new Blob([mp4Bytes(100)], { type: 'video/mp4' }), { endpoint: stack.endpoint, fetch: fetchImpl, signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: 'UPLOAD_ABORTED' });
    expect(signs).toHaveLength(0);
    expect(await allowance()).toEqual(before);
  });

  it('reports an unreachable API as NETWORK_ERROR', async () => {
    await expect(
      upload(new Blob([mp4Bytes(100)], { type: 'video/mp4' }), { endpoint: 'http://127.0.0.1:9/api/upload' }),
    ).rejects.toMatchObject({
      code: 'NETWORK_ERROR',
    });
  });
});

const chromium = requireOrSkip();

describe.skipIf(!chromium.available)('upload() in Chromium (XMLHttpRequest PUT)', () => {
  let browser: Browser;
  let bundle: string;

  beforeAll(async () => {
    bundle = await clientBundle();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  /** A page on the gateway's own origin that exposes the bundled client as `window.dropgate`. */
  async function openPage() {
    const page = await browser.newPage();
    const html = `<!doctype html><meta charset="utf-8"><script>${bundle}; document.title = 'ready';</script>`;
    await page.route(`${stack.url}/__client-test`, (route) => route.fulfill({ contentType: 'text/html', body: html }));
    await page.goto(`${stack.url}/__client-test`);
    await page.waitForFunction(() => document.title === 'ready');
    return page;
  }

  it('uploads a File with XHR progress to 1 and the server gets the exact bytes', async () => {
    const page = await openPage();
    const bytes = mp4Bytes(2 * MiB + 7);
    const result = await page.evaluate(
      async ({ data, endpoint }) => {
        const file = new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], 'holiday.mp4', { type: 'video/mp4' });
        const reports: { progress: number; loadedBytes: number }[] = [];
        const { upload } = (window as unknown as { dropgate: typeof import('../src/client/index.js') }).dropgate;
        const record = await upload(file, { endpoint, onProgress: ({ progress, loadedBytes }) => reports.push({ progress, loadedBytes }) });
        return { record, reports };
      },
      { data: Buffer.from(bytes).toString('base64'), endpoint: '/api/upload' },
    );
    await page.close();

    expect(result.record).toMatchObject({ size: bytes.length, contentType: 'video/mp4', name: 'holiday.mp4' });
    const read = await fetch(result.record.url);
    expect(sha256(new Uint8Array(await read.arrayBuffer()))).toBe(sha256(bytes));
    const progress = result.reports.map((r) => r.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(result.reports.at(-1)).toEqual({ progress: 1, loadedBytes: bytes.length });
  });

  it('aborts the XHR mid-upload and releases the reservation', async () => {
    const page = await openPage();
    // Chromium's own throttling (1 MiB/s up), so the abort lands while bytes are still flowing.
    await throttleUploads(page, MiB);
    const result = await page.evaluate(
      async ({ size, endpoint }) => {
        const head = [0, 0, 0, 0x18, ...Array.from('ftypisom', (c) => c.charCodeAt(0))];
        const bytes = new Uint8Array(size);
        bytes.set(head);
        const { upload } = (window as unknown as { dropgate: typeof import('../src/client/index.js') }).dropgate;
        const controller = new AbortController();
        let abortedAt = -1;
        const outcome = await upload(new File([bytes], 'big.mp4', { type: 'video/mp4' }), {
          endpoint,
          signal: controller.signal,
          onProgress: ({ loadedBytes }) => {
            if (loadedBytes > 0 && abortedAt < 0) {
              abortedAt = loadedBytes;
              controller.abort();
            }
          },
        }).then(
          () => 'completed',
          (e: { code: string }) => e.code,
        );
        return { outcome, abortedAt };
      },
      { size: 8 * MiB, endpoint: '/api/upload' },
    );
    await page.close();
    expect(result.outcome).toBe('UPLOAD_ABORTED');
    expect(result.abortedAt).toBeGreaterThan(0);
    expect(result.abortedAt).toBeLessThan(8 * MiB);
    expect(await allowance()).toMatchObject({ reservedBytes: 0 });
  });

  it('maps a server refusal to the same typed error in the browser', async () => {
    const page = await openPage();
    const error = await page.evaluate(async (endpoint) => {
      const { upload } = (window as unknown as { dropgate: typeof import('../src/client/index.js') }).dropgate;
      const file = new File(['<svg xmlns="http://www.w3.org/2000/svg"/>'], 'logo.svg', { type: 'image/svg+xml' });
      return upload(file, { endpoint }).then(
        () => null,
        (e: { name: string; code: string; status: number }) => ({ name: e.name, code: e.code, status: e.status }),
      );
    }, '/api/upload');
    await page.close();
    expect(error).toEqual({ name: 'DropgateError', code: 'FILE_TYPE_NOT_ALLOWED', status: 415 });
  });
});
