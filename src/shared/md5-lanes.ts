/**
 * Four MD5 messages hashed side by side in the SIMD kernel (`md5-lanes-wasm.ts`), one per lane.
 * Each lane has a region of the kernel's memory; its owner puts bytes there and `consume` hashes
 * the whole blocks of every lane in one pass. The client hashes four parts of a file this way. No
 * I/O here and nothing of Node or the DOM, so a browser or a server can drive it too. (The disk
 * store tried it on bodies arriving side by side: they arrive in bursts, one at a time, so most
 * passes ran one lane and it cost more than node:crypto; BENCHMARKS.md, datapath.)
 */
import { LANE_DATA_OFFSET, LANES, MASK_OFFSET, md5LanesModule, STATE_OFFSET } from './md5-lanes-wasm.js';

export { LANES };

const PAGE = 65536;
const INITIAL = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
/** Room after a region for the padding `finish` appends. */
const PADDING = 128;

export interface Md5Lanes {
  /** Bytes each lane's region holds. */
  readonly laneBytes: number;
  /** Starts a new message in the lane. */
  reset(lane: number): void;
  /** The lane's region, where its next bytes go (after what the last `consume` left there). */
  region(lane: number): Uint8Array;
  /**
   * Hashes the whole blocks of each lane's first `filled[lane]` region bytes, all lanes in one
   * pass, and moves each lane's partial block to the start of its region. Returns what is left
   * in each lane (0–63 bytes).
   */
  consume(filled: readonly number[]): number[];
  /**
   * Ends the lane's message: hashes its first `filled` region bytes, then the padding for a
   * message of `length` bytes in all, and returns the 16-byte digest. Other lanes are untouched.
   */
  finish(lane: number, filled: number, length: number): Uint8Array;
}

/**
 * The kernel compiled with a `laneBytes` region per lane; undefined where WebAssembly or its SIMD
 * is missing, or a Content-Security-Policy forbids compiling it.
 *
 * @example
 * const md5 = await instantiateMd5Lanes(1024 * 1024);
 * md5.reset(0); md5.region(0).set(bytes); const digest = md5.finish(0, bytes.length, bytes.length);
 */
export async function instantiateMd5Lanes(laneBytes: number): Promise<Md5Lanes | undefined> {
  const stride = laneBytes + PADDING;
  let instance: WebAssembly.Instance;
  try {
    const module = await WebAssembly.compile(md5LanesModule(Math.ceil((LANE_DATA_OFFSET + LANES * stride) / PAGE)));
    instance = await WebAssembly.instantiate(module);
  } catch {
    return undefined;
  }
  const memory = instance.exports.memory as WebAssembly.Memory;
  const compress = instance.exports.compress as (p0: number, p1: number, p2: number, p3: number, blocks: number) => void;
  const bytes = new Uint8Array(memory.buffer);
  const words = new Uint32Array(memory.buffer);
  const base = (lane: number) => LANE_DATA_OFFSET + lane * stride;

  /** Runs `blocks[lane]` blocks from each region's start, every lane with blocks left in each call. */
  const run = (blocks: number[]) => {
    const at = blocks.map((_, lane) => base(lane));
    for (;;) {
      const busy = blocks.map((n) => n > 0);
      const first = busy.indexOf(true);
      if (first < 0) return;
      const count = Math.min(...blocks.filter((n) => n > 0));
      for (let lane = 0; lane < LANES; lane++) words[(MASK_OFFSET >> 2) + lane] = busy[lane] ? 0xffffffff : 0;
      const from = at.map((offset, lane) => (busy[lane] ? offset : (at[first] as number)));
      compress(from[0] as number, from[1] as number, from[2] as number, from[3] as number, count);
      for (let lane = 0; lane < LANES; lane++) {
        if (!busy[lane]) continue;
        blocks[lane] = (blocks[lane] as number) - count;
        at[lane] = (at[lane] as number) + count * 64;
      }
    }
  };

  return {
    laneBytes,
    reset(lane) {
      for (let word = 0; word < 4; word++) words[(STATE_OFFSET >> 2) + word * LANES + lane] = INITIAL[word] as number;
    },
    region: (lane) => bytes.subarray(base(lane), base(lane) + laneBytes),
    consume(filled) {
      run(filled.map((n) => Math.floor(n / 64)));
      return filled.map((n, lane) => {
        const left = n % 64;
        if (left > 0) bytes.copyWithin(base(lane), base(lane) + n - left, base(lane) + n);
        return left;
      });
    },
    finish(lane, filled, length) {
      // RFC 1321 padding: 0x80, zeros to 56 mod 64, then the length in bits, little-endian.
      const start = base(lane);
      const end = Math.ceil((filled + 9) / 64) * 64;
      bytes.fill(0, start + filled, start + end);
      bytes[start + filled] = 0x80;
      const view = new DataView(memory.buffer, start + end - 8, 8);
      view.setUint32(0, (length * 8) >>> 0, true);
      view.setUint32(4, Math.floor((length * 8) / 2 ** 32), true);
      run(Array.from({ length: LANES }, (_, i) => (i === lane ? end / 64 : 0)));
      const digest = new Uint8Array(16);
      const out = new DataView(digest.buffer);
      for (let word = 0; word < 4; word++) out.setUint32(word * 4, words[(STATE_OFFSET >> 2) + word * LANES + lane] as number, true);
      return digest;
    },
  };
}
