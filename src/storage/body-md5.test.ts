import { createHash, randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { bodyMd5Ready, freeBodyMd5Lanes, openBodyMd5 } from './body-md5.js';

const md5Hex = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

beforeAll(async () => {
  expect(await bodyMd5Ready()).toBe(true);
});

/** Feeds every body a chunk at a time, round-robin, as bodies arriving side by side do. */
function feedSideBySide(bodies: Buffer[], chunk: (body: number) => number): string[] {
  const hashes = bodies.map(() => openBodyMd5());
  const at = bodies.map(() => 0);
  while (at.some((n, i) => n < (bodies[i] as Buffer).length)) {
    for (const [i, body] of bodies.entries()) {
      const n = Math.min(chunk(i), body.length - (at[i] as number));
      if (n > 0) (hashes[i] as ReturnType<typeof openBodyMd5>).update(body.subarray(at[i], (at[i] as number) + n));
      at[i] = (at[i] as number) + n;
    }
  }
  return hashes.map((hash) => hash.digest().toString('hex'));
}

describe('openBodyMd5', () => {
  it('hashes six bodies side by side (four in lanes, two by node:crypto) in chunks of their own sizes', () => {
    const bodies = [5_000_000, 300_001, 64, 0, 1_048_576, 777_777].map((n) => randomBytes(n));
    const sizes = [65_536, 1_000, 7, 1, 262_144, 300_000];
    expect(feedSideBySide(bodies, (i) => sizes[i] as number)).toEqual(bodies.map(md5Hex));
  });

  it('a body given up halfway frees its lane without touching the bodies hashed beside it', () => {
    const [a, b, c] = [randomBytes(900_000), randomBytes(700_000), randomBytes(333_333)];
    const first = openBodyMd5();
    const dropped = openBodyMd5();
    first.update(a.subarray(0, 400_000));
    dropped.update(b.subarray(0, 500_000));
    dropped.release();
    // The freed lane goes to the next body; the first body's bytes so far are still there.
    const next = openBodyMd5();
    next.update(c);
    first.update(a.subarray(400_000));
    expect(next.digest().toString('hex')).toBe(md5Hex(c));
    expect(first.digest().toString('hex')).toBe(md5Hex(a));
    expect(() => first.update(a)).toThrow(/already finished/);
  });

  it('takes a lane per body while there are lanes, and every lane comes back when its body ends', () => {
    expect(freeBodyMd5Lanes()).toBe(4);
    const held = [1, 2, 3, 4, 5].map(() => openBodyMd5());
    expect(freeBodyMd5Lanes()).toBe(0);
    for (const hash of held.slice(0, 4)) hash.digest();
    held[4]?.release();
    expect(freeBodyMd5Lanes()).toBe(4);
    for (let round = 0; round < 3; round++) {
      const bodies = [1, 2, 3, 4].map((n) => randomBytes(n * 100_003));
      expect(feedSideBySide(bodies, () => 65_536)).toEqual(bodies.map(md5Hex));
      expect(freeBodyMd5Lanes()).toBe(4);
    }
  });
});
