/**
 * `dropgate/react` in headless Chromium: `<UploadDropzone>` over `useUpload` (test/helpers/
 * react-page.tsx, bundled with esbuild as users bundle it) against the `dropgate dev` stack.
 * Keyboard, picker, drop, live-region announcements, abort, previews and unmount, for real.
 */
import { randomBytes } from 'node:crypto';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium, requireOrSkip, throttleUploads } from './helpers/chromium.js';
import { type DevStack, startDevStack } from './helpers/dev-stack.js';
import type { PageItem } from './helpers/react-page.js';

const MiB = 1024 * 1024;
const PNG_HEAD = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const MP4_HEAD = [0, 0, 0, 0x18, ...Buffer.from('ftypisom'), 0, 0, 2, 0, ...Buffer.from('isomiso2')];
const withHead = (head: number[], size: number) => {
  const bytes = randomBytes(size);
  bytes.set(head);
  return bytes;
};
const png = (name: string, size = 2000) => ({ name, mimeType: 'image/png', buffer: withHead(PNG_HEAD, size) });
const mp4 = (name: string, size: number) => ({ name, mimeType: 'video/mp4', buffer: withHead(MP4_HEAD, size) });

/** Uploads on a loaded 2-core machine take seconds, not the default poll's one. */
const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 20_000, interval: 100 });

const chromium = requireOrSkip();

