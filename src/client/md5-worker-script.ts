/**
 * The script of the hashing worker (`md5-worker.ts` starts it from a Blob URL): the program, and
 * the self-contained functions it runs, as source text, with the SIMD kernel's bytes where the
 * kernel may run.
 */
import { driveMd5Lanes, MD5_LANES_LAYOUT, type Md5LanesLayout, md5LanesBytes } from '../shared/md5-lanes.js';
import { createMd5, toBase64 } from './md5.js';

/**
 * Bytes the worker reads at a time: a lane's region with the SIMD MD5 (24 MiB of kernel memory for
 * its twelve lanes), a chunk with the JS one. Blob reads cost enough in Chromium that the size
 * shows: with twelve lanes, 1 MiB reads hashed 389 MB/s, 2 MiB 452 and 4 MiB 523, at twice the
 * memory (BENCHMARKS.md, md5-browser).
 */
const CHUNK_BYTES = 2 * 1024 * 1024;

export type WorkerRequest = { id: number; part: Blob };
/** `lanes`: whether the SIMD MD5 hashed it (the JS MD5 otherwise). */
export type WorkerReply = { id: number; md5?: string; lanes?: boolean; error?: string };

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
export function workerKernel(): WorkerKernel | null {
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
  onmessage: ((event: { data: WorkerRequest }) => void) | null;
  postMessage(reply: WorkerReply): void;
}

/**
 * The worker's program. It runs from its source text, so it uses nothing but its arguments and
 * globals: no async/await and no named inner functions, which bundlers may turn into calls to
 * helpers defined outside this function (`__async`, `__name`); test/worker-bundlers.test.ts checks.
 * With the kernel, up to twelve parts share its lanes, a chunk of each per round, and parts that
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
  const waiting: WorkerRequest[] = [];
  const pump = {
    running: false,
    round(): void {
      for (let i = 0; i < held.length && waiting.length > 0; i++) {
        if (held[i]) continue;
        const next = waiting.shift() as WorkerRequest;
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
