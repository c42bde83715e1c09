import type { OnUploadProgress, UploadProgress } from './types.js';

/**
 * The share of the bar the byte transfer may fill. The last step, the server's check of what
 * landed, is what turns an upload into a file, so 1 waits for it.
 */
export const TRANSFER_SHARE = 0.99;

export interface ProgressTrackerOptions {
  /** Milliseconds clock; `performance.now` by default. */
  now?: () => number;
  /** How far back the speed looks: long enough to smooth bursts, short enough to follow changes. */
  windowMs?: number;
  /** Least time between two reports, so a fast local upload does not flood a UI. */
  intervalMs?: number;
  /** Bytes already there when tracking starts (a resumed upload): counted as loaded, not as speed. */
  startBytes?: number;
}

export interface ProgressTracker {
  /** Bytes sent so far; smaller values than before are ignored, so reports never go back. */
  transferred(loadedBytes: number): void;
  /** The server confirmed the file: reports progress 1. */
  completed(): void;
}

interface Sample {
  time: number;
  loaded: number;
}

/**
 * Turns raw byte counts into monotonic progress reports with a speed averaged over a sliding
 * window and an ETA.
 *
 * @example
 * const tracker = createProgressTracker(file.size, (p) => bar.value = p.progress);
 * tracker.transferred(65536);
 * tracker.completed();
 */
export function createProgressTracker(totalBytes: number, report: OnUploadProgress, options: ProgressTrackerOptions = {}): ProgressTracker {
  const now = options.now ?? (() => performance.now());
  const windowMs = options.windowMs ?? 3000;
  const intervalMs = options.intervalMs ?? 50;
  let loaded = Math.min(options.startBytes ?? 0, totalBytes);
  const samples: Sample[] = [{ time: now(), loaded }];
  let lastReport = Number.NEGATIVE_INFINITY;
  let lastProgress = -1;
  let done = false;

  const speed = (): number => {
    const first = samples[0] as Sample;
    const last = samples[samples.length - 1] as Sample;
    const seconds = (last.time - first.time) / 1000;
    return seconds > 0 ? (last.loaded - first.loaded) / seconds : 0;
  };

  const emit = (progress: number, bytesPerSecond: number, etaSeconds: number | null): void => {
    lastProgress = progress;
    const value: UploadProgress = { progress, loadedBytes: loaded, totalBytes, bytesPerSecond, etaSeconds };
    report(value);
  };

  return {
    transferred(loadedBytes) {
      if (done) return;
      const time = now();
      const isLast = loadedBytes >= totalBytes;
      if (loadedBytes > loaded) {
        loaded = Math.min(loadedBytes, totalBytes);
        samples.push({ time, loaded });
        // Keep one sample at or before the window's start as the baseline of the average.
        while (samples.length > 2 && (samples[1] as Sample).time <= time - windowMs) samples.shift();
      }
      if (!isLast && time - lastReport < intervalMs) return;
      const progress = totalBytes > 0 ? Math.min(loaded / totalBytes, TRANSFER_SHARE) : 0;
      if (progress === lastProgress && time - lastReport < intervalMs) return;
      lastReport = time;
      const bytesPerSecond = speed();
      const remaining = totalBytes - loaded;
      emit(progress, bytesPerSecond, remaining === 0 ? 0 : bytesPerSecond > 0 ? remaining / bytesPerSecond : null);
    },
    completed() {
      if (done) return;
      done = true;
      loaded = totalBytes;
      emit(1, speed(), 0);
    },
  };
}
