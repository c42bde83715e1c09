/**
 * A part hasher that hashes up to twelve parts at once in one thread with the SIMD MD5
 * (`shared/md5-lanes.ts`). Concurrent calls share the kernel: each holds a lane while its part is
 * read, 1 MiB a round, and each round hashes every lane's bytes in one pass. A part that finishes
 * frees its lane for the next call waiting.
 */
import { instantiateMd5Lanes, LANES, type Md5Lanes } from '../shared/md5-lanes.js';
import { md5Base64, type PartHasher } from './hash-part.js';
import { toBase64 } from './md5.js';
import { type ChunkReader, type RangeReader, rangeReaderOf, readerOf } from './node-file.js';

/** The bytes a lane takes per round: a file read's worth. */
const ROUND_BYTES = 1024 * 1024;

interface Job {
  part: Blob;
  resolve(md5: string): void;
  reject(error: unknown): void;
}

interface Lane {
  job: Job;
  /** A Blob from `openFile` is read straight into the lane's region; any other as chunks, copied. */
  source: { direct: RangeReader } | { chunks: ChunkReader } | undefined;
  /** Bytes of the part in the region or hashed, for the length in the padding. */
  length: number;
  /** Bytes at the start of the region: the partial block the last round left, then this round's. */
  filled: number;
  /** A chunk, or what is left of one, not yet copied into the region. */
  pending: Uint8Array | undefined;
  ended: boolean;
}

let probe: Promise<Md5Lanes | undefined> | undefined;

/** Whether the SIMD kernel runs here. */
export async function md5LanesAvailable(): Promise<boolean> {
  probe ??= instantiateMd5Lanes(64);
  return (await probe) !== undefined;
}

/** Copies as much of the lane's pending chunk as its region has room for. */
function copyPending(k: Md5Lanes, index: number, lane: Lane): void {
  if (!lane.pending) return;
  const take = Math.min(lane.pending.byteLength, k.laneBytes - lane.filled);
  k.region(index).set(lane.pending.subarray(0, take), lane.filled);
  lane.filled += take;
  lane.length += take;
  lane.pending = take === lane.pending.byteLength ? undefined : lane.pending.subarray(take);
}

/**
 * A `hashPart` that hashes up to twelve parts at once (`lanes: 12` tells the uploader to hand it
 * twelve), the default in Node. Where the kernel cannot run (no WebAssembly SIMD, a CSP without
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
  // A kernel of its own (12 MiB of lane memory), compiled on first use: lanes are this hasher's.
  let kernel: Promise<Md5Lanes | undefined> | undefined;

  const settle = (index: number, outcome: { md5: string } | { error: unknown }) => {
    const lane = lanes[index] as Lane;
    lanes[index] = undefined;
    if ('md5' in outcome) lane.job.resolve(outcome.md5);
    else lane.job.reject(outcome.error);
    const source = lane.source;
    if (source) void ('direct' in source ? source.direct.close() : source.chunks.cancel()).catch(() => undefined);
  };

  const readNext = async (k: Md5Lanes, index: number, lane: Lane): Promise<void> => {
    if (lane.pending || lane.ended) return;
    if (!lane.source) {
      const direct = await rangeReaderOf(lane.job.part);
      lane.source = direct ? { direct } : { chunks: await readerOf(lane.job.part) };
    }
    if ('direct' in lane.source) {
      const placed = await lane.source.direct.readInto(k.region(index).subarray(lane.filled));
      lane.filled += placed;
      lane.length += placed;
      lane.ended = lane.length === lane.job.part.size;
      return;
    }
    const step = await lane.source.chunks.read();
    if (step.done) lane.ended = true;
    else lane.pending = step.value;
  };

  const pump = async (k: Md5Lanes) => {
    running = true;
    try {
      // The parts handed over in this turn of the event loop start side by side: they come one
      // promise at a time, and a round started with the first alone kept the rest a round behind.
      await new Promise((resolve) => (globalThis.setImmediate ?? setTimeout)(resolve));
      for (;;) {
        for (let i = 0; i < LANES && waiting.length > 0; i++) {
          if (lanes[i]) continue;
          lanes[i] = { job: waiting.shift() as Job, source: undefined, length: 0, filled: 0, pending: undefined, ended: false };
          k.reset(i);
        }
        if (!lanes.some(Boolean)) return;
        const reads = await Promise.allSettled(lanes.map((lane, i) => (lane ? readNext(k, i, lane) : undefined)));
        for (const [i, read] of reads.entries()) if (read.status === 'rejected') settle(i, { error: read.reason });
        for (const [i, lane] of lanes.entries()) if (lane) copyPending(k, i, lane);
        const left = k.consume(lanes.map((lane) => lane?.filled ?? 0));
        for (const [i, lane] of lanes.entries()) {
          if (!lane) continue;
          lane.filled = left[i] as number;
          if (lane.ended && !lane.pending) settle(i, { md5: toBase64(k.finish(i, lane.filled, lane.length)) });
        }
      }
    } finally {
      running = false;
    }
  };

  const hasher: PartHasher = async (part) => {
    kernel ??= instantiateMd5Lanes(ROUND_BYTES);
    const k = await kernel;
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
