/**
 * Housekeeping for the disk store: used-token markers past their URL's expiry (the expiry check
 * refuses those tokens on its own), and temp files left by a crash or a stalled upload.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isErrno, removeQuietly, storageError } from './disk-file.js';
import type { DiskLayout } from './disk-paths.js';

export interface CleanupOptions {
  /** Temp files untouched this long are abandoned uploads. Default one hour. */
  tempIdleMs?: number;
  /** Markers are kept this long past their expiry, in case the clock steps back. Default five minutes. */
  clockSlackMs?: number;
}

export interface CleanupResult {
  markers: number;
  temp: number;
}

const HOUR = 60 * 60 * 1000;

/**
 * Removes what is no longer needed and says how much it removed.
 * @example await cleanupDisk(layout, Date.now()); // { markers: 12, temp: 0 }
 */
export async function cleanupDisk(layout: DiskLayout, nowMs: number, options: CleanupOptions = {}): Promise<CleanupResult> {
  const tempIdleMs = options.tempIdleMs ?? HOUR;
  const clockSlackMs = options.clockSlackMs ?? 5 * 60 * 1000;
  const result: CleanupResult = { markers: 0, temp: 0 };
  try {
    for (const name of await list(layout.tokens)) {
      // The expiry is in the name (`{exp}-{nonce}`), so no file has to be opened.
      const exp = Number(name.slice(0, name.indexOf('-')));
      if (Number.isSafeInteger(exp) && exp + clockSlackMs < nowMs) {
        await removeQuietly(path.join(layout.tokens, name));
        result.markers += 1;
      }
    }
    for (const name of await list(layout.tmp)) {
      const file = path.join(layout.tmp, name);
      // Wall-clock time on purpose: file times come from the real clock, not the injected one.
      const info = await stat(file).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > tempIdleMs) {
        await removeQuietly(file);
        result.temp += 1;
      }
    }
  } catch (error) {
    throw storageError(error, 'cleaning up');
  }
  return result;
}

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return [];
    throw error;
  }
}
