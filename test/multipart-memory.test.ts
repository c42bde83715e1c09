/**
 * Never a whole file in memory: a Node upload of a generated 2 GiB file (sparse: an MP4 header,
 * then zeros) keeps the client's RSS growth under 100 MB. The client runs in a child process of its
 * own, so the measure is the client's alone; the dev stack (disk store) runs here. A control that
 * reads 256 MiB into memory first shows the measure does catch a client that buffers.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileRecord } from '../src/shared/protocol.js';
import { GiB, MiB } from '../src/shared/sizes.js';
import { type DevStack, startDevStack } from './helpers/dev-stack.js';
import { mp4Bytes, sha256OfUrl } from './helpers/proxied-stack.js';

const LIMIT_BYTES = 100 * 1000 * 1000;

let stack: DevStack;
let dir: string;
let child: string;

beforeAll(async () => {
  stack = await startDevStack({ routes: { default: { visibility: 'public' }, big: { visibility: 'public', maxSize: '3GiB' } } });
  dir = await mkdtemp(join(tmpdir(), 'dropgate-memory-'));
  child = join(dir, 'memory-child.mjs');
  await build({
    entryPoints: ['test/helpers/memory-child.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: child,
    logLevel: 'error',
  });
});
afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Measure {
  baseline: number;
  peak: number;
  growth: number;
  ms: number;
  file: FileRecord;
}

function runChild(path: string, mode: 'stream' | 'openfile' | 'buffer'): Promise<Measure> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--expose-gc', child, stack.endpoint, path, 'big', mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    proc.on('error', reject);
    proc.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out) as Measure);
      else reject(new Error(`memory child exited ${code}: ${err || out}`));
    });
  });
}

/** A sparse file: the header is written, the rest is a hole that reads as zeros. */
async function sparseMp4(name: string, size: number): Promise<{ path: string; head: Buffer }> {
  const path = join(dir, name);
  const head = mp4Bytes(4096);
  await writeFile(path, head);
  await truncate(path, size);
  return { path, head };
}

/** The SHA-256 of `sparseMp4`'s file (its header, then zeros), computed without holding it either. */
function sparseSha256(head: Buffer, size: number): string {
  const hash = createHash('sha256').update(head);
  const zeros = Buffer.alloc(8 * MiB);
  for (let left = size - head.length; left > 0; left -= zeros.length) hash.update(zeros.subarray(0, Math.min(left, zeros.length)));
  return hash.digest('hex');
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

describe('memory', () => {
  it('a 2 GiB upload from Node grows the client’s RSS by less than 100 MB, and lands intact', async () => {
    const size = 2 * GiB;
    const { path, head } = await sparseMp4('big.mp4', size);
    const measure = await runChild(path, 'stream');
    console.info(`memory: 2 GiB in ${measure.ms} ms, RSS ${mb(measure.baseline)} → peak ${mb(measure.peak)} (+${mb(measure.growth)})`);
    expect(measure.file.size).toBe(size);
    expect(measure.growth).toBeLessThan(LIMIT_BYTES);

    expect(await sha256OfUrl(measure.file.url)).toBe(sparseSha256(head, size));
  }, 300_000);

  it('the same through openFile (node:fs reads of 1 MiB) stays under 100 MB too, and lands intact', async () => {
    const size = 2 * GiB;
    const { path, head } = await sparseMp4('big-openfile.mp4', size);
    const measure = await runChild(path, 'openfile');
    console.info(
      `memory (openFile): 2 GiB in ${measure.ms} ms, RSS ${mb(measure.baseline)} → peak ${mb(measure.peak)} (+${mb(measure.growth)})`,
    );
    expect(measure.file.size).toBe(size);
    expect(measure.growth).toBeLessThan(LIMIT_BYTES);
    expect(await sha256OfUrl(measure.file.url)).toBe(sparseSha256(head, size));
  }, 300_000);

  it('control: a client that reads 256 MiB into memory first is caught by the same measure', async () => {
    const { path } = await sparseMp4('buffered.mp4', 256 * MiB);
    const measure = await runChild(path, 'buffer');
    console.info(`memory control: 256 MiB buffered, +${mb(measure.growth)}`);
    expect(measure.growth).toBeGreaterThan(LIMIT_BYTES);
  }, 120_000);
});
