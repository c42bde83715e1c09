/**
 * Part MD5s off the main thread: Web Workers started from a Blob URL built from the source text of
 * self-contained functions. Where WebAssembly SIMD may run, one worker hashes four parts at once
 * with the SIMD MD5 (`driveMd5Lanes` over the kernel's bytes, carried in the script); elsewhere (a
 * CSP without `wasm-unsafe-eval`, no SIMD) a small pool of
 * workers each runs `createMd5` from `md5.ts`, one part at a time. No worker file to ship and no
 * bundler plugin to configure: it works in any bundle. A part goes to a worker as its Blob slice
 * (a reference, not a copy: Blobs are structured-cloneable), and the worker reads it a chunk at a
 * time, so memory stays bounded whatever the part size. Where workers cannot run (none, a CSP that
 * forbids `blob:` workers, a bundle that broke the copied source) it falls back to the main thread.
 */
import { driveMd5Lanes, LANES, MD5_LANES_LAYOUT, type Md5LanesLayout, md5LanesBytes } from '../shared/md5-lanes.js';
import { md5Base64, type PartHasher } from './hash-part.js';
import { createMd5, toBase64 } from './md5.js';
import { createLaneHasher } from './md5-lanes.js';

/** A `PartHasher` backed by workers; they end on their own when idle, or at once with `terminate()`. */
export type WorkerHasher = PartHasher & {
  /** Ends every worker now; later calls start new ones. */
  terminate(): void;
};

export interface WorkerHasherOptions {
  /**
   * Workers at most. Default: one where the SIMD MD5 runs (it hashes four parts at once), else
   * cores − 1, between 1 and 4 (each hashes one part at a time).
   */
  maxWorkers?: number;
  /** A worker with nothing to do for this many milliseconds is terminated. Default 5000. */
  idleMs?: number;
  /** Hashes parts when workers cannot. Default `md5Base64` (the pure-JS MD5 on the main thread). */
  fallback?: PartHasher;
}

/** Bytes the worker reads at a time: a lane's region with the SIMD MD5, a chunk with the JS one. */
const CHUNK_BYTES = 1024 * 1024;

type Request = { id: number; part: Blob };
/** `lanes`: whether the SIMD MD5 hashed it (the JS MD5 otherwise). */
type Reply = { id: number; md5?: string; lanes?: boolean; error?: string };

/** The SIMD kernel as the worker gets it: its bytes in base64, and its memory layout. */
interface WorkerKernel {
  bytes: string;
  layout: Md5LanesLayout;
}

let kernelHere: WorkerKernel | null | undefined;

/**
 * The kernel for workers where it can run: WebAssembly with SIMD, and no Content-Security-Policy
 * against compiling it (a `blob:` worker inherits the page's). Decided once, synchronously.
 */
