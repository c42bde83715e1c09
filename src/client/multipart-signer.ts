/**
 * Part URLs, signed lazily in batches: when a part is about to go up and has no fresh URL, it and
 * the next few parts waiting behind it are hashed and signed in one `POST {base}/{id}/parts`.
 * So a URL is used within moments of being signed (URLs expire in minutes; a 4 GB upload takes
 * longer), and a 250-part upload costs ~20 API calls, not 250.
 *
 * Hashing runs ahead of signing: each URL handed out may start the MD5 of the next parts (four
 * batches' worth, or two lane-fulls), a lane-full at a time, so the next batch is hashed while
 * the current one is on the wire. Hashing only when a batch was due left every slot idle while its
 * parts were read and hashed (1 GiB into the disk store: 11.4 s to send with hashing, 4.7 s
 * without; BENCHMARKS.md).
 * A batch waits for the hashes of `batchSize` parts; parts behind those whose hash is already
 * done ride along, up to four batches' worth, since every call costs the server a request
 * (a 256 MiB upload: two calls instead of four; BENCHMARKS.md, load).
 */
import { DropgateError, isDropgateError } from '../shared/errors.js';
import { MAX_PARTS_PER_REQUEST, type PartsResponse, PartsResponseSchema, parseWith } from '../shared/protocol.js';
import { apiUrl, callApi } from './api.js';
import type { PartHasher } from './hash-part.js';
import { abortedError } from './put-error.js';
import type { FetchLike } from './types.js';

export interface SignedPart {
  url: string;
  headers: Record<string, string>;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  signedAt: number;
}

/** Part URLs that came with the sign answer, and the MD5s they were signed with. */
export interface PresignedParts {
  parts: PartsResponse['parts'];
  md5s: ReadonlyMap<number, string>;
  signedAt: number;
}

export interface PartSignerOptions {
  fetchImpl: FetchLike;
  endpoint: string;
  headers?: Record<string, string> | undefined;
  uploadId: string;
  /** Parts a call waits to have hashed (the client's concurrency: one batch feeds every slot). */
  batchSize: number;
  hasher: PartHasher | undefined;
  blobOf(partNumber: number): Blob;
  /** Parts waiting for a slot, in the order they will get one: the batch is filled from these. */
  upcoming(): number[];
  /** URLs signed before the signer existed (the sign answer's first parts). */
  presigned?: PresignedParts | undefined;
  now?: () => number;
}

export interface PartSigner {
  /** A URL for the part that is still good for a while, signing a batch if needed. */
  urlFor(partNumber: number, signal: AbortSignal): Promise<SignedPart>;
  /** Drops the part's URL (expired, or used up) so the next attempt signs a new one. */
  forget(partNumber: number): void;
  /** Drops the part's URL and MD5: the part is done, or the storage found its bytes did not match them. */
  drop(partNumber: number): void;
}

/**
 * The part's MD5 by `hasher`; a part that cannot be read is the caller's INVALID_REQUEST.
 * @example const md5 = await md5OfPart(md5Base64, file.slice(0, partSize), 1);
 */
export async function md5OfPart(hasher: PartHasher, part: Blob, partNumber: number): Promise<string> {
  try {
    return await hasher(part);
  } catch (error) {
    if (isDropgateError(error)) throw error;
    throw new DropgateError(
      'INVALID_REQUEST',
      `Could not read part ${partNumber} of the file to hash it.`,
      { partNumber },
      { cause: error },
    );
  }
}

/**
 * @example
 * const signer = createPartSigner({ fetchImpl: fetch, endpoint, uploadId, batchSize: 4, hasher: md5Base64, blobOf, upcoming });
 * const { url, headers } = await signer.urlFor(1, signal);
 */
