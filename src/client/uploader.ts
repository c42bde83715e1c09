/**
 * One file's upload as an object: start, pause, resume, abort, progress, and `done`. Small files
 * go up in one PUT; above `multipartThreshold` in parallel parts (`multipart.ts`). Either way the
 * bytes go straight to the storage and the API checks what landed before the file exists.
 */
import { isDropgateError } from '../shared/errors.js';
import type { FileRecord } from '../shared/protocol.js';
import { MiB } from '../shared/sizes.js';
import { resolveUrl } from './api.js';
import { type ApiContext, completeUpload, releaseUpload } from './api-calls.js';
import { defaultPartHasher, hashesNatively } from './md5-worker.js';
import { createPartsSender } from './multipart.js';
import { createProgressTracker, type ProgressTracker } from './progress.js';
import { abortedError } from './put-error.js';
import { withStallTimeout } from './put-watchdog.js';
import { createQueue, type Queue } from './queue.js';
import { fingerprintOf } from './resume.js';
import { defaultResumeStore } from './resume-idb.js';
import { DEFAULT_RETRY_DELAYS, decide, isResumable, type RetryDecision } from './retry.js';
import { storageTransport } from './transport.js';
import type { UploadOptions, UploadProgress } from './types.js';
import { forgetSaved, openSession, type Session, type SessionContext } from './upload-session.js';
import { type ChildSignal, childSignal, isOffline, sleep, waitForOnline } from './wait.js';

export const DEFAULT_MULTIPART_THRESHOLD = 100 * MiB;
export const DEFAULT_CONCURRENCY = 4;

export type UploadState = 'idle' | 'signing' | 'uploading' | 'paused' | 'completing' | 'completed' | 'failed' | 'aborted';

export interface Uploader {
  readonly state: UploadState;
  /** The server's id, once signed (or resumed). */
  readonly uploadId: string | undefined;
  /** The latest progress report (also sent to `onProgress`). */
  readonly progress: UploadProgress;
  /** Parts the storage already held when this upload resumed an earlier one; 0 otherwise. */
  readonly resumedParts: number;
  /** The resume store holds this upload: pausing and leaving lets a later run continue it. */
  readonly resumable: boolean;
  /** The verified file; rejects with a DropgateError (UPLOAD_ABORTED after `abort()`). */
  readonly done: Promise<FileRecord>;
  /** Begins the upload (once; later calls do nothing). Returns the uploader, for chaining. */
  start(): Uploader;
  /** Stops sending: parts in flight are cut and sent again on `resume()`. The server keeps the upload. */
  pause(): void;
  resume(): void;
  /**
   * Stops and deletes the upload on the server, releasing its allowance; resolves once that is done.
   * Does nothing once every byte has landed: the file is then being recorded.
   */
  abort(): Promise<void>;
}

/**
 * @example
 * const u = createUploader(file, { endpoint: '/api/upload', onProgress: (p) => render(p) }).start();
 * pauseButton.onclick = () => u.pause();
 * resumeButton.onclick = () => u.resume();
 * const record = await u.done;
 */
