/**
 * The browser defaults of `dropgate/client` in Chromium: the IndexedDB resume store (round trip,
 * kept across a reload and a browser restart, old entries forgotten) and how the defaults degrade —
 * no usable IndexedDB means no resume, a CSP without `blob:` workers means MD5s on the main
 * thread, and in neither case a failed upload.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium as playwright } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResumeState } from '../src/client/index.js';
import { CHROMIUM_FLAGS, CHROMIUM_PATH, launchChromium, requireOrSkip } from './helpers/chromium.js';
import { countWorkers, gotoClientPage, openClientPage, resumeEntryCount, routeClientPage, workerStats } from './helpers/client-page.js';
import { type DevStack, startDevStack } from './helpers/dev-stack.js';

const chromium = requireOrSkip();
const DAY = 24 * 3600 * 1000;

const state = (uploadId: string, savedAt = new Date().toISOString()): ResumeState => ({
  uploadId,
  size: 40 * 1024 * 1024,
  partSize: 16 * 1024 * 1024,
  partCount: 3,
  savedAt,
});

/**
 * In the page: a 20 MiB MP4-headed file uploaded in parts (threshold 10 MiB) with the client's
 * defaults, except the options given; what the uploader said about resume along the way.
 */
const uploadInPage = async (extra: { resumeStore?: false }) => {
  const bytes = new Uint8Array(20 * 1024 * 1024 + 3);
  bytes.set([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d]);
  const file = new File([bytes], 'defaults.mp4', { type: 'video/mp4' });
  const { createClient } = window.dropgate;
  let resumableWhileSending: boolean | undefined;
  const u = createClient({ endpoint: '/api/upload', multipartThreshold: 10 * 1024 * 1024, ...extra }).createUpload(file, {
    onProgress: (p) => {
      if (p.loadedBytes > 0 && p.progress < 1) resumableWhileSending ??= u.resumable;
    },
  });
  u.start();
  try {
    const record = await u.done;
    return { ok: true as const, id: record.id, size: record.size, resumableWhileSending };
  } catch (error) {
    return { ok: false as const, error: String(error), resumableWhileSending };
  }
};

describe.skipIf(!chromium.available)('the IndexedDB resume store in Chromium', () => {
  let stack: DevStack;
  let browser: Browser;

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startDevStack(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('round-trips an entry, keeps it across a reload, and deletes it', async () => {
    const page = await openClientPage(browser, stack.url);
    const saved = state('up-1');
    await page.evaluate(async (s) => {
      const store = window.dropgate.createIndexedDbResumeStore({ name: 'rt' });
      await store.set('fp-1', s);
      await store.set('fp-2', { ...s, uploadId: 'up-2' });
    }, saved);
    await gotoClientPage(page, stack.url);
    const after = await page.evaluate(async () => {
      const store = window.dropgate.createIndexedDbResumeStore({ name: 'rt' });
      const read = [await store.get('fp-1'), await store.get('fp-2'), await store.get('fp-none')];
      await store.delete('fp-1');
      await store.delete('fp-none');
      return { read, gone: await store.get('fp-1'), kept: await store.get('fp-2') };
    });
    expect(after.read).toEqual([saved, { ...saved, uploadId: 'up-2' }, undefined]);
    expect(after.gone).toBeUndefined();
    expect(after.kept?.uploadId).toBe('up-2');
    await page.close();
  });

  it('forgets entries past maxAgeMs on read, and sweeps them whenever an entry is written', async () => {
    const page = await openClientPage(browser, stack.url);
    const old = new Date(Date.now() - 8 * DAY).toISOString();
    const result = await page.evaluate(
      async ({ fresh, stale }) => {
        const { createIndexedDbResumeStore } = window.dropgate;
        const store = createIndexedDbResumeStore({ name: 'ttl' });
        await store.set('old-a', stale);
        await store.set('old-b', stale); // sweeps old-a
        const keys = () =>
          new Promise<IDBValidKey[]>((resolve, reject) => {
            const open = indexedDB.open('ttl');
            open.onerror = () => reject(open.error);
            open.onsuccess = () => {
              const req = open.result.transaction('uploads').objectStore('uploads').getAllKeys();
              req.onsuccess = () => {
                open.result.close();
                resolve(req.result);
              };
            };
          });
        const afterOldWrites = await keys();
        const readOld = await store.get('old-b'); // expired: undefined, and deleted
        const afterRead = await keys();
        await store.set('new', fresh);
        // A shorter maxAgeMs, for apps whose server forgets uploads sooner.
        const strict = createIndexedDbResumeStore({ name: 'ttl', maxAgeMs: 1000 });
        const secondOld = { ...fresh, savedAt: new Date(Date.now() - 5000).toISOString() };
        await strict.set('recent-but-not-for-strict', secondOld);
        return { afterOldWrites, readOld, afterRead, fresh: await store.get('new'), strict: await strict.get('recent-but-not-for-strict') };
      },
      { fresh: state('fresh'), stale: state('stale', old) },
    );
    expect(result.afterOldWrites).toEqual(['old-b']);
    expect(result.readOld).toBeUndefined();
    expect(result.afterRead).toEqual([]);
    expect(result.fresh?.uploadId).toBe('fresh');
    expect(result.strict).toBeUndefined();
    await page.close();
  });

  it('keeps entries across a browser restart (same profile)', async () => {
    const profile = await mkdtemp(join(tmpdir(), 'dropgate-chromium-profile-'));
    const launch = () =>
      playwright.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_FLAGS] });
    try {
      let context = await launch();
      let page = context.pages()[0] ?? (await context.newPage());
      await routeClientPage(page, stack.url);
      await page.evaluate((s) => window.dropgate.createIndexedDbResumeStore().set('restart', s), state('up-restart'));
      await context.close();

      context = await launch();
      page = context.pages()[0] ?? (await context.newPage());
      await routeClientPage(page, stack.url);
      const read = await page.evaluate(() => window.dropgate.createIndexedDbResumeStore().get('restart'));
      expect(read?.uploadId).toBe('up-restart');
      await context.close();
    } finally {
      await rm(profile, { recursive: true, force: true });
    }
  });

  it('is the default store: the upload is resumable while it is sent, and `resumeStore: false` opts out', async () => {
    const page = await openClientPage(browser, stack.url);
    const byDefault = await page.evaluate(uploadInPage, {});
    expect(byDefault).toMatchObject({ ok: true, resumableWhileSending: true });
    const optedOut = await page.evaluate(uploadInPage, { resumeStore: false as const });
    expect(optedOut).toMatchObject({ ok: true, resumableWhileSending: false });
    // Completed uploads leave nothing behind in the default database.
    const left = await resumeEntryCount(page);
    expect(left).toBe(0);
    await page.close();
  });
});

