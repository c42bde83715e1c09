/**
 * Twelve MD5 messages hashed side by side in the SIMD kernel (`md5-lanes-wasm.ts`), one per lane.
 * Each lane has a region of the kernel's memory; its owner puts bytes there and `consume` hashes
 * the whole blocks of every lane in one pass. The client hashes twelve parts of a file this way. No
 * I/O here and nothing of Node or the DOM, so a browser or a server can drive it too. (The disk
 * store tried it on bodies arriving side by side: they arrive in bursts, one at a time, so most
 * passes ran one lane and it cost more than node:crypto; BENCHMARKS.md, datapath.)
 */
import { LANE_DATA_OFFSET, LANES, MASK_OFFSET, md5LanesModule, STATE_OFFSET } from './md5-lanes-wasm.js';

export { LANES };

const PAGE = 65536;
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

/** Where the driver finds things in the kernel's memory (`md5-lanes-wasm.ts`). */
export interface Md5LanesLayout {
  lanes: number;
  stateOffset: number;
  maskOffset: number;
  dataOffset: number;
  /** Room after each region for the padding `finish` appends. */
  padding: number;
}

export const MD5_LANES_LAYOUT: Md5LanesLayout = {
  lanes: LANES,
  stateOffset: STATE_OFFSET,
  maskOffset: MASK_OFFSET,
  dataOffset: LANE_DATA_OFFSET,
  padding: PADDING,
};

/** The kernel's bytes, with memory enough for a `laneBytes` region per lane. */
export function md5LanesBytes(laneBytes: number): Uint8Array<ArrayBuffer> {
  return md5LanesModule(Math.ceil((LANE_DATA_OFFSET + LANES * (laneBytes + PADDING)) / PAGE));
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
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(await WebAssembly.compile(md5LanesBytes(laneBytes)));
  } catch {
    return undefined;
  }
  return driveMd5Lanes(instance, laneBytes, MD5_LANES_LAYOUT);
}

/**
 * The four operations over an instance of the kernel. Self-contained on purpose, like `createMd5`
 * (its arguments and globals only; methods, not named inner functions, which bundlers keeping
 * names would wrap in a helper): the browser's hashing worker runs its source text.
 */
export function driveMd5Lanes(instance: WebAssembly.Instance, laneBytes: number, layout: Md5LanesLayout): Md5Lanes {
  const { lanes, stateOffset, maskOffset, dataOffset, padding } = layout;
  const initial = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  const memory = instance.exports.memory as WebAssembly.Memory;
  const compress = instance.exports.compress as (...offsetsThenBlocks: number[]) => void;
  const bytes = new Uint8Array(memory.buffer);
  const words = new Uint32Array(memory.buffer);
  const stride = laneBytes + padding;

  const kernel = {
    base(lane: number): number {
      return dataOffset + lane * stride;
    },
    /** Runs `counts[lane]` blocks from each region's start (none for lanes past the list), every lane with blocks left in each call. */
    run(counts: readonly number[]) {
      const blocks = Array.from({ length: lanes }, (_, lane) => counts[lane] ?? 0);
      const at = blocks.map((_, lane) => kernel.base(lane));
      for (;;) {
        const busy = blocks.map((n) => n > 0);
        const first = busy.indexOf(true);
        if (first < 0) return;
        const count = Math.min(...blocks.filter((n) => n > 0));
        for (let lane = 0; lane < lanes; lane++) words[(maskOffset >> 2) + lane] = busy[lane] ? 0xffffffff : 0;
        const from = at.map((offset, lane) => (busy[lane] ? offset : (at[first] as number)));
        compress(...from, count);
        for (let lane = 0; lane < lanes; lane++) {
          if (!busy[lane]) continue;
          blocks[lane] = (blocks[lane] as number) - count;
          at[lane] = (at[lane] as number) + count * 64;
        }
      }
    },
  };

  return {
    laneBytes,
    reset(lane) {
      for (let word = 0; word < 4; word++) words[(stateOffset >> 2) + word * lanes + lane] = initial[word] as number;
    },
    region(lane) {
      return bytes.subarray(kernel.base(lane), kernel.base(lane) + laneBytes);
    },
    consume(filled) {
      kernel.run(filled.map((n) => Math.floor(n / 64)));
      return filled.map((n, lane) => {
        const left = n % 64;
        const start = kernel.base(lane);
        if (left > 0) bytes.copyWithin(start, start + n - left, start + n);
        return left;
      });
    },
    finish(lane, filled, length) {
      // RFC 1321 padding: 0x80, zeros to 56 mod 64, then the length in bits, little-endian.
      const start = kernel.base(lane);
      const end = Math.ceil((filled + 9) / 64) * 64;
      bytes.fill(0, start + filled, start + end);
      bytes[start + filled] = 0x80;
      const view = new DataView(memory.buffer, start + end - 8, 8);
      view.setUint32(0, (length * 8) >>> 0, true);
      view.setUint32(4, Math.floor((length * 8) / 2 ** 32), true);
      kernel.run(Array.from({ length: lanes }, (_, i) => (i === lane ? end / 64 : 0)));
      const digest = new Uint8Array(16);
      const out = new DataView(digest.buffer);
      for (let word = 0; word < 4; word++) out.setUint32(word * 4, words[(stateOffset >> 2) + word * lanes + lane] as number, true);
      return digest;
    },
  };
}
