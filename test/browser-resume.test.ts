/**
 * Resume after a page reload, in Chromium against the real `dropgate dev` (disk store, and Ceph
 * RGW when it runs): an upload in parts is cut by `page.reload()` while some parts have landed
 * and others are in flight; the same file picked again resumes through the client's defaults
 * (IndexedDB resume store, no option given) and sends only what the storage does not hold — of the
 * parts sent before the reload, at most those that were in flight — and the stored object is
 * byte-for-byte the file.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileRecord } from '../src/shared/protocol.js';
import { devStacks } from './helpers/browser-stacks.js';
import { launchChromium, requireOrSkip, throttleUploads } from './helpers/chromium.js';
import { CLIENT_PAGE_CHROMIUM_ARGS, resumeEntryCount, routeClientPage } from './helpers/client-page.js';
import type { DevProcess } from './helpers/dev-process.js';
import { trackPartPuts } from './helpers/part-puts.js';
import { sha256OfUrl, writeMp4 } from './helpers/proxied-stack.js';
import { requireRgw } from './helpers/rgw.js';

const MiB = 1024 * 1024;
const chromium = requireOrSkip();
const rgw = chromium.available ? await requireRgw() : undefined;

type Outcome = { ok: true; record: FileRecord; uploadId: string | undefined; resumedParts: number } | { ok: false; error: string };

declare global {
  interface Window {
    picked?: Promise<Outcome>;
    pickedUploadId?: () => string | undefined;
  }
}

/** In the page: the next file picked goes up with the client's defaults (only the part settings set). */
async function uploadWhenPicked(page: Page): Promise<void> {
  await page.evaluate(() => {
    const picker = document.querySelector<HTMLInputElement>('#picker');
    if (!picker) throw new Error('no #picker');
    window.picked = new Promise<Outcome>((resolve) => {
      picker.onchange = () => {
        const file = picker.files?.[0];
        if (!file) return;
        const client = window.dropgate.createClient({ endpoint: '/api/upload', multipartThreshold: 10 * 1024 * 1024, concurrency: 3 });
        const u = client.createUpload(file).start();
        window.pickedUploadId = () => u.uploadId;
        u.done.then(
          (record) => resolve({ ok: true, record, uploadId: u.uploadId, resumedParts: u.resumedParts }),
          (error: unknown) => resolve({ ok: false, error: String(error) }),
        );
      };
    });
  });
}

describe.skipIf(!chromium.available).each(devStacks(rgw))('reload mid-upload, against `dropgate dev` on the $store store', ({ start }) => {
  let dev: DevProcess;
  let browser: Browser;
  let workDir: string;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'dropgate-browser-resume-'));
    [dev, browser] = await Promise.all([start(), launchChromium({ args: CLIENT_PAGE_CHROMIUM_ARGS })]);
  });
  afterAll(async () => {
    await browser?.close();
    await dev?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('picks the same file again after a reload: resumes, re-sending at most the parts that were in flight', async (context) => {
    const { path, sha256 } = await writeMp4(workDir, 'reload-me.mp4', 100 * MiB + 5); // 7 parts of 16 MiB
    const page = await browser.newPage();
    page.setDefaultTimeout(60_000);
    const puts = trackPartPuts(page);
    const consoleLines: string[] = [];
    page.on('console', (message) => consoleLines.push(message.text()));
    context.onTestFailed(() =>
      console.error(
        `PUTs: ${JSON.stringify(puts.all())}\npage console:\n${consoleLines.join('\n')}\n--- dropgate dev ---\n${dev.output().slice(-3000)}`,
      ),
    );
    await routeClientPage(page, dev.url);
    // Slow enough to reload mid-way: on loopback 100 MiB would be gone in a second.
    const setUploadSpeed = await throttleUploads(page, 12 * MiB);

    await uploadWhenPicked(page);
    await page.locator('#picker').setInputFiles(path);
    await expect
      .poll(() => puts.all().filter((p) => p.load === 1 && p.outcome === 'done').length, { timeout: 60_000, interval: 50 })
      .toBeGreaterThanOrEqual(2);
    await expect.poll(() => puts.inFlight(), { interval: 20 }).toBeGreaterThanOrEqual(1);
    const firstId = await page.evaluate(() => window.pickedUploadId?.());

    await page.reload();
    await page.waitForFunction(() => document.title === 'ready');
    await setUploadSpeed(-1);
    await uploadWhenPicked(page);
    await page.locator('#picker').setInputFiles(path); // same path: same name, size and lastModified
    const outcome = await page.evaluate(() => window.picked);
    await puts.settled();

    expect(outcome?.ok, JSON.stringify(outcome)).toBe(true);
    if (!outcome?.ok) return;
    const all = puts.all();
    const before = all.filter((p) => p.load === 1);
    const after = all.filter((p) => p.load === 2);
    const landedBefore = new Set(before.filter((p) => p.outcome === 'done').map((p) => p.partNumber));
    const cutByReload = new Set(before.filter((p) => p.outcome !== 'done').map((p) => p.partNumber));
    const startedBefore = new Set(before.map((p) => p.partNumber));
    const sentAfter = after.map((p) => p.partNumber);
    console.info(`reload resume: before ${before.length} PUTs (landed ${[...landedBefore]}, cut ${[...cutByReload]}); after: ${sentAfter}`);
    expect([...startedBefore, ...sentAfter].every((n) => typeof n === 'number')).toBe(true);

    // The same upload went on: no new sign, the same id, the landed parts held by the storage.
    expect(puts.signs(1)).toBe(1);
    expect(puts.signs(2)).toBe(0);
    expect(outcome.uploadId).toBe(firstId);
    expect(outcome.resumedParts).toBeGreaterThanOrEqual(landedBefore.size);
    // Re-sent: only parts that were in flight at the reload; every other part sent once.
    const resent = sentAfter.filter((n) => startedBefore.has(n));
    for (const n of resent) expect(cutByReload.has(n)).toBe(true);
    expect(resent.length).toBeLessThanOrEqual(cutByReload.size);
    expect(new Set(sentAfter).size).toBe(sentAfter.length);
    // Each part landed once: held by the storage at resume (a part cut by the reload may have
    // landed all the same) or sent after it.
    expect(outcome.resumedParts + sentAfter.length).toBe(7);
    expect(after.every((p) => p.outcome === 'done')).toBe(true);

    expect(outcome.record.size).toBe(100 * MiB + 5);
    expect(await sha256OfUrl(new URL(outcome.record.url, dev.url).href)).toBe(sha256);
    // Completed: the resume entry is gone.
    const entries = await resumeEntryCount(page);
    expect(entries).toBe(0);
    await page.close();
  }, 180_000);
});
