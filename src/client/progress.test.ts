import { describe, expect, it } from 'vitest';
import { createProgressTracker, TRANSFER_SHARE } from './progress.js';
import type { UploadProgress } from './types.js';

function setup(total: number, options: { windowMs?: number; intervalMs?: number } = {}) {
  let time = 0;
  const reports: UploadProgress[] = [];
  const tracker = createProgressTracker(total, (p) => reports.push(p), { now: () => time, intervalMs: 0, ...options });
  return { tracker, reports, at: (ms: number) => (time = ms) };
}

describe('createProgressTracker', () => {
  it('reports speed over the sliding window and the ETA from it', () => {
    const { tracker, reports, at } = setup(10_000, { windowMs: 2000 });
    at(1000);
    tracker.transferred(1000); // 1000 B/s since start
    expect(reports.at(-1)).toEqual({ progress: 0.1, loadedBytes: 1000, totalBytes: 10_000, bytesPerSecond: 1000, etaSeconds: 9 });
    at(2000);
    tracker.transferred(5000); // a burst: window 0..2000 → 2500 B/s
    expect(reports.at(-1)?.bytesPerSecond).toBe(2500);
    at(3000);
    tracker.transferred(5500); // window drops the start: 1000..3000 → 2250 B/s
    expect(reports.at(-1)?.bytesPerSecond).toBe(2250);
    at(6000);
    tracker.transferred(6000); // only the 3000 sample is in reach as a baseline → 500 B/s over 3 s
    expect(reports.at(-1)?.bytesPerSecond).toBeCloseTo(500 / 3);
    expect(reports.at(-1)?.etaSeconds).toBeCloseTo(4000 / (500 / 3));
  });

  it('never goes back, and holds below 1 until completed', () => {
    const { tracker, reports, at } = setup(1000);
    at(10);
    tracker.transferred(600);
    at(20);
    tracker.transferred(400); // a transport that reports out of order
    at(30);
    tracker.transferred(1000);
    expect(reports.map((r) => r.loadedBytes)).toEqual([600, 600, 1000]);
    expect(reports.at(-1)).toMatchObject({ progress: TRANSFER_SHARE, etaSeconds: 0 });
    tracker.completed();
    expect(reports.at(-1)).toMatchObject({ progress: 1, loadedBytes: 1000, etaSeconds: 0 });
    tracker.transferred(1000);
    tracker.completed();
    expect(reports.filter((r) => r.progress === 1)).toHaveLength(1);
    const progresses = reports.map((r) => r.progress);
    expect(progresses).toEqual([...progresses].sort((a, b) => a - b));
  });

  it('has no speed or ETA before there is anything to measure', () => {
    const { tracker, reports } = setup(1000);
    tracker.transferred(0);
    expect(reports).toEqual([{ progress: 0, loadedBytes: 0, totalBytes: 1000, bytesPerSecond: 0, etaSeconds: null }]);
  });

  it('throttles reports but always reports the last byte', () => {
    const { tracker, reports, at } = setup(1000, { intervalMs: 100 });
    for (let ms = 0; ms <= 250; ms += 10) {
      at(ms);
      tracker.transferred(ms * 2);
    }
    expect(reports.map((r) => r.loadedBytes)).toEqual([0, 200, 400]);
    at(260);
    tracker.transferred(1000);
    expect(reports.at(-1)?.loadedBytes).toBe(1000);
  });

  it('clamps byte counts to the total', () => {
    const { tracker, reports, at } = setup(100);
    at(5);
    tracker.transferred(150);
    expect(reports.at(-1)).toMatchObject({ loadedBytes: 100, progress: TRANSFER_SHARE });
  });
});