export function createUploader(file: Blob, options: UploadOptions, sharedQueue?: Queue): Uploader {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const queue = sharedQueue ?? createQueue(concurrency);
  const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const retryDelays = options.retryDelays ?? DEFAULT_RETRY_DELAYS;
  const api: ApiContext = { fetchImpl, endpoint: options.endpoint, headers: options.headers, retryDelays, queue };
  const put = withStallTimeout(storageTransport(fetchImpl, options.fetch !== undefined), options.stallTimeoutMs);
  const master = new AbortController();
  const store = options.resumeStore === false ? undefined : (options.resumeStore ?? defaultResumeStore());
  const hasher = options.hashPart === false ? undefined : (options.hashPart ?? defaultPartHasher());
  const batchSize = Math.min(Math.max(1, concurrency), 100);
  const session: SessionContext = {
    api,
    file,
    options,
    multipartThreshold: options.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD,
    store,
    fingerprint: store ? fingerprintOf(file, options) : undefined,
    signal: master.signal,
    // The first parts ride with the sign call where hashing them first keeps no refusal waiting.
    firstParts: { count: hasher === undefined || hashesNatively(hasher) ? batchSize : 0, hasher },
  };

  let phase: Exclude<UploadState, 'paused'> = 'idle';
  let gate: { promise: Promise<void>; open(): void } | undefined; // set while paused
  let attempt: ChildSignal | undefined; // the transfer running now; a pause cuts it
  let uploadId: string | undefined;
  let resumedParts = 0;
  let saved = false;
  let settled: Promise<void> | undefined;
  let tracker: ProgressTracker | undefined;
  let progress: UploadProgress = { progress: 0, loadedBytes: 0, totalBytes: file.size, bytesPerSecond: 0, etaSeconds: null };
  const track = (startBytes: number) => {
    tracker = createProgressTracker(
      file.size,
      (report) => {
        progress = report;
        options.onProgress?.(report);
      },
      { startBytes, ...(options.progressIntervalMs === undefined ? {} : { intervalMs: options.progressIntervalMs }) },
    );
    tracker.transferred(startBytes);
    return tracker;
  };

  let resolveDone!: (file: FileRecord) => void;
  let rejectDone!: (error: unknown) => void;
  const done = new Promise<FileRecord>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  done.catch(() => {}); // the caller may never await it; a failure must not become an unhandled rejection

  const checkpoint = async () => {
    while (gate) await gate.promise;
    if (master.signal.aborted) throw abortedError(master.signal.reason);
  };

  /** Runs `send` until it finishes, starting it again after each pause. */
  const transfer = async (send: (signal: AbortSignal) => Promise<void>) => {
    for (;;) {
      await checkpoint();
      attempt = childSignal(master.signal);
      try {
        return await send(attempt.signal);
      } catch (error) {
        if (gate && !master.signal.aborted) continue;
        throw error;
      } finally {
        attempt.dispose();
        attempt = undefined;
      }
    }
  };

  const sendSingle = async (single: Extract<Session, { kind: 'single' }>, signal: AbortSignal) => {
    for (let failures = 0; ; ) {
      if (isOffline()) await waitForOnline(signal);
      const release = await queue.acquire(signal);
      let failure: unknown;
      let next: RetryDecision | undefined;
      try {
        const url = resolveUrl(single.url, options.endpoint);
        await put({ url, headers: single.headers, body: file, signal, onProgress: (n) => tracker?.transferred(n) });
        queue.succeeded();
        return;
      } catch (error) {
        if (signal.aborted) throw abortedError(signal.reason);
        failure = error;
        const offline = isDropgateError(error) && error.code === 'NETWORK_ERROR' && isOffline();
        next = offline ? undefined : decide(error, 'storage', failures++, retryDelays);
        if (next?.kind === 'retry' && next.rateLimited) queue.rateLimited(next.delayMs);
      } finally {
        release();
      }
      if (next === undefined) continue;
      // The one URL cannot be signed again, so only transient failures are retried.
      if (next.kind !== 'retry') throw failure;
      await sleep(next.delayMs, signal);
    }
  };

  const main = async (): Promise<FileRecord> => {
    phase = 'signing';
    const opened = await openSession(session);
    if (opened.kind === 'completed') {
      track(file.size).completed();
      return opened.file;
    }
    uploadId = opened.uploadId;
    let parts: { partNumber: number; etag: string }[] | undefined;
    if (opened.kind === 'multipart') {
      saved = opened.saved;
      const sender = createPartsSender({
        file,
        uploadId,
        plan: opened.plan,
        endpoint: options.endpoint,
        headers: options.headers,
        fetchImpl,
        queue,
        retryDelays,
        hasher,
        put,
        batchSize,
        presigned: opened.presigned,
        // One more than the limit: a part waiting out a retry delay does not idle a slot.
        workers: concurrency + 1,
        onProgress: (loaded) => tracker?.transferred(loaded),
      });
      resumedParts = sender.hold(opened.held);
      track(sender.loadedBytes());
      phase = 'uploading';
      await transfer((signal) => sender.run(signal));
      parts = sender.completion();
    } else {
      track(0);
      phase = 'uploading';
      await transfer((signal) => sendSingle(opened, signal));
    }
    // Every byte has landed: from here the upload is finished, not cancelled. Completing is short
    // and idempotent, and an abort racing it could leave a file the caller believes is gone.
    phase = 'completing';
    gate?.open();
    const record = await completeUpload(api, uploadId, parts);
    if (saved) await forgetSaved(session);
    phase = 'completed';
    tracker?.completed();
    return record;
  };

  const fail = async (error: unknown) => {
    const aborted = master.signal.aborted;
    const landed = phase === 'completing';
    phase = aborted ? 'aborted' : 'failed';
    gate = undefined;
    // A network outage keeps a saved upload for the next run; anything else hands it back now
    // rather than leaving it to the sweeper a day later. Once all bytes landed it is the sweeper's.
    if (aborted || !saved || !isResumable(error)) {
      if (uploadId && !landed) await releaseUpload(api, uploadId);
      if (saved) await forgetSaved(session);
      saved = false;
    }
    rejectDone(aborted ? abortedError(master.signal.reason) : error);
  };

  const onSignal = () => void uploader.abort();
  const uploader: Uploader = {
    get state() {
      return gate && (phase === 'signing' || phase === 'uploading') ? 'paused' : phase;
    },
    get uploadId() {
      return uploadId;
    },
    get progress() {
      return progress;
    },
    get resumedParts() {
      return resumedParts;
    },
    get resumable() {
      return saved;
    },
    done,
    start() {
      if (settled || phase !== 'idle') return uploader;
      if (options.signal?.aborted) {
        master.abort(options.signal.reason);
        phase = 'aborted';
        rejectDone(abortedError(options.signal.reason));
        return uploader;
      }
      options.signal?.addEventListener('abort', onSignal, { once: true });
      settled = main()
        .then(resolveDone, fail)
        .finally(() => options.signal?.removeEventListener('abort', onSignal));
      return uploader;
    },
    pause() {
      if (gate || (phase !== 'signing' && phase !== 'uploading')) return;
      let open!: () => void;
      const promise = new Promise<void>((resolve) => (open = resolve));
      gate = {
        promise,
        open: () => {
          gate = undefined;
          open();
        },
      };
      attempt?.abort(abortedError('paused'));
    },
    resume() {
      gate?.open();
    },
    async abort() {
      if (phase === 'completing' || phase === 'completed') return;
      master.abort(options.signal?.aborted ? options.signal.reason : undefined);
      gate?.open();
      if (!settled) {
        if (phase === 'idle') {
          phase = 'aborted';
          rejectDone(abortedError());
        }
        return;
      }
      await settled;
    },
  };
  return uploader;
}
