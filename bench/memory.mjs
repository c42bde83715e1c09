/**
 * memory: peak RSS growth of a Node upload of a --size byte file (default 2 GB) through
 * dropgate/client to the dev stack's disk store (the embedded stack, in this process; the client in
 * a child process of its own, so the RSS is the client's alone). The file is sparse: an MP4 header,
 * then zeros. Bar: growth under 100 MB above idle. A fresh stack (and data folder) per run.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedded } from '../dist/cli/embedded.js';
import { exec } from './children.mjs';
import { fmt, save, summary } from './stats.mjs';

const LIMIT = 100e6;
const CHILD = new URL('./memory-child.mjs', import.meta.url).pathname;

async function runChild(endpoint, path) {
  return JSON.parse(await exec(process.execPath, ['--expose-gc', CHILD, endpoint, path, 'big']));
}

export async function run(flags) {
  const dir = await mkdtemp(join(tmpdir(), 'dropgate-bench-memory-'));
  const path = join(dir, 'big.mp4');
  const head = randomBytes(4096);
  head.set([0, 0, 0, 0x18, ...Buffer.from('ftypisom'), 0, 0, 2, 0, ...Buffer.from('isomiso2')]);
  await writeFile(path, head);
  await truncate(path, flags.size);
  console.log(`memory: ${flags.runs} uploads of ${flags.size} bytes (sparse MP4) through dropgate/client to the disk store`);
  const growth = [];
  const peak = [];
  const baseline = [];
  const mbps = [];
  try {
    for (let r = 0; r < flags.runs; r++) {
      const dataDir = join(dir, `stack-${r}`);
      const stack = await startEmbedded({
        dataDir,
        port: 0,
        host: '127.0.0.1',
        routes: { big: { visibility: 'public', maxSize: '3GiB' } },
        log: () => {},
      });
      try {
        const m = await runChild(`${stack.url}/api/upload`, path);
        if (m.size !== flags.size) throw new Error(`uploaded ${m.size} bytes, not ${flags.size}`);
        growth.push(m.growth / 1e6);
        peak.push(m.peak / 1e6);
        baseline.push(m.baseline / 1e6);
        mbps.push(flags.size / 1e6 / (m.ms / 1000));
        console.log(
          `run ${r + 1}: RSS ${fmt(m.baseline / 1e6)} MB → peak ${fmt(m.peak / 1e6)} MB (+${fmt(m.growth / 1e6)} MB) in ${m.ms} ms`,
        );
      } finally {
        await stack.close();
        await rm(dataDir, { recursive: true, force: true });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const results = { growthMB: summary(growth), peakMB: summary(peak), baselineMB: summary(baseline), throughputMBps: summary(mbps) };
  const g = results.growthMB;
  console.log(`RSS growth median ${fmt(g.median)} MB (min ${fmt(g.min)}, max ${fmt(g.max)}); peak median ${fmt(results.peakMB.median)} MB`);
  console.log(
    `bar: growth < 100 MB above idle: ${g.max * 1e6 < LIMIT ? 'met (every run)' : g.median * 1e6 < LIMIT ? 'met (median)' : 'MISSED'}`,
  );
  save('memory', { flags, results });
  console.log(`RATIO memory-bar-headroom ${(LIMIT / 1e6 / g.median).toFixed(3)}`);
  console.log(`VALUE memory-rss-growth ${g.median.toFixed(1)} MB`);
  console.log(`VALUE memory-peak-rss ${results.peakMB.median.toFixed(1)} MB`);
  console.log(`VALUE memory-throughput ${results.throughputMBps.median.toFixed(1)} MB/s`);
}
