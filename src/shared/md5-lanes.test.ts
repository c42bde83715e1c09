import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { instantiateMd5Lanes, type Md5Lanes } from './md5-lanes.js';
import { LANE_DATA_OFFSET, LANES, MASK_OFFSET, md5LanesModule, STATE_OFFSET } from './md5-lanes-wasm.js';

const md5Hex = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('the twelve-lane kernel', () => {
  it('leaves a masked lane’s state alone while the others hash', async () => {
    const { instance } = await WebAssembly.instantiate(md5LanesModule(2));
    const memory = instance.exports.memory as WebAssembly.Memory;
    const compress = instance.exports.compress as (...args: number[]) => void;
    const words = new Uint32Array(memory.buffer);
    words.fill(7, STATE_OFFSET >> 2, (STATE_OFFSET >> 2) + 4 * LANES);
    // Every other lane masked. Lanes 0, 3, 6 and 9 hash the first block, the others the second.
    words.set(
      Array.from({ length: LANES }, (_, lane) => (lane % 2 === 0 ? 0xffffffff : 0)),
      MASK_OFFSET >> 2,
    );
    new Uint8Array(memory.buffer).set(randomBytes(128), LANE_DATA_OFFSET);
    compress(...Array.from({ length: LANES }, (_, lane) => LANE_DATA_OFFSET + 64 * (lane % 3 === 0 ? 0 : 1)), 1);
    const lane = (j: number) => [0, 1, 2, 3].map((w) => words[(STATE_OFFSET >> 2) + w * LANES + j]);
    for (let j = 1; j < LANES; j += 2) expect(lane(j)).toEqual([7, 7, 7, 7]);
    expect(lane(0)).not.toEqual([7, 7, 7, 7]);
    expect(lane(2)).not.toEqual(lane(0));
    // Same bytes, same starting state: same result, whichever group the lane is in.
    expect(lane(6)).toEqual(lane(0));
    expect(lane(4)).toEqual(lane(2));
    expect(lane(10)).toEqual(lane(2));
  });
});

describe('instantiateMd5Lanes', () => {
  async function lanes(laneBytes: number): Promise<Md5Lanes> {
    const md5 = await instantiateMd5Lanes(laneBytes);
    if (!md5) throw new Error('no WebAssembly SIMD here');
    return md5;
  }

  /** Feeds each message through its lane in pieces of its own size, the lanes' rounds shared. */
  function hashSideBySide(md5: Md5Lanes, messages: Uint8Array[], pieces: number[]): string[] {
    const at = messages.map(() => 0);
    const filled = messages.map(() => 0);
    const digests: string[] = [];
    for (const lane of messages.keys()) md5.reset(lane);
    while (at.some((n, lane) => n < (messages[lane] as Uint8Array).length)) {
      for (const [lane, message] of messages.entries()) {
        const take = Math.min(pieces[lane] as number, message.length - (at[lane] as number), md5.laneBytes - (filled[lane] as number));
        md5.region(lane).set(message.subarray(at[lane], (at[lane] as number) + take), filled[lane]);
        at[lane] = (at[lane] as number) + take;
        filled[lane] = (filled[lane] as number) + take;
      }
      md5.consume(filled).forEach((left, lane) => {
        filled[lane] = left;
      });
    }
    for (const [lane, message] of messages.entries()) digests[lane] = hex(md5.finish(lane, filled[lane] as number, message.length));
    return digests;
  }

  it('hashes twelve messages of different lengths side by side, each in pieces of its own size, as node:crypto does', async () => {
    const md5 = await lanes(4096);
    const lengths = [10_000, 63, 4096 * 3 + 64, 0, 64, 65, 5000, 1, 8191, 55, 56, 12_345];
    const messages = lengths.map((n) => randomBytes(n));
    const pieces = [1000, 7, 4096, 64, 64, 13, 4096, 1, 2048, 55, 30, 999];
    expect(hashSideBySide(md5, messages, pieces)).toEqual(messages.map(md5Hex));
    // Four lanes again, started afresh, the other eight idle.
    const again = [randomBytes(130), randomBytes(55), randomBytes(56), randomBytes(9000)];
    expect(hashSideBySide(md5, again, [4096, 4096, 1, 333])).toEqual(again.map(md5Hex));
  });

  it('finishes one lane without touching the others’ state or bytes', async () => {
    const md5 = await lanes(1024);
    const [a, b] = [randomBytes(1000), randomBytes(1000)];
    md5.reset(0);
    md5.reset(1);
    md5.region(0).set(a.subarray(0, 500));
    md5.region(1).set(b.subarray(0, 500));
    const left = md5.consume([500, 500, 0, 0]);
    expect(left).toEqual([500 % 64, 500 % 64, 0, 0]);
    expect(hex(md5.finish(0, left[0] as number, 500))).toBe(md5Hex(a.subarray(0, 500)));
    md5.region(1).set(b.subarray(500), left[1]);
    expect(hex(md5.finish(1, (left[1] as number) + 500, 1000))).toBe(md5Hex(b));
  });
});
