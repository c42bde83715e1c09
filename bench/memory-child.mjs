/**
 * Child of `bench memory` (the approach of test/helpers/memory-child.ts, on the built client):
 * uploads one file with dropgate/client and prints, as one JSON line, its RSS baseline and peak.
 * Usage: node --expose-gc bench/memory-child.mjs <endpoint> <path> <route>
 */
import { openAsBlob } from 'node:fs';
import { createClient } from '../dist/client/index.js';

const [endpoint, path, route] = process.argv.slice(2);
// Warm up what any upload loads once (fetch's HTTP stack), so the baseline already holds it.
await (await fetch(endpoint)).arrayBuffer();
globalThis.gc?.();
await new Promise((resolve) => setTimeout(resolve, 100));
const baseline = process.memoryUsage().rss;
let peak = baseline;
const sample = () => {
  peak = Math.max(peak, process.memoryUsage().rss);
};
const timer = setInterval(sample, 10);
const started = performance.now();
const blob = await openAsBlob(path, { type: 'video/mp4' });
const file = await createClient({ endpoint, route }).upload(blob, { name: 'big.mp4', onProgress: sample });
clearInterval(timer);
sample();
process.stdout.write(
  `${JSON.stringify({ baseline, peak, growth: peak - baseline, ms: Math.round(performance.now() - started), size: file.size })}\n`,
);