export function createPartSigner(options: PartSignerOptions): PartSigner {
  const now = options.now ?? Date.now;
  const urls = new Map<number, SignedPart>();
  const md5s = new Map<number, { md5: Promise<string>; signal: AbortSignal }>();
  const signing = new Map<number, Promise<void>>();
  // As many parts hashed at once as the hasher works on best, each lane one part after another:
  // one for node:crypto (the hash is CPU and reads on this thread, shared with the PUTs), twelve
  // for the SIMD MD5, which hashes twelve parts in the time of one.
  const lanes = Math.max(1, options.hasher?.lanes ?? 1);
  const hashing: Promise<unknown>[] = new Array(lanes).fill(Promise.resolve());
  let nextLane = 0;
  // Most parts one call signs (a batch and the hashed parts that ride along with it).
  const mostPerCall = Math.min(MAX_PARTS_PER_REQUEST, 4 * Math.max(1, options.batchSize));
  // How many waiting parts are hashed ahead: enough for the next call to sign as many as it may,
  // and two lane-fulls, so that one can start hashing while the other is still waiting to be sent.
  const lookAhead = Math.max(mostPerCall, 2 * lanes);
  // Parts whose MD5 is known, so a batch may take them without waiting.
  const hashed = new Set<number>();

  if (options.presigned) {
    const { parts, md5s: known, signedAt } = options.presigned;
    for (const part of parts)
      urls.set(part.partNumber, { url: part.url, headers: part.headers, expiresAt: Date.parse(part.expiresAt), signedAt });
    const settled = new AbortController().signal;
    for (const [partNumber, md5] of known) {
      md5s.set(partNumber, { md5: Promise.resolve(md5), signal: settled });
      hashed.add(partNumber);
    }
  }

  // Good for at least half its lifetime or 30 s, whichever is less: a short-lived URL is still
  // used rather than re-signed forever.
  const fresh = (part: SignedPart | undefined): part is SignedPart =>
    part !== undefined && part.expiresAt - now() > Math.min(30_000, (part.expiresAt - part.signedAt) / 2);

  const hashOne = async (partNumber: number, signal: AbortSignal): Promise<string> => {
    if (signal.aborted) throw abortedError(signal.reason);
    return md5OfPart(options.hasher as PartHasher, options.blobOf(partNumber), partNumber);
  };

  /** Queues the part's MD5 behind the parts already being hashed. */
  const start = (partNumber: number, signal: AbortSignal) => {
    const lane = nextLane++ % hashing.length;
    const md5 = (hashing[lane] as Promise<unknown>).then(() => hashOne(partNumber, signal));
    hashing[lane] = md5.catch(() => undefined);
    const entry = { md5, signal };
    md5s.set(partNumber, entry);
    md5.then(
      () => {
        if (md5s.get(partNumber) === entry) hashed.add(partNumber);
      },
      // A failed hash is not kept: the part's next attempt reads it again.
      () => {
        if (md5s.get(partNumber) === entry) md5s.delete(partNumber);
      },
    );
    return entry;
  };

  /** The part's MD5 (undefined without a hasher), hashed ahead or now. */
  const hash = async (partNumber: number, signal: AbortSignal): Promise<string | undefined> => {
    if (!options.hasher) return undefined;
    for (;;) {
      const entry = md5s.get(partNumber) ?? start(partNumber, signal);
      try {
        return await entry.md5;
      } catch (error) {
        // Queued by a run that was paused since: this run hashes the part itself.
        if (entry.signal !== signal && entry.signal.aborted && !signal.aborted) continue;
        throw error;
      }
    }
  };

  /**
   * Starts hashing the parts that will be signed next, so their batch need not wait for it, a
   * lane-full at a time: the SIMD MD5 costs as much per round with one part as with twelve, and
   * starting each part as it came into view left all lanes but one idle (1 GiB into RGW, profiled:
   * the kernel's self time 1,000 ms that way, 314–385 ms with lane-fulls; BENCHMARKS.md, datapath).
   * Fewer start at once only when a batch needs them now (`needed`) or they are the last.
   */
  const hashAhead = (signal: AbortSignal, needed: readonly number[] = []) => {
    if (!options.hasher || signal.aborted) return;
    const upcoming = options.upcoming();
    const due = [...new Set([...needed, ...upcoming.slice(0, lookAhead)])].filter((n) => !md5s.has(n) && !fresh(urls.get(n)));
    const urgent = upcoming.length <= lookAhead || needed.some((n) => due.includes(n));
    // Whole lane-fulls only: a part past the last would run alone after them.
    for (const n of urgent ? due : due.slice(0, due.length - (due.length % lanes))) start(n, signal);
  };

  const signBatch = async (numbers: number[], signal: AbortSignal): Promise<void> => {
    // The batch's parts not hashed yet start with those behind them, filling the lanes.
    hashAhead(signal, numbers);
    // All awaited in order; a failure leaves the others to finish unobserved.
    const digests = numbers.map((partNumber) => hash(partNumber, signal));
    for (const digest of digests) digest.catch(() => undefined);
    const parts: { partNumber: number; md5?: string }[] = [];
    for (const [i, partNumber] of numbers.entries()) {
      const md5 = await digests[i];
      parts.push(md5 === undefined ? { partNumber } : { partNumber, md5 });
    }
    const signedAt = now();
    const json = await callApi(options.fetchImpl, {
      method: 'POST',
      url: apiUrl(options.endpoint, options.uploadId, 'parts'),
      headers: options.headers,
      body: { parts },
      signal,
    });
    for (const part of parseWith(PartsResponseSchema, json, 'parts response').parts) {
      urls.set(part.partNumber, { url: part.url, headers: part.headers, expiresAt: Date.parse(part.expiresAt), signedAt });
    }
  };

  return {
    async urlFor(partNumber, signal) {
      for (;;) {
        const cached = urls.get(partNumber);
        if (fresh(cached)) {
          hashAhead(signal);
          return cached;
        }
        const pending = signing.get(partNumber);
        if (pending) {
          // Another part's batch covers this one. If it fails, this part tries on its own below,
          // so one part's failure (or a pause of an earlier run) is never another part's error.
          await pending.catch(() => undefined);
          if (signal.aborted) throw abortedError(signal.reason);
          continue;
        }
        const waiting = options.upcoming().filter((n) => n !== partNumber && !signing.has(n) && !fresh(urls.get(n)));
        const numbers = [partNumber, ...waiting.slice(0, options.batchSize - 1)];
        for (const n of waiting.slice(options.batchSize - 1)) {
          if (numbers.length >= mostPerCall || (options.hasher && !hashed.has(n))) break;
          numbers.push(n);
        }
        const batch = signBatch(numbers, signal);
        for (const n of numbers) signing.set(n, batch);
        try {
          await batch;
        } finally {
          for (const n of numbers) if (signing.get(n) === batch) signing.delete(n);
        }
        const signed = urls.get(partNumber);
        if (!signed) throw new DropgateError('INTERNAL_ERROR', `The server signed no URL for part ${partNumber}.`, { partNumber });
        hashAhead(signal);
        return signed;
      }
    },
    forget(partNumber) {
      urls.delete(partNumber);
    },
    drop(partNumber) {
      urls.delete(partNumber);
      md5s.delete(partNumber);
      hashed.delete(partNumber);
    },
  };
}
