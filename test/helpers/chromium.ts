/**
 * Debian's `chromium`, driven by playwright-core (`npx playwright install` cannot download here).
 *
 * @example
 * const chromium = requireOrSkip();
 * describe.skipIf(!chromium.available)('demo page', () => {
 *   let browser: Browser;
 *   beforeAll(async () => { browser = await launchChromium(); });
 *   afterAll(() => browser?.close());
 * });
 */
import { accessSync, constants } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.DROPGATE_CHROMIUM ?? '/usr/bin/chromium';

/** Flags that keep a headless run quiet and offline: no QUIC, no updates, sync or pings home. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

export type ChromiumAvailability = { available: true } | { available: false; reason: string };

export function chromiumAvailability(path = CHROMIUM_PATH): ChromiumAvailability {
  try {
    accessSync(path, constants.X_OK);
    return { available: true };
  } catch {
    return { available: false, reason: `no executable Chromium at ${path} (Debian: apt-get install chromium, or run scripts/ci-setup.sh)` };
  }
}

/**
 * Browser suites call this at collection time. Without Chromium: in CI (`CI` set) it throws, so the
 * suite fails instead of passing by skipping everything; locally it prints why and the caller
 * skips (`describe.skipIf(!result.available)`).
 */
export function requireOrSkip(path = CHROMIUM_PATH): ChromiumAvailability {
  const result = chromiumAvailability(path);
  if (result.available) return result;
  if (isCi()) throw new Error(`Browser tests cannot run in CI: ${result.reason}.`);
  console.warn(`Skipping browser tests: ${result.reason}.`);
  return result;
}

/** `CI` set to anything but empty, `0` or `false`, as CI services do. */
function isCi(): boolean {
  const value = process.env.CI;
  return value !== undefined && !/^(|0|false)$/i.test(value.trim());
}

/** Launches headless Chromium (`args`: flags on top of CHROMIUM_FLAGS); close it in `afterAll`. */
export async function launchChromium(options: { timeoutMs?: number; args?: readonly string[] } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_FLAGS, ...(options.args ?? [])],
    timeout: options.timeoutMs ?? 30_000,
  });
}

/**
 * Chromium's own upload throttling on `page`, in bytes per second (-1 lifts it): on loopback a big
 * file is gone before a test can act mid-upload. Returns a setter on the same DevTools session, to
 * change the speed later (it outlives reloads of the page).
 */
export async function throttleUploads(page: Page, bytesPerSecond: number): Promise<(bytesPerSecond: number) => Promise<void>> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const set = async (uploadThroughput: number) => {
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput });
  };
  await set(bytesPerSecond);
  return set;
}