describe.skipIf(!chromium.available)('browser defaults degrade, never fail the upload', () => {
  let stack: DevStack;
  let browser: Browser;

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startDevStack(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  /** Ways IndexedDB is unusable in the wild, each installed before any page script runs. */
  const breakages: { name: string; install: () => void }[] = [
    {
      name: 'reading indexedDB throws (a sandboxed frame)',
      install: () =>
        Object.defineProperty(window, 'indexedDB', {
          get() {
            throw new DOMException('access denied', 'SecurityError');
          },
        }),
    },
    {
      name: 'open() fails (a private window that refuses storage)',
      install: () => {
        IDBFactory.prototype.open = () => {
          const request = {} as IDBOpenDBRequest;
          setTimeout(() => request.onerror?.(new Event('error')));
          Object.defineProperty(request, 'error', { value: new DOMException('refused', 'InvalidStateError') });
          return request;
        };
      },
    },
    {
      name: 'open() never answers',
      install: () => {
        IDBFactory.prototype.open = () => ({}) as IDBOpenDBRequest;
      },
    },
  ];

  for (const { name, install } of breakages) {
    it(`uploads without resume when ${name}`, async () => {
      const page = await browser.newPage();
      await page.addInitScript(install);
      await routeClientPage(page, stack.url);
      const direct = await page.evaluate(async () => {
        const started = performance.now();
        const error = await Promise.resolve()
          .then(() => window.dropgate.createIndexedDbResumeStore({ openTimeoutMs: 500 }).get('x'))
          .then(
            () => undefined,
            (e: unknown) => String(e),
          );
        return { error, ms: performance.now() - started };
      });
      expect(direct.error).toBeDefined();
      expect(direct.ms).toBeLessThan(2000);
      const result = await page.evaluate(uploadInPage, {});
      expect(result).toMatchObject({ ok: true, size: 20 * 1024 * 1024 + 3, resumableWhileSending: false });
      await page.close();
    });
  }

  /** An upload from a page served with `csp`; what its workers did, and the CSP reports it logged. */
  async function uploadUnderCsp(csp: string) {
    const page = await browser.newPage();
    await countWorkers(page);
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    await routeClientPage(page, stack.url, { headers: { 'content-security-policy': csp } });
    const result = await page.evaluate(uploadInPage, {});
    const workers = await workerStats(page);
    await page.close();
    return { result, workers, violations };
  }

  it('hashes on the main thread when a CSP forbids blob: workers, and the storage still gets checked MD5s', async () => {
    const { result, workers, violations } = await uploadUnderCsp("default-src 'self'; script-src 'unsafe-inline'; worker-src 'none'");
    expect(result).toMatchObject({ ok: true, size: 20 * 1024 * 1024 + 3 });
    expect(workers.md5s).toBe(0);
    expect(violations.length).toBeGreaterThan(0);
    if (!result.ok) return;
    const md5s = await stack.stack.ledger.partChecksums(result.id);
    expect(md5s.map((p) => p.partNumber)).toEqual([1, 2]);
    for (const { md5 } of md5s) expect(md5).toMatch(/^[A-Za-z0-9+/]{22}==$/);
  });

  it('hashes with the JS MD5 in a worker when a CSP allows blob: workers but not WebAssembly', async () => {
    // No 'wasm-unsafe-eval': the SIMD kernel may not compile, on the page or in its workers.
    const { result, workers } = await uploadUnderCsp("default-src 'self'; script-src 'unsafe-inline'; worker-src blob:");
    expect(result).toMatchObject({ ok: true, size: 20 * 1024 * 1024 + 3 });
    expect(workers.md5s).toBe(2);
    expect(workers.laneMd5s).toBe(0);
    if (!result.ok) return;
    expect((await stack.stack.ledger.partChecksums(result.id)).map((p) => p.partNumber)).toEqual([1, 2]);
  });
});
