/**
 * A blank test page with `dropgate/client` on it, for browser suites that drive the client
 * directly rather than through the demo. The client is bundled from `src/client/index.ts` by
 * esbuild as users bundle it (browser platform, minified like the demo's bundle, so the Web
 * Worker hasher's copied source is tested as shipped) and exposed as `window.dropgate`. The page is
 * served through `page.route` on the server's own origin, so the API is same-origin and a reload
 * serves it again. Bytes never go through `page.route`: files are picked with `setInputFiles`.
 *
 * @example
 * const page = await openClientPage(browser, stack.url);
 * await page.locator('#picker').setInputFiles(path);
 * const record = await page.evaluate(() => window.dropgate.upload(picker.files[0], { endpoint: '/api/upload' }));
 */
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import type { UploadOptions } from '../../src/client/types.js';
import type { FileRecord } from '../../src/shared/protocol.js';

declare global {
  interface Window {
    dropgate: typeof import('../../src/client/index.js');
  }
}

export const CLIENT_PAGE_PATH = '/__client-page';

/**
 * Chromium flags for suites whose page PUTs to a bucket on 127.0.0.1 (RGW). A page fulfilled by
 * `page.route` has no address of its own, so Chromium's Local Network Access counts it as public
 * and refuses its requests to loopback ("Permission was denied for this request to access the
 * `loopback` address space"), which no page served from a real host sees: a public app talks to a
 * public bucket, and the demo on localhost to a bucket on loopback.
 */
export const CLIENT_PAGE_CHROMIUM_ARGS = ['--disable-features=LocalNetworkAccessChecks'] as const;

let bundled: Promise<string> | undefined;

/** The client as an IIFE that sets `window.dropgate`; built once per test file. */
export function clientBundle(): Promise<string> {
  bundled ??= build({
    entryPoints: ['src/client/index.ts'],
    bundle: true,
    format: 'iife',
    globalName: 'dropgate',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'error',
  }).then((result) => result.outputFiles[0]?.text ?? '');
  return bundled;
}

export interface ClientPageOptions {
  /** Response headers of the page, e.g. a Content-Security-Policy. */
  headers?: Record<string, string>;
}

/**
 * Serves the page at `{origin}{CLIENT_PAGE_PATH}` for this page (reloads included) and loads it.
 * The page has one `<input type=file id=picker>`.
 */
export async function routeClientPage(page: Page, origin: string, options: ClientPageOptions = {}): Promise<void> {
  const bundle = await clientBundle();
  const html = `<!doctype html><meta charset="utf-8"><title>loading</title><input type="file" id="picker"><script>${bundle}; document.title = 'ready';</script>`;
  await page.route(`${origin}${CLIENT_PAGE_PATH}`, (route) =>
    route.fulfill({ contentType: 'text/html', body: html, headers: { ...options.headers, 'content-type': 'text/html' } }),
  );
  await gotoClientPage(page, origin);
}

/** (Re)loads the client page and waits until `window.dropgate` is there. */
export async function gotoClientPage(page: Page, origin: string): Promise<void> {
  await page.goto(`${origin}${CLIENT_PAGE_PATH}`);
  await page.waitForFunction(() => document.title === 'ready');
}

/** A new page of `browser` with the client page loaded. */
export async function openClientPage(browser: Browser, origin: string, options: ClientPageOptions = {}): Promise<Page> {
  const page = await browser.newPage();
  await routeClientPage(page, origin, options);
  return page;
}

/**
 * Counts, from inside the page, the Web Workers the client starts and the part MD5s they send
 * back, by wrapping the `Worker` constructor before any page script runs. Read with
 * `page.evaluate(() => window.workerStats)`.
 */
export async function countWorkers(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const stats = { created: 0, posted: 0, md5s: 0, laneMd5s: 0, terminated: 0 };
    (window as unknown as { workerStats: typeof stats }).workerStats = stats;
    const Native = window.Worker;
    window.Worker = class extends Native {
      constructor(url: string | URL, options?: WorkerOptions) {
        super(url, options);
        stats.created += 1;
        this.addEventListener('message', (event: MessageEvent<{ md5?: unknown; lanes?: unknown }>) => {
          if (typeof event.data?.md5 === 'string') stats.md5s += 1;
          if (event.data?.lanes === true) stats.laneMd5s += 1;
        });
      }
      override postMessage(message: unknown, options?: unknown): void {
        stats.posted += 1;
        super.postMessage(message, options as StructuredSerializeOptions);
      }
      override terminate(): void {
        stats.terminated += 1;
        super.terminate();
      }
    };
  });
}

export interface WorkerStats {
  created: number;
  posted: number;
  md5s: number;
  /** Of those, the ones the SIMD MD5 computed (twelve parts at once). */
  laneMd5s: number;
  terminated: number;
}

export const workerStats = (page: Page): Promise<WorkerStats> =>
  page.evaluate(() => (window as unknown as { workerStats: WorkerStats }).workerStats);

/** How many uploads the page's default IndexedDB resume store (database `dropgate`) still holds. */
export const resumeEntryCount = (page: Page): Promise<number> =>
  page.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const open = indexedDB.open('dropgate');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const request = open.result.transaction('uploads').objectStore('uploads').count();
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        };
      }),
  );

/** The client options a test may set from outside the page (plain data). */
export type PickedUploadOptions = Pick<UploadOptions, 'multipartThreshold' | 'concurrency' | 'retryDelays' | 'stallTimeoutMs'>;

export type PickedUpload = { ok: true; record: FileRecord } | { ok: false; error: string };

/**
 * Picks the file at `path` on the client page and uploads it with `createClient({ endpoint:
 * '/api/upload', ...options })` — every other setting the browser default — resolving to how it ended.
 */
export async function uploadPicked(page: Page, path: string, options: PickedUploadOptions = {}): Promise<PickedUpload> {
  const outcome = page.evaluate(
    (clientOptions) =>
      new Promise<PickedUpload>((resolve) => {
        const picker = document.querySelector<HTMLInputElement>('#picker');
        if (!picker) throw new Error('no #picker');
        picker.onchange = () => {
          const file = picker.files?.[0];
          if (!file) return;
          window.dropgate
            .createClient({ endpoint: '/api/upload', ...clientOptions })
            .upload(file)
            .then(
              (record) => resolve({ ok: true, record }),
              (error: unknown) => resolve({ ok: false, error: String(error) }),
            );
        };
      }),
    options,
  );
  await page.waitForFunction(() => document.querySelector<HTMLInputElement>('#picker')?.onchange !== null);
  await page.locator('#picker').setInputFiles(path);
  return outcome;
}
