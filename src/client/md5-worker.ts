/**
 * Part MD5s off the main thread: Web Workers started from a Blob URL built from the source text of
 * self-contained functions. Where WebAssembly SIMD may run, one worker hashes twelve parts at once
 * with the SIMD MD5 (`driveMd5Lanes` over the kernel's bytes, carried in the script); elsewhere (a
 * CSP without `wasm-unsafe-eval`, no SIMD) a small pool of workers each runs `createMd5` from
 * `md5.ts`, one part at a time. No worker file to ship and no bundler plugin to configure: it
 * works in any bundle (the script: `md5-worker-script.ts`). A part goes to a worker as its Blob
 * slice (a reference, not a copy: Blobs are structured-cloneable), and the worker reads it a chunk
 * at a time, so memory stays bounded whatever the part size. Where workers cannot run (none, a CSP
 * that forbids `blob:` workers, a bundle that broke the copied source) it falls back to the main
 * thread.
 */
import { LANES } from '../shared/md5-lanes.js';
import { md5Base64, type PartHasher } from './hash-part.js';
import { createLaneHasher } from './md5-lanes.js';
import { md5WorkerSource, type WorkerReply, type WorkerRequest, workerKernel } from './md5-worker-script.js';

export { md5WorkerSource };

/** A `PartHasher` backed by workers; they end on their own when idle, or at once with `terminate()`. */
export type WorkerHasher = PartHasher & {
  /** Ends every worker now; later calls start new ones. */
  terminate(): void;
};

export interface WorkerHasherOptions {
  /**
   * Workers at most. Default: one where the SIMD MD5 runs (it hashes twelve parts at once), else
   * cores − 1, between 1 and 4 (each hashes one part at a time).
   */
  maxWorkers?: number;
  /** A worker with nothing to do for this many milliseconds is terminated. Default 5000. */
  idleMs?: number;
  /** Hashes parts when workers cannot. Default `md5Base64` (the pure-JS MD5 on the main thread). */
  fallback?: PartHasher;
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
    slot.worker.postMessage({ id, part: job.part } satisfies WorkerRequest);
  };

  const spawn = (): Slot | undefined => {
    try {
      url ??= URL.createObjectURL(new Blob([md5WorkerSource()], { type: 'text/javascript' }));
      const slot: Slot = { worker: new Worker(url), jobs: new Map(), idleTimer: undefined };
      slot.worker.onmessage = (event: MessageEvent<WorkerReply>) => {
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
 * The default `hashPart`: where Node's crypto is there (Node, Bun, Deno), the SIMD MD5 hashing
 * twelve parts at once (node:crypto where WebAssembly cannot run); workers in browsers; the main-thread JS
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
