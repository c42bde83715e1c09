import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsMd5Base64, type PartHasher } from './hash-part.js';
import { createLaneHasher, md5LanesAvailable } from './md5-lanes.js';
import { openFile } from './node-file.js';

const nodeMd5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('base64');
const MiB = 1024 * 1024;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dropgate-md5-lanes-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('createLaneHasher', () => {
  const neverFallBack: PartHasher = async () => {
    throw new Error('the fallback was used');
  };

  it('agrees with node:crypto at every length around the block and padding boundaries, twelve parts at a time', async () => {
    const hasher = createLaneHasher(neverFallBack);
    const data = randomBytes(300);
    const lengths = Array.from({ length: 201 }, (_, i) => i);
    const digests = await Promise.all(lengths.map((n) => hasher(new Blob([data.subarray(0, n)]))));
    expect(digests).toEqual(lengths.map((n) => nodeMd5(data.subarray(0, n))));
  });

  it('hashes parts of different sizes side by side, across 1 MiB rounds, from a file and from memory', async () => {
    const bytes = randomBytes(9 * MiB + 4321);
    const path = join(dir, 'mixed.bin');
    await writeFile(path, bytes);
    const file = await openFile(path);
    // Ends that fall mid-block, on a block edge, on a round edge, and one part of many rounds.
    const ranges: [number, number][] = [
      [0, 3 * MiB + 17],
      [5, MiB],
      [MiB, 2 * MiB],
      [7, 7 + 64 * 1000],
      [2 * MiB + 1, 9 * MiB + 4321],
      [100, 101],
      [3 * MiB, 3 * MiB],
    ];
    const hasher = createLaneHasher(neverFallBack);
    const fromFile = await Promise.all(ranges.map(([start, end]) => hasher(file.slice(start, end))));
    const fromMemory = await Promise.all(ranges.map(([start, end]) => hasher(new Blob([bytes.subarray(start, end)]))));
    const expected = ranges.map(([start, end]) => nodeMd5(bytes.subarray(start, end)));
    expect(fromFile).toEqual(expected);
    expect(fromMemory).toEqual(expected);
  });

  it('starts the parts handed over in one turn side by side: the first part is not a round ahead', async () => {
    const reads: string[] = [];
    /** A part read 1 MiB per `read()`, each read logged as part@MiB. */
    const part = (name: string, bytes: Uint8Array<ArrayBuffer>): Blob => {
      let at = 0;
      const pull = (controller: ReadableStreamDefaultController<Uint8Array<ArrayBuffer>>) => {
        if (at >= bytes.length) return controller.close();
        reads.push(`${name}@${at / MiB}`);
        controller.enqueue(bytes.subarray(at, at + MiB));
        at += MiB;
      };
      return Object.assign(new Blob([bytes]), { stream: () => new ReadableStream({ pull }, { highWaterMark: 0 }) });
    };
    const hasher = createLaneHasher(neverFallBack);
    const bytes = Array.from({ length: 12 }, () => randomBytes(2 * MiB));
    const digests = await Promise.all(bytes.map((b, i) => hasher(part(`p${i}`, b))));
    expect(digests).toEqual(bytes.map(nodeMd5));
    expect(reads.slice(0, 12).sort()).toEqual(bytes.map((_, i) => `p${i}@0`).sort());
  });

  it('two hashers in one process keep to their own lanes', async () => {
    const parts = Array.from({ length: 8 }, (_, i) => randomBytes(MiB + 1000 * i));
    const [first, second] = [createLaneHasher(neverFallBack), createLaneHasher(neverFallBack)];
    const digests = await Promise.all(parts.map((bytes, i) => (i % 2 ? second : first)(new Blob([bytes]))));
    expect(digests).toEqual(parts.map(nodeMd5));
  });

  it('fails only the part that cannot be read; the parts hashed beside it still get their MD5', async () => {
    const bytes = randomBytes(4 * MiB);
    const path = join(dir, 'shrinks.bin');
    await writeFile(path, bytes);
    const file = await openFile(path);
    const other = randomBytes(3 * MiB + 5);
    const hasher = createLaneHasher(neverFallBack);
    await truncate(path, MiB);
    const [broken, fine] = await Promise.allSettled([hasher(file.slice(0, 4 * MiB)), hasher(new Blob([other]))]);
    expect(broken.status).toBe('rejected');
    expect(String((broken as PromiseRejectedResult).reason)).toMatch(/changed while it was being read/);
    expect(fine).toEqual({ status: 'fulfilled', value: nodeMd5(other) });
    // And the hasher keeps working afterwards.
    expect(await hasher(new Blob([other.subarray(0, 99)]))).toBe(nodeMd5(other.subarray(0, 99)));
  });

  it('runs the kernel here (Node 20 has WebAssembly SIMD), so these tests exercise it and not the fallback', async () => {
    expect(await md5LanesAvailable()).toBe(true);
  });

  it('says it hashes twelve parts at once, and agrees with the pure-JS MD5 on a large part', async () => {
    const hasher = createLaneHasher(neverFallBack);
    expect(hasher.lanes).toBe(12);
    const blob = new Blob([randomBytes(2 * MiB + 3)]);
    expect(await hasher(blob)).toBe(await jsMd5Base64(blob));
  });
});
