/**
 * Child process of the memory test: uploads one file with `dropgate/client` and prints, as one
 * JSON line, how far its resident set grew above the baseline taken just before. Run alone so the
 * number is the client's, not the test runner's or the server's.
 *
 * Usage: node --expose-gc memory-child.mjs <endpoint> <path> <route> stream|openfile|buffer
 * `stream` opens the file with `fs.openAsBlob`, `openfile` with the client's `openFile` (read
 * through node:fs, 1 MiB at a time). `buffer` reads the whole file into memory first: the control
 * that shows the measure can fail.
 */
import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createClient, openFile } from '../../src/client/index.js';

const [endpoint = '', path = '', route = '', mode = 'stream'] = process.argv.slice(2);

// Warm up what any upload loads once (fetch's HTTP stack), so the baseline already holds it.
await (await fetch(endpoint)).arrayBuffer();
(globalThis as { gc?: () => void }).gc?.();
await new Promise((resolve) => setTimeout(resolve, 100));

const baseline = process.memoryUsage().rss;
let peak = baseline;
const sample = () => {
  peak = Math.max(peak, process.memoryUsage().rss);
};
const timer = setInterval(sample, 10);
const started = performance.now();
const blob =
  mode === 'buffer'
    ? new Blob([await readFile(path)], { type: 'video/mp4' })
    : mode === 'openfile'
      ? await openFile(path, { type: 'video/mp4' })
      : await openAsBlob(path, { type: 'video/mp4' });
const file = await createClient({ endpoint, route }).upload(blob, { name: 'big.mp4', onProgress: sample });
clearInterval(timer);
sample();
process.stdout.write(`${JSON.stringify({ baseline, peak, growth: peak - baseline, ms: Math.round(performance.now() - started), file })}\n`);
