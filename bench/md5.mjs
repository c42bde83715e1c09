/**
 * md5: what the client's part MD5 costs, one core, no network. A --size byte file of random bytes
 * (default 1 GiB, written once, so it sits in the page cache) is hashed as parts of --part bytes
 * (default 16 MiB, the plan's part size) by:
 *   node-crypto  `md5Base64` (node:crypto), one part after another, as the client hashed until
 *                session 6
 *   lanes        `createLaneHasher()`, every part handed over at once: twelve in its lanes at a time
 * Both read the file through `openFile`, so the figures include the reads. Also the kernel alone:
 * the same bytes in memory through node:crypto's one message, and through the twelve lanes
 * (`instantiateMd5Lanes`, 1 MiB regions), with no read. Runs interleaved; wall time and
 * process.cpuUsage (all threads) per run. Every lane digest is checked against node:crypto's.
 */
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, save, summary } from './stats.mjs';

const { createLaneHasher, md5Base64, openFile } = await import('../dist/client/index.js');
const { instantiateMd5Lanes, LANES } = await import('../dist/shared/md5-lanes.js');

async function timed(fn) {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const out = await fn();
  const ms = performance.now() - start;
  const { user, system } = process.cpuUsage(cpu);
  return { ms, cpuMs: (user + system) / 1000, out };
}

export async function run(flags) {
  const dir = await mkdtemp(join(tmpdir(), 'dropgate-bench-md5-'));
  try {
    const path = join(dir, 'data.bin');
    const block = randomBytes(64 * 1024 * 1024);
    for (let at = 0; at < flags.size; at += block.length)
      await appendFile(path, block.subarray(0, Math.min(block.length, flags.size - at)));
    const file = await openFile(path);
    const parts = Array.from({ length: Math.ceil(flags.size / flags.part) }, (_, i) => file.slice(i * flags.part, (i + 1) * flags.part));
    const lanes = await instantiateMd5Lanes(1024 * 1024);
    if (!lanes) throw new Error('WebAssembly SIMD is not available here');
    const mib = block.subarray(0, 1024 * 1024);
    const kernelBytes = Math.floor(flags.size / (LANES * mib.length)) * LANES * mib.length;
    const laneDigest = createHash('md5');
    for (let at = 0; at < kernelBytes / LANES; at += mib.length) laneDigest.update(mib);
    const expectedLane = laneDigest.digest('hex');

    const contenders = {
      'node-crypto': async () => {
        const out = [];
        for (const part of parts) out.push(await md5Base64(part));
        return out;
      },
      lanes: () => {
        const hasher = createLaneHasher();
        return Promise.all(parts.map((part) => hasher(part)));
      },
      'kernel-node-crypto': async () => {
        const hash = createHash('md5');
        for (let at = 0; at < kernelBytes; at += mib.length) hash.update(mib);
        return hash.digest('hex');
      },
      'kernel-lanes': async () => {
        for (let lane = 0; lane < LANES; lane++) lanes.reset(lane);
        const full = new Array(LANES).fill(mib.length);
        for (let at = 0; at < kernelBytes; at += LANES * mib.length) {
          for (let lane = 0; lane < LANES; lane++) lanes.region(lane).set(mib);
          lanes.consume(full);
        }
        return Buffer.from(lanes.finish(0, 0, kernelBytes / LANES)).toString('hex');
      },
    };
    const results = Object.fromEntries(Object.keys(contenders).map((name) => [name, { ms: [], cpuMs: [] }]));
    console.log(
      `md5: ${flags.runs} runs; ${flags.size} bytes as ${parts.length} parts of ${flags.part}; kernels over ${kernelBytes} bytes in memory`,
    );
    let expected;
    for (let r = 0; r < flags.runs; r++) {
      const line = [];
      for (const [name, fn] of Object.entries(contenders)) {
        const { ms, cpuMs, out } = await timed(fn);
        if (name === 'node-crypto') expected = out;
        if (name === 'lanes' && out.join() !== expected.join()) throw new Error('the lane hasher disagreed with node:crypto');
        if (name === 'kernel-lanes' && out !== expectedLane) throw new Error('the lanes disagreed with node:crypto');
        results[name].ms.push(ms);
        results[name].cpuMs.push(cpuMs);
        line.push(`${name} ${fmt(ms)} ms (CPU ${fmt(cpuMs)} ms)`);
      }
      console.log(`run ${r + 1}: ${line.join('   ')}`);
    }
    const summarized = Object.fromEntries(
      Object.entries(results).map(([name, { ms, cpuMs }]) => [name, { ms: summary(ms), cpuMs: summary(cpuMs) }]),
    );
    for (const [name, s] of Object.entries(summarized)) {
      const bytes = name.startsWith('kernel') ? kernelBytes : flags.size;
      console.log(
        `${name.padEnd(19)} median ${fmt(s.ms.median)} ms (${fmt(bytes / s.ms.median / 1000)} MB/s), CPU ${fmt(s.cpuMs.median)} ms (min ${fmt(s.cpuMs.min)}, max ${fmt(s.cpuMs.max)})`,
      );
    }
    const ratios = {
      'md5-parts-lanes-vs-node-crypto-cpu': summarized['node-crypto'].cpuMs.median / summarized.lanes.cpuMs.median,
      'md5-kernel-lanes-vs-node-crypto': summarized['kernel-node-crypto'].ms.median / summarized['kernel-lanes'].ms.median,
    };
    save('md5', { flags, results: summarized, ratios });
    for (const [name, value] of Object.entries(ratios)) console.log(`RATIO ${name} ${value.toFixed(3)}`);
    console.log(`VALUE md5-parts-lanes-cpu ${summarized.lanes.cpuMs.median.toFixed(0)} ms`);
    console.log(`VALUE md5-parts-node-crypto-cpu ${summarized['node-crypto'].cpuMs.median.toFixed(0)} ms`);
    console.log(`VALUE md5-kernel-lanes ${(kernelBytes / summarized['kernel-lanes'].ms.median / 1000).toFixed(0)} MB/s`);
    console.log(`VALUE md5-kernel-node-crypto ${(kernelBytes / summarized['kernel-node-crypto'].ms.median / 1000).toFixed(0)} MB/s`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
