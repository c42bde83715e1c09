/**
 * A part hasher that hashes up to four parts at once in one thread with the WebAssembly SIMD MD5
 * (`md5-lanes-wasm.ts`). Concurrent calls share the kernel: each holds a lane while its part is
 * read, 1 MiB at a time, and every round runs one block loop over all the lanes' chunks. A part
 * that finishes frees its lane for the next call waiting.
 */
import { md5Base64, type PartHasher } from './hash-part.js';
import { toBase64 } from './md5.js';
import { LANE_DATA_OFFSET, LANES, MASK_OFFSET, md5LanesModule, STATE_OFFSET } from './md5-lanes-wasm.js';
import { type ChunkReader, type RangeReader, rangeReaderOf, readerOf } from './node-file.js';

/** The bytes a lane takes per round: a read chunk plus a carried partial block and the padding. */
const ROUND_BYTES = 1024 * 1024;
const LANE_BYTES = ROUND_BYTES + 128;
const PAGE = 65536;
const INITIAL = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

interface Kernel {
  compress(p0: number, p1: number, p2: number, p3: number, blocks: number): void;
  bytes: Uint8Array;
  words: Uint32Array;
}

interface Job {
  part: Blob;
  resolve(md5: string): void;
  reject(error: unknown): void;
}

interface Lane {
  job: Job;
  /** A Blob from `openFile` is read straight into the lane's memory; any other as chunks, copied. */
  source: { direct: RangeReader } | { chunks: ChunkReader } | undefined;
  /** Bytes the last read put straight into the lane's memory, after the carried partial block. */
  placed: number;
  /** Bytes of the part hashed or held so far, for the length in the padding. */
  length: number;
  /** A chunk, or what is left of one, not yet copied into the lane's memory. */
  pending: Uint8Array | undefined;
  /** Bytes at the start of the lane's memory: the partial block carried over from the last round. */
  carried: number;
  ended: boolean;
  /** Blocks this round still has to run for the lane. */
  blocks: number;
  at: number;
}

let kernel: Promise<Kernel | undefined> | undefined;

/** The compiled kernel, or undefined where WebAssembly or its SIMD is missing (or a CSP forbids it). */
function loadKernel(): Promise<Kernel | undefined> {
  kernel ??= (async () => {
    try {
      const pages = Math.ceil((LANE_DATA_OFFSET + LANES * LANE_BYTES) / PAGE);
      const { instance } = await WebAssembly.instantiate(md5LanesModule(pages));
      const memory = instance.exports.memory as WebAssembly.Memory;
      const compress = instance.exports.compress as Kernel['compress'];
      return { compress, bytes: new Uint8Array(memory.buffer), words: new Uint32Array(memory.buffer) };
    } catch {
      return undefined;
    }
  })();
  return kernel;
}

/** Whether the four-lane kernel runs here. */
export async function md5LanesAvailable(): Promise<boolean> {
  return (await loadKernel()) !== undefined;
}

const laneBase = (lane: number) => LANE_DATA_OFFSET + lane * LANE_BYTES;
const stateIndex = (word: number, lane: number) => (STATE_OFFSET >> 2) + word * LANES + lane;

/**
 * Copies the lane's next bytes into its memory after the carried partial block, and on the part's
 * last round its MD5 padding; counts the whole blocks the round will run.
 */
function fill(k: Kernel, index: number, lane: Lane): void {
  const base = laneBase(index);
  let used = lane.carried + lane.placed;
  lane.length += lane.placed;
  lane.placed = 0;
  if (lane.pending) {
    const take = Math.min(lane.pending.byteLength, ROUND_BYTES - used);
    k.bytes.set(lane.pending.subarray(0, take), base + used);
    used += take;
    lane.length += take;
    lane.pending = take === lane.pending.byteLength ? undefined : lane.pending.subarray(take);
  }
  if (lane.ended && !lane.pending) {
    // RFC 1321 padding: 0x80, zeros to 56 mod 64, then the length in bits, little-endian.
    const end = Math.ceil((used + 9) / 64) * 64;
    k.bytes.fill(0, base + used, base + end);
    k.bytes[base + used] = 0x80;
    const bits = lane.length * 8;
    const view = new DataView(k.bytes.buffer, base + end - 8, 8);
    view.setUint32(0, bits >>> 0, true);
    view.setUint32(4, Math.floor(bits / 2 ** 32), true);
    lane.blocks = end / 64;
    lane.carried = 0;
  } else {
    lane.blocks = Math.floor(used / 64);
    lane.carried = used % 64;
  }
  lane.at = base;
}

