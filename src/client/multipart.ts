/**
 * The parts of one multipart upload: each waits for a slot in the client's queue, gets a URL from
 * the batch signer, and is PUT as a `blob.slice()` (streamed, never read whole), retried per
 * `retry.ts` until it lands or the upload fails. Progress counts bytes of parts that landed plus
 * bytes of parts in flight, each capped at its length.
 */
import { isDropgateError } from '../shared/errors.js';
import { type PartPlan, partLength } from '../shared/parts.js';
import { resolveUrl } from './api.js';
import type { PartHasher } from './hash-part.js';
import { createPartSigner, type PresignedParts } from './multipart-signer.js';
import { abortedError } from './put-error.js';
import type { Put } from './put-watchdog.js';
import type { Queue } from './queue.js';
import { decide, type ErrorSource, type RetryDecision } from './retry.js';
import type { FetchLike } from './types.js';
import { childSignal, isOffline, sleep, waitForOnline } from './wait.js';

/** Part `partNumber` (1-based) of `file` under `plan`, as a slice: never read whole. */
export function partBlob(file: Blob, plan: PartPlan, partNumber: number): Blob {
  const start = (partNumber - 1) * plan.partSize;
  return file.slice(start, start + partLength(file.size, plan, partNumber));
}

export interface PartsSenderOptions {
  file: Blob;
  uploadId: string;
  plan: PartPlan;
  endpoint: string;
  headers?: Record<string, string> | undefined;
  fetchImpl: FetchLike;
  queue: Queue;
  retryDelays: readonly number[];
  hasher: PartHasher | undefined;
  /** The storage PUT (XHR or fetch, with the stall watchdog). */
  put: Put;
  /** Parts signed per API call. */
  batchSize: number;
  /** Part URLs that came with the sign answer. */
  presigned?: PresignedParts | undefined;
  /** Parts this upload keeps moving at once (each still waits for a slot in the shared queue). */
  workers: number;
  /** Called whenever the byte count may have changed. */
  onProgress(loadedBytes: number): void;
}

interface Part {
  partNumber: number;
  start: number;
  end: number;
  status: 'waiting' | 'active' | 'done';
  etag: string | undefined;
}

export interface PartsSender {
  /** Parts the storage already holds (GET status, on resume) count as sent; returns how many. */
  hold(stored: readonly { partNumber: number; size: number; etag: string }[]): number;
  /** Sends every part not yet sent. Rejects with the first error that is the upload's, or UPLOAD_ABORTED. */
  run(signal: AbortSignal): Promise<void>;
  loadedBytes(): number;
  /** The parts list for complete; undefined when an ETag could not be read (complete then uses ListParts). */
  completion(): { partNumber: number; etag: string }[] | undefined;
}

/**
 * @example
 * const sender = createPartsSender({ file, uploadId, plan, endpoint, fetchImpl, queue, put, … });
 * sender.hold(status.parts ?? []);
 * await sender.run(signal);
 * await complete(uploadId, sender.completion());
 */
export function createPartsSender(options: PartsSenderOptions): PartsSender {
  const { file, plan, queue, retryDelays } = options;
  const parts: Part[] = Array.from({ length: plan.partCount }, (_, i) => {
    const start = i * plan.partSize;
    return { partNumber: i + 1, start, end: start + partLength(file.size, plan, i + 1), status: 'waiting', etag: undefined };
  });
  const inFlight = new Map<number, number>();
  let landed = 0;
  const blobOf = (partNumber: number) => partBlob(file, plan, partNumber);
  const signer = createPartSigner({
    fetchImpl: options.fetchImpl,
    endpoint: options.endpoint,
    headers: options.headers,
    uploadId: options.uploadId,
    batchSize: options.batchSize,
    hasher: options.hasher,
    blobOf,
    presigned: options.presigned,
    upcoming: () => parts.filter((p) => p.status === 'waiting').map((p) => p.partNumber),
  });
  const loadedBytes = () => {
    let bytes = landed;
    for (const n of inFlight.values()) bytes += n;
    return bytes;
  };
  const report = () => options.onProgress(loadedBytes());

  const sendPart = async (part: Part, signal: AbortSignal): Promise<void> => {
    const length = part.end - part.start;
    for (let failures = 0; ; ) {
      if (isOffline()) await waitForOnline(signal);
      part.status = 'waiting';
      const release = await queue.acquire(signal);
      part.status = 'active';
      let source: ErrorSource = 'api';
      let failure: unknown;
      let next: RetryDecision | undefined;
      try {
        const signed = await signer.urlFor(part.partNumber, signal);
        // A 429 elsewhere while this part was being signed holds it back too.
        await queue.open(signal);
        source = 'storage';
        const { etag } = await options.put({
          url: resolveUrl(signed.url, options.endpoint),
          headers: signed.headers,
          body: blobOf(part.partNumber),
          signal,
          onProgress: (loaded) => {
            inFlight.set(part.partNumber, Math.min(loaded, length));
            report();
          },
        });
        part.status = 'done';
        part.etag = etag;
        landed += length;
        inFlight.delete(part.partNumber);
        signer.drop(part.partNumber);
        queue.succeeded();
        report();
        return;
      } catch (error) {
        failure = error;
        // Offline is no failure of this part: it waits for the network without spending a retry.
        const offline = isDropgateError(error) && error.code === 'NETWORK_ERROR' && isOffline();
        next = signal.aborted || offline ? undefined : decide(error, source, failures++, retryDelays);
        // Before the slot is given back, so that no other part starts into the 429.
        if (next?.kind === 'retry' && next.rateLimited) queue.rateLimited(next.delayMs);
      } finally {
        release();
      }
      part.status = 'waiting';
      inFlight.delete(part.partNumber);
      if (signal.aborted) throw abortedError(signal.reason);
      if (next === undefined) continue;
      if (next.kind === 'fail') throw failure;
      if (next.kind === 'resign') {
        signer.forget(part.partNumber);
        continue;
      }
      if (next.kind === 'rehash') signer.drop(part.partNumber);
      await sleep(next.delayMs, signal);
    }
  };

  return {
    hold(stored) {
      let held = 0;
      for (const { partNumber, size, etag } of stored) {
        const part = parts[partNumber - 1];
        // A part of the wrong size is not the plan's: it is sent again and replaces the stored one.
        if (!part || part.status === 'done' || size !== part.end - part.start) continue;
        part.status = 'done';
        part.etag = etag;
        landed += size;
        held += 1;
      }
      return held;
    },
    async run(signal) {
      const run = childSignal(signal);
      let first: unknown;
      const pending = parts.filter((part) => part.status !== 'done');
      let next = 0;
      // A few workers, each taking the next part, rather than a task per part: 10,000 parts would
      // otherwise mean 10,000 waiters (and abort listeners) on the queue at once.
      const worker = async () => {
        while (next < pending.length && first === undefined) {
          const part = pending[next++] as Part;
          try {
            await sendPart(part, run.signal);
          } catch (error) {
            // The first real failure stops the others; theirs are just the abort that follows.
            if (first === undefined) {
              first = error;
              run.abort(error);
            }
            return;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(options.workers, pending.length) }, worker));
      run.dispose();
      if (signal.aborted) throw abortedError(signal.reason);
      if (first !== undefined) throw first;
    },
    loadedBytes,
    completion() {
      if (parts.some((p) => p.etag === undefined)) return undefined;
      return parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag as string }));
    },
  };
}