function workerKernel(): WorkerKernel | null {
  if (kernelHere !== undefined) return kernelHere;
  kernelHere = null;
  try {
    const bytes = md5LanesBytes(CHUNK_BYTES);
    // A CSP without 'wasm-unsafe-eval' refuses any module, however small; `validate` checks SIMD.
    new WebAssembly.Module(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
    if (WebAssembly.validate(bytes)) kernelHere = { bytes: toBase64(bytes), layout: MD5_LANES_LAYOUT };
  } catch {
    kernelHere = null;
  }
  return kernelHere;
}

interface WorkerScope {
  onmessage: ((event: { data: Request }) => void) | null;
  postMessage(reply: Reply): void;
}

/**
 * The worker's program. It runs from its source text, so it uses nothing but its arguments and
 * globals: no async/await and no named inner functions, which bundlers may turn into calls to
 * helpers defined outside this function (`__async`, `__name`); test/worker-bundlers.test.ts checks.
 * With the kernel, up to four parts share its lanes, a chunk of each per round, and parts that
 * arrive take the lanes that free up; without it (or if it does not compile), one part at a time.
 */
function workerMain(
  newMd5: typeof createMd5,
  base64: typeof toBase64,
  chunkBytes: number,
  drive: typeof driveMd5Lanes,
  kernel: WorkerKernel | null,
): void {
  const scope = globalThis as unknown as WorkerScope;
  const fail = {
    reply(id: number, error: unknown): void {
      scope.postMessage({ id, error: String((error as Error | undefined)?.message ?? error) });
    },
  };
  let k: ReturnType<typeof driveMd5Lanes> | undefined;
  if (kernel) {
    try {
      const raw = atob(kernel.bytes);
      const bytes = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
      k = drive(new WebAssembly.Instance(new WebAssembly.Module(bytes)), chunkBytes, kernel.layout);
    } catch {
      k = undefined;
    }
  }
  if (!k || !kernel) {
    scope.onmessage = (event) => {
      const { id, part } = event.data;
      const md5 = newMd5();
      // A method, not `const step = …`, for the same reason as in `createMd5` (keepNames).
      const read = {
        from(at: number): Promise<void> | undefined {
          if (at >= part.size) {
            scope.postMessage({ id, md5: base64(md5.digest()), lanes: false });
            return undefined;
          }
          return part
            .slice(at, at + chunkBytes)
            .arrayBuffer()
            .then((buffer) => {
              md5.update(new Uint8Array(buffer));
              return read.from(at + chunkBytes);
            });
        },
      };
      new Promise<void>((resolve) => resolve(read.from(0))).catch((error: unknown) => fail.reply(id, error));
    };
    return;
  }
  const lanes = k;
  // Per lane: the part, how far it was read, and the bytes at the start of its region (the
  // partial block the last round left, then this round's chunk).
  const held: ({ id: number; part: Blob; at: number; filled: number } | undefined)[] = [];
  for (let i = 0; i < kernel.layout.lanes; i++) held.push(undefined);
  const waiting: Request[] = [];
  const pump = {
    running: false,
    round(): void {
      for (let i = 0; i < held.length && waiting.length > 0; i++) {
        if (held[i]) continue;
        const next = waiting.shift() as Request;
        held[i] = { id: next.id, part: next.part, at: 0, filled: 0 };
        lanes.reset(i);
      }
      pump.running = held.some((lane) => lane !== undefined);
      if (!pump.running) return;
      const reads = held.map((lane) =>
        lane && lane.at < lane.part.size
          ? lane.part
              .slice(lane.at, lane.at + chunkBytes - lane.filled)
              .arrayBuffer()
              .then(
                (buffer) => ({ buffer, error: undefined }),
                (error: unknown) => ({ buffer: undefined, error }),
              )
          : undefined,
      );
      Promise.all(reads)
        .then((results) => {
          const filled = held.map((lane, i) => {
            const result = results[i];
            if (!lane) return 0;
            if (result?.buffer) {
              lanes.region(i).set(new Uint8Array(result.buffer), lane.filled);
              lane.filled += result.buffer.byteLength;
              lane.at += result.buffer.byteLength;
            } else if (result) {
              fail.reply(lane.id, result.error);
              held[i] = undefined;
              return 0;
            }
            return lane.filled;
          });
          const left = lanes.consume(filled);
          held.forEach((lane, i) => {
            if (!lane) return;
            lane.filled = left[i] as number;
            if (lane.at < lane.part.size) return;
            scope.postMessage({ id: lane.id, md5: base64(lanes.finish(i, lane.filled, lane.part.size)), lanes: true });
            held[i] = undefined;
          });
          pump.round();
        })
        .catch((error: unknown) => {
          held.forEach((lane, i) => {
            if (lane) fail.reply(lane.id, error);
            held[i] = undefined;
          });
          pump.round();
        });
    },
  };
  scope.onmessage = (event) => {
    waiting.push(event.data);
    if (!pump.running) pump.round();
  };
}

/** The worker's whole script: the program and the MD5 it runs, as source text. */
export function md5WorkerSource(): string {
  const kernel = JSON.stringify(workerKernel());
  return `"use strict";(${workerMain.toString()})(${createMd5.toString()},${toBase64.toString()},${CHUNK_BYTES},${driveMd5Lanes.toString()},${kernel});`;
}

/** Whether this runtime has classic Web Workers and Blob URLs to start them from. */
export function canUseWorkers(): boolean {
  const g = globalThis as { Worker?: unknown; URL?: { createObjectURL?: unknown } };
  return typeof g.Worker === 'function' && typeof g.URL?.createObjectURL === 'function' && typeof Blob === 'function';
}

interface Job {
  part: Blob;
  resolve(md5: string): void;
  reject(error: unknown): void;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Job>;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * @example
 * const hashPart = createWorkerHasher();
 * const client = createClient({ endpoint: '/api/upload', hashPart }); // the browser default anyway
 * await hashPart(file.slice(0, 16 * 1024 * 1024)); // 'base64 MD5'
 * hashPart.terminate();
 */
export function createWorkerHasher(options: WorkerHasherOptions = {}): WorkerHasher {
  const fallback = options.fallback ?? md5Base64;
  const idleMs = options.idleMs ?? 5000;
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 2;
  // Parts a worker takes at once: the kernel's lanes, or one for the JS MD5.
  const perWorker = canUseWorkers() && workerKernel() ? LANES : 1;
  const maxWorkers = Math.max(1, Math.floor(options.maxWorkers ?? (perWorker > 1 ? 1 : Math.min(4, cores - 1))));
  const slots = new Set<Slot>();
  const waiting: { id: number; job: Job }[] = [];
  let nextId = 1;
  let url: string | undefined;
  // Once a worker fails to run (CSP, a broken copy of the source), the main thread does the work.
  let broken = !canUseWorkers();

  const onMainThread = (job: Job) => {
    fallback(job.part).then(job.resolve, job.reject);
  };

  const stop = (slot: Slot) => {
    clearTimeout(slot.idleTimer);
    slot.worker.terminate();
    slots.delete(slot);
  };

  const breakDown = () => {
    broken = true;
    for (const slot of [...slots]) {
      stop(slot);
      for (const job of slot.jobs.values()) onMainThread(job);
    }
    for (const { job } of waiting.splice(0)) onMainThread(job);
  };

  const send = (slot: Slot, id: number, job: Job) => {
    clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    slot.jobs.set(id, job);
    slot.worker.postMessage({ id, part: job.part } satisfies Request);
  };

  const spawn = (): Slot | undefined => {
    try {
      url ??= URL.createObjectURL(new Blob([md5WorkerSource()], { type: 'text/javascript' }));
      const slot: Slot = { worker: new Worker(url), jobs: new Map(), idleTimer: undefined };
      slot.worker.onmessage = (event: MessageEvent<Reply>) => {
        const { id, md5, error } = event.data;
        const job = slot.jobs.get(id);
        if (!job) return;
        slot.jobs.delete(id);
        // A part the worker could not read is tried once more here: a real read error then
        // surfaces as the upload's error, anything else still gets its MD5.
        if (typeof md5 === 'string' && error === undefined) job.resolve(md5);
        else onMainThread(job);
        const next = waiting.shift();
        if (next) send(slot, next.id, next.job);
        else if (slot.jobs.size === 0) slot.idleTimer = setTimeout(() => stop(slot), idleMs);
      };
      // The script did not load or threw: no worker will do better.
      slot.worker.onerror = (event) => {
        event.preventDefault?.();
        breakDown();
      };
      slots.add(slot);
      return slot;
    } catch {
      breakDown();
      return undefined;
    }
  };

  const hasher = ((part: Blob) =>
    new Promise<string>((resolve, reject) => {
      const job: Job = { part, resolve, reject };
      if (broken) return onMainThread(job);
      const id = nextId++;
      const free = [...slots].find((slot) => slot.jobs.size < perWorker);
      const slot = free ?? (slots.size < maxWorkers ? spawn() : undefined);
      if (broken) return onMainThread(job);
      if (slot) send(slot, id, job);
      else waiting.push({ id, job });
    })) as WorkerHasher;

  // The uploader hands the pool as many parts at once as its workers take.
  Object.defineProperty(hasher, 'lanes', { value: maxWorkers * perWorker });
  hasher.terminate = () => {
    for (const slot of [...slots]) {
      stop(slot);
      for (const job of slot.jobs.values()) onMainThread(job);
    }
    for (const { job } of waiting.splice(0)) onMainThread(job);
    if (url) URL.revokeObjectURL(url);
    url = undefined;
  };
  return hasher;
}

let shared: WorkerHasher | undefined;
let nodeLanes: PartHasher | undefined;

/**
 * The default `hashPart`: where Node's crypto is there (Node, Bun, Deno), the SIMD MD5 hashing four
 * parts at once (node:crypto where WebAssembly cannot run); workers in browsers; the main-thread JS
 * MD5 elsewhere. One pool, or one set of lanes, for every upload of the process or page.
 * @example const hasher = options.hashPart ?? defaultPartHasher();
 */
export function defaultPartHasher(): PartHasher {
  if (hasNodeCrypto()) {
    nodeLanes ??= createLaneHasher();
    return nodeLanes;
  }
  if (!canUseWorkers()) return md5Base64;
  shared ??= createWorkerHasher();
  return shared;
}

/**
 * Whether `hasher` is node:crypto's MD5 (~700 MB/s) or the SIMD MD5 in Node: fast enough that the
 * uploader hashes its first parts before the sign call, whose answer then carries their URLs. A JS
 * MD5 takes long enough that a refused file would keep its user waiting for the refusal.
 */
export function hashesNatively(hasher: PartHasher): boolean {
  return (hasher === md5Base64 || hasher === nodeLanes) && hasNodeCrypto();
}

function hasNodeCrypto(): boolean {
  return typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
}