/** Runs every lane's blocks for the round, all lanes at once while each still has some. */
function runRound(k: Kernel, lanes: (Lane | undefined)[]): void {
  for (;;) {
    const busy = lanes.map((lane) => lane !== undefined && lane.blocks > 0);
    if (!busy.includes(true)) return;
    const count = Math.min(...lanes.map((lane, i) => (busy[i] ? (lane as Lane).blocks : Number.POSITIVE_INFINITY)));
    const first = lanes.find((_, i) => busy[i]) as Lane;
    const at = lanes.map((lane, i) => (busy[i] ? (lane as Lane).at : first.at));
    for (let i = 0; i < LANES; i++) k.words[(MASK_OFFSET >> 2) + i] = busy[i] ? 0xffffffff : 0;
    k.compress(at[0] as number, at[1] as number, at[2] as number, at[3] as number, count);
    for (const [i, lane] of lanes.entries()) {
      if (!busy[i] || !lane) continue;
      lane.blocks -= count;
      lane.at += count * 64;
    }
  }
}

function digestOf(k: Kernel, index: number): string {
  const digest = new Uint8Array(16);
  const view = new DataView(digest.buffer);
  for (let word = 0; word < 4; word++) view.setUint32(word * 4, k.words[stateIndex(word, index)] as number, true);
  return toBase64(digest);
}

/**
 * A `hashPart` that hashes up to four parts at once (`lanes: 4` tells the uploader to hand it
 * four), the default in Node. Where the kernel cannot run (no WebAssembly SIMD, a CSP without
 * `wasm-unsafe-eval`) each part goes to `fallback`, by default `md5Base64`.
 *
 * @example
 * const hashPart = createLaneHasher();
 * const [a, b] = await Promise.all([hashPart(file.slice(0, n)), hashPart(file.slice(n, 2 * n))]);
 */
export function createLaneHasher(fallback: PartHasher = md5Base64): PartHasher {
  const waiting: Job[] = [];
  const lanes: (Lane | undefined)[] = new Array(LANES).fill(undefined);
  let running = false;

  const settle = (index: number, outcome: { md5: string } | { error: unknown }) => {
    const lane = lanes[index] as Lane;
    lanes[index] = undefined;
    if ('md5' in outcome) lane.job.resolve(outcome.md5);
    else lane.job.reject(outcome.error);
    const source = lane.source;
    if (source) void ('direct' in source ? source.direct.close() : source.chunks.cancel()).catch(() => undefined);
  };

  const readNext = async (k: Kernel, index: number, lane: Lane): Promise<void> => {
    if (lane.pending || lane.ended) return;
    if (!lane.source) {
      const direct = await rangeReaderOf(lane.job.part);
      lane.source = direct ? { direct } : { chunks: await readerOf(lane.job.part) };
    }
    if ('direct' in lane.source) {
      const start = laneBase(index) + lane.carried;
      lane.placed = await lane.source.direct.readInto(k.bytes.subarray(start, laneBase(index) + ROUND_BYTES));
      lane.ended = lane.length + lane.placed === lane.job.part.size;
      return;
    }
    const step = await lane.source.chunks.read();
    if (step.done) lane.ended = true;
    else lane.pending = step.value;
  };

  const pump = async (k: Kernel) => {
    running = true;
    try {
      for (;;) {
        for (let i = 0; i < LANES && waiting.length > 0; i++) {
          if (lanes[i]) continue;
          const job = waiting.shift() as Job;
          lanes[i] = { job, source: undefined, placed: 0, length: 0, pending: undefined, carried: 0, ended: false, blocks: 0, at: 0 };
          for (let word = 0; word < 4; word++) k.words[stateIndex(word, i)] = INITIAL[word] as number;
        }
        if (!lanes.some(Boolean)) return;
        const reads = await Promise.allSettled(lanes.map((lane, i) => (lane ? readNext(k, i, lane) : undefined)));
        for (const [i, read] of reads.entries()) if (read.status === 'rejected') settle(i, { error: read.reason });
        for (const [i, lane] of lanes.entries()) if (lane) fill(k, i, lane);
        runRound(k, lanes);
        for (const [i, lane] of lanes.entries()) {
          if (lane?.ended && !lane.pending) settle(i, { md5: digestOf(k, i) });
          else if (lane && lane.carried > 0) {
            // The partial block moves to the start of the lane's memory, where the next round's bytes follow it.
            const base = laneBase(i);
            k.bytes.copyWithin(base, lane.at, lane.at + lane.carried);
          }
        }
      }
    } finally {
      running = false;
    }
  };

  const hasher: PartHasher = async (part) => {
    const k = await loadKernel();
    if (!k) return fallback(part);
    return new Promise<string>((resolve, reject) => {
      waiting.push({ part, resolve, reject });
      if (!running)
        void pump(k).catch((error: unknown) => {
          for (const [i, lane] of lanes.entries()) if (lane) settle(i, { error });
          for (const job of waiting.splice(0)) job.reject(error);
        });
    });
  };
  return Object.assign(hasher, { lanes: LANES });
}