describe.skipIf(!chromium.available)('dropgate/react in Chromium', () => {
  let stack: DevStack;
  let browser: Browser;
  let html: string;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    const [bundled, started, launched] = await Promise.all([
      build({
        entryPoints: ['test/helpers/react-page.tsx'],
        bundle: true,
        format: 'esm',
        platform: 'browser',
        target: 'es2022',
        jsx: 'automatic',
        // React's development build: StrictMode runs effects twice, and warnings reach the console.
        define: { 'process.env.NODE_ENV': '"development"' },
        write: false,
        logLevel: 'error',
      }),
      startDevStack(),
      launchChromium(),
    ]);
    [stack, browser] = [started, launched];
    const script = (bundled.outputFiles[0]?.text ?? '').replaceAll('</script', '<\\/script');
    html = `<!doctype html><html lang="en"><meta charset="utf-8"><title>react</title><div id="root"></div><script type="module">${script}</script>`;
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  beforeEach(async () => {
    page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      // React's warnings; a refused request (a 415, a revoked blob URL) is what some tests expect.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(message.text());
    });
    await page.route(`${stack.url}/__react`, (route) => route.fulfill({ contentType: 'text/html', body: html }));
    await page.goto(`${stack.url}/__react`);
    await page.locator('#picker').waitFor({ state: 'attached' });
  });
  afterEach(async () => {
    await page?.close();
    expect(pageErrors).toEqual([]);
  });

  const items = () => page.evaluate(() => window.reactItems);
  const item = async (name: string): Promise<PageItem | undefined> => (await items()).find((i) => i.name === name);
  const liveText = () => page.getByRole('status').textContent();
  const reserved = () =>
    page.evaluate(
      async () => ((await (await fetch('/api/upload')).json()) as { allowance: { reservedBytes: number } }).allowance.reservedBytes,
    );

  it('is a labelled file input with a hint that the keyboard opens with Enter and with Space', async () => {
    const input = page.getByLabel('Choose files to upload');
    expect(await input.getAttribute('type')).toBe('file');
    expect(await input.getAttribute('multiple')).not.toBeNull();
    const hintId = await input.getAttribute('aria-describedby');
    expect(await page.locator(`[id="${hintId}"]`).textContent()).toBe('Images, videos, audio and PDFs.');

    // Playwright intercepts file choosers once a listener exists; set it up before any key is pressed.
    page.on('filechooser', () => {});
    await page.keyboard.press('Tab'); // the Unmount button
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('picker');
    expect(await page.locator('#zone').getAttribute('data-focused')).toBe('');
    for (const key of ['Enter', ' ']) {
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press(key)]);
      expect(chooser.isMultiple()).toBe(true);
      if (key === ' ') {
        await chooser.setFiles([png('key-a.png'), png('key-b.png'), mp4('key-c.mp4', 300_000)]);
      } else {
        await chooser.setFiles([]);
      }
    }
    await poll(async () => (await items()).map((i) => [i.name, i.state])).toEqual([
      ['key-a.png', 'completed'],
      ['key-b.png', 'completed'],
      ['key-c.mp4', 'completed'],
    ]);
    expect((await item('key-c.mp4'))?.resultSize).toBe(300_000);
    await poll(liveText).toContain('key-c.mp4 uploaded.');
  });

  it('uploads several picked files and announces each completion', async () => {
    const files = [png('many-1.png'), png('many-2.png', 5000), mp4('many-3.mp4', 1 * MiB), png('many-4.png', 100)];
    await page.locator('#picker').setInputFiles(files);
    await poll(async () => (await items()).filter((i) => i.state === 'completed').length).toBe(4);
    expect((await items()).map((i) => i.resultSize)).toEqual(files.map((f) => f.buffer.length));
    const listed = await page.evaluate(async () => ((await (await fetch('/api/upload')).json()) as { files: { name: string }[] }).files);
    expect(listed.map((f) => f.name)).toEqual(expect.arrayContaining(files.map((f) => f.name)));
    // The live region keeps the last few sentences: the last two completions at least.
    await poll(liveText).toMatch(/many-3\.mp4 uploaded\.|many-4\.png uploaded\./);
  });

  it('uploads dropped files, showing the drag state while they hover', async () => {
    await page.evaluate(() => {
      const zone = document.getElementById('zone')!;
      const data = new DataTransfer();
      data.items.add(
        new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3])], 'dropped.png', { type: 'image/png' }),
      );
      data.items.add(
        new File([new Uint8Array([0x25, 0x50, 0x44, 0x46, 0x2d, 0x31, 0x2e, 0x37, 9])], 'dropped.pdf', { type: 'application/pdf' }),
      );
      window.dropData = data;
      zone.dispatchEvent(new DragEvent('dragenter', { dataTransfer: data, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
    });
    await poll(() => page.locator('#zone').getAttribute('data-dragging')).toBe('');
    expect(await page.locator('#zone').getAttribute('class')).toContain('is-dragging');
    await page.evaluate(() => {
      const zone = document.getElementById('zone')!;
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: window.dropData ?? null, bubbles: true, cancelable: true }));
    });
    await poll(async () => (await items()).map((i) => [i.name, i.state])).toEqual([
      ['dropped.png', 'completed'],
      ['dropped.pdf', 'completed'],
    ]);
    expect(await page.locator('#zone').getAttribute('data-dragging')).toBeNull();
  });

  it("announces a refused upload in the live region with the server's code", async () => {
    await page
      .locator('#picker')
      .setInputFiles({ name: 'setup.exe', mimeType: 'application/x-msdownload', buffer: Buffer.from('MZ\x90\x00') });
    await poll(() => item('setup.exe')).toMatchObject({ state: 'failed', code: 'FILE_TYPE_NOT_ALLOWED' });
    await poll(liveText).toContain('Upload of setup.exe failed (FILE_TYPE_NOT_ALLOWED)');
    expect(await page.getByRole('status').getAttribute('aria-live')).toBe('polite');
  });

  it('aborts a running upload and gives its allowance back', async () => {
    const before = await reserved();
    await throttleUploads(page, 1 * MiB);
    await page.locator('#picker').setInputFiles(mp4('abort-me.mp4', 6 * MiB));
    await poll(async () => (await item('abort-me.mp4'))?.loadedBytes ?? 0).toBeGreaterThan(0);
    expect(await reserved()).toBe(before + 6 * MiB);
    await page.getByRole('button', { name: 'Abort abort-me.mp4' }).click();
    await poll(() => item('abort-me.mp4')).toMatchObject({ state: 'aborted', code: 'UPLOAD_ABORTED' });
    await poll(reserved).toBe(before);
    await poll(liveText).toContain('Upload of abort-me.mp4 cancelled.');
  });

  it('pauses an upload, keeping its reservation, and resumes it to completion', async () => {
    const before = await reserved();
    await throttleUploads(page, 1 * MiB);
    const file = mp4('pause-me.mp4', 3 * MiB);
    await page.locator('#picker').setInputFiles(file);
    await poll(async () => (await item('pause-me.mp4'))?.loadedBytes ?? 0).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Pause pause-me.mp4' }).click();
    await poll(async () => (await item('pause-me.mp4'))?.state).toBe('paused');
    // Paused is not abandoned: the server keeps the upload and its allowance.
    expect(await reserved()).toBe(before + file.buffer.length);
    await throttleUploads(page, 64 * MiB);
    await page.getByRole('button', { name: 'Resume pause-me.mp4' }).click();
    await poll(() => item('pause-me.mp4')).toMatchObject({ state: 'completed', resultSize: file.buffer.length });
    await poll(reserved).toBe(before);
  });

  it('revokes the preview URL when the item is removed', async () => {
    await page.locator('#picker').setInputFiles(png('preview.png'));
    await poll(() => item('preview.png')).toMatchObject({ state: 'completed' });
    const url = (await item('preview.png'))?.previewUrl;
    expect(url).toMatch(/^blob:/);
    const readable = (href: string) =>
      page.evaluate(
        (u) =>
          fetch(u).then(
            (r) => r.status,
            () => 'revoked',
          ),
        href,
      );
    expect(await readable(url!)).toBe(200);
    await page.getByRole('button', { name: 'Remove preview.png' }).click();
    await poll(async () => (await items()).length).toBe(0);
    expect(await readable(url!)).toBe('revoked');
  });

  it('aborts running uploads and revokes previews on unmount', async () => {
    const before = await reserved();
    await throttleUploads(page, 1 * MiB);
    await page.locator('#picker').setInputFiles(mp4('left-behind.mp4', 6 * MiB));
    await poll(async () => (await item('left-behind.mp4'))?.loadedBytes ?? 0).toBeGreaterThan(0);
    const url = (await item('left-behind.mp4'))?.previewUrl;
    expect(url).toMatch(/^blob:/);
    await page.locator('#unmount').click();
    await page.locator('#gone').waitFor();
    await poll(reserved).toBe(before);
    expect(
      await page.evaluate(
        (u) =>
          fetch(u).then(
            (r) => r.status,
            () => 'revoked',
          ),
        url!,
      ),
    ).toBe('revoked');
  });
});

declare global {
  interface Window {
    dropData?: DataTransfer;
  }
}
