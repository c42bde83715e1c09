import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md5Base64 } from './hash-part.js';
import { openFile, readerOf } from './node-file.js';

const bytes = randomBytes(3 * 1024 * 1024 + 12_345);
let dir: string;
let path: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dropgate-node-file-'));
  path = join(dir, 'data.bin');
  await writeFile(path, bytes);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function readAll(blob: Blob): Promise<{ bytes: Buffer; chunks: number }> {
  const reader = await readerOf(blob);
  const out: Uint8Array[] = [];
  for (;;) {
    const step = await reader.read();
    if (step.done) return { bytes: Buffer.concat(out), chunks: out.length };
    out.push(step.value);
  }
}

describe('openFile', () => {
  it('is the file as a Blob, read through fs in 1 MiB chunks', async () => {
    const blob = await openFile(path, { type: 'video/mp4' });
    expect(blob).toBeInstanceOf(Blob);
    expect(blob.size).toBe(bytes.length);
    expect(blob.type).toBe('video/mp4');
    const read = await readAll(blob);
    expect(read.bytes.equals(bytes)).toBe(true);
    expect(read.chunks).toBe(4); // Blob.stream() would take 64 KiB chunks: 50 of them
    // The Blob's own stream is untouched.
    expect(Buffer.from(await blob.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('slices (nested, negative, out of range) read the same bytes as Blob.slice', async () => {
    const blob = await openFile(path);
    const cases: [Blob, Buffer][] = [
      [blob.slice(1_000_000, 2_500_000), bytes.subarray(1_000_000, 2_500_000)],
      [blob.slice(1_000_000).slice(5, 1_048_600), bytes.subarray(1_000_005, 2_048_600)],
      [blob.slice(-10_000), bytes.subarray(bytes.length - 10_000)],
      [blob.slice(-10_000, -5), bytes.subarray(bytes.length - 10_000, bytes.length - 5)],
      [blob.slice(2_000_000, 10 ** 9), bytes.subarray(2_000_000)],
      [blob.slice(5, 5), bytes.subarray(5, 5)],
    ];
    for (const [slice, expected] of cases) {
      expect(slice.size).toBe(expected.length);
      expect((await readAll(slice)).bytes.equals(expected)).toBe(true);
      expect(await md5Base64(slice)).toBe(createHash('md5').update(expected).digest('base64'));
    }
  });

  it('a plain Blob is read through its stream', async () => {
    const blob = new Blob([bytes.subarray(0, 100_000)]);
    expect((await readAll(blob)).bytes.equals(bytes.subarray(0, 100_000))).toBe(true);
  });

  it('fails rather than reading less when the file shrank', async () => {
    const shrinking = join(dir, 'shrinking.bin');
    await writeFile(shrinking, bytes);
    const blob = await openFile(shrinking);
    await truncate(shrinking, 1000);
    await expect(readAll(blob.slice(0, 2_000_000))).rejects.toThrow(/changed while it was being read/);
  });
});
