/**
 * The live line `dropgate upload` keeps on a terminal for the file it is sending.
 */
import type { UploadProgress } from '../client/index.js';
import { formatBytes } from '../shared/sizes.js';

/**
 * `[########------------]` for a fraction: full cells only, so the bar never claims more than done.
 * @example progressBar(0.5, 10) // '[#####-----]'
 */
export function progressBar(fraction: number, width: number): string {
  const full = Math.max(0, Math.min(width, Math.floor(fraction * width)));
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

/**
 * One status line; with `barWidth` a bar sits between the name and the numbers.
 * @example progressLine('a.mp4', p) // 'a.mp4   42%  1.3 MiB / 3.0 MiB  2.1 MiB/s  ETA 1s'
 * @example progressLine('a.mp4', p, 20) // 'a.mp4  [########------------]  42%  …'
 */
export function progressLine(name: string, p: UploadProgress, barWidth = 0): string {
  const percent = `${Math.floor(p.progress * 100)}%`.padStart(4);
  const speed = p.bytesPerSecond > 0 ? `  ${formatBytes(Math.round(p.bytesPerSecond))}/s` : '';
  const eta = p.etaSeconds !== null && p.progress < 1 ? `  ETA ${Math.ceil(p.etaSeconds)}s` : '';
  const bar = barWidth > 0 ? `  ${progressBar(p.progress, barWidth)}` : '';
  return `${name}${bar}  ${percent}  ${formatBytes(p.loadedBytes)} / ${formatBytes(p.totalBytes)}${speed}${eta}`;
}
