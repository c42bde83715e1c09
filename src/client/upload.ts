import { DropgateError } from '../shared/errors.js';
import { CompleteResponseSchema, type FileRecord, parseWith, type SignRequest, SignResponseSchema } from '../shared/protocol.js';
import { apiUrl, callApi, resolveUrl } from './api.js';
import { fetchPut } from './fetch-put.js';
import { createProgressTracker } from './progress.js';
import { abortedError } from './put-error.js';
import type { FetchLike, PutRequest, UploadOptions } from './types.js';
import { xhrPut } from './xhr-put.js';

/** How long the best-effort release of an abandoned reservation may take. */
const RELEASE_TIMEOUT_MS = 10_000;

/**
 * Uploads a Blob or File straight to the storage: the API signs a URL and reserves the allowance,
 * the bytes go to the storage, and the API checks what landed before the file exists.
 * Rejects with a DropgateError whose `code` is the server's (FILE_TOO_LARGE, QUOTA_EXCEEDED, …),
 * the storage's translated, NETWORK_ERROR, or UPLOAD_ABORTED when `signal` fires before all bytes
 * are sent (the reservation is then released). Once they are, the file is completed and returned.
 *
 * @example
 * const file = await upload(input.files[0], {
 *   endpoint: '/api/upload',
 *   onProgress: ({ progress }) => (bar.value = progress),
 * });
 * console.log(file.url);
 *
 * @example
 * // Node: a file-backed Blob is streamed, never read into memory.
 * const blob = await fs.openAsBlob('clip.mp4', { type: 'video/mp4' });
 * await upload(blob, { endpoint: 'http://localhost:3000/api/upload', name: 'clip.mp4' });
 */
export async function upload(file: Blob, options: UploadOptions): Promise<FileRecord> {
  const { endpoint, headers, signal } = options;
  const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  if (signal?.aborted) throw abortedError(signal.reason);

  // The sign call is not cancelled with the signal: the server may already have reserved the
  // allowance. An abort rejects at once, and the reservation is released when the answer comes.
  const signing = callApi(fetchImpl, { method: 'POST', url: apiUrl(endpoint), headers, body: signRequest(file, options) }).then((json) =>
    parseWith(SignResponseSchema, json, 'sign response'),
  );
  const sign = await untilAborted(signing, signal, () => {
    signing.then((late) => releaseUpload(fetchImpl, endpoint, late.uploadId, headers)).catch(() => {});
  });
  const release = () => releaseUpload(fetchImpl, endpoint, sign.uploadId, headers);

  if (sign.presignedUrl === undefined) {
    await release();
    throw new DropgateError(
      'FILE_TOO_LARGE',
      `The server asked for a multipart upload (${sign.multipart?.partCount ?? '?'} parts), which this client version does not support yet.`,
      { multipart: sign.multipart, unsupported: 'multipart' },
    );
  }

  const { onProgress, progressIntervalMs } = options;
  const tracker =
    onProgress && createProgressTracker(file.size, onProgress, progressIntervalMs === undefined ? {} : { intervalMs: progressIntervalMs });
  tracker?.transferred(0);
  try {
    await putTransport(fetchImpl)({
      url: resolveUrl(sign.presignedUrl, endpoint),
      headers: sign.headers,
      body: file,
      signal,
      onProgress: tracker && ((loaded) => tracker.transferred(loaded)),
    });
  } catch (error) {
    // Nothing usable landed (or the caller gave up): hand the reservation back now rather than
    // leaving it to the sweeper a day later.
    await release();
    throw signal?.aborted ? abortedError(signal.reason) : error;
  }

  // The bytes have all landed: from here the upload is finished, not cancelled. Completing is one
  // short idempotent call, and an abort racing it could leave a file the caller believes is gone.
  const url = apiUrl(endpoint, sign.uploadId, 'complete');
  const completeJson = await callApi(fetchImpl, { method: 'POST', url, headers, body: {} });
  const { file: record } = parseWith(CompleteResponseSchema, completeJson, 'complete response');
  tracker?.completed();
  return record;
}

function signRequest(file: Blob, options: UploadOptions): SignRequest {
  const request: SignRequest = { size: file.size, contentType: options.contentType ?? (file.type || 'application/octet-stream') };
  const name = options.name ?? fileName(file);
  if (name) request.name = name;
  if (options.route !== undefined) request.route = options.route;
  if (options.metadata !== undefined) request.metadata = options.metadata;
  if (options.checksum !== undefined) request.checksum = options.checksum;
  return request;
}

function fileName(file: Blob): string | undefined {
  const name = (file as Partial<File>).name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/** XMLHttpRequest where it exists (browsers: upload progress), fetch everywhere else. */
function putTransport(fetchImpl: FetchLike): (request: PutRequest) => Promise<void> {
  if (typeof (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest === 'function') return xhrPut;
  return (request) => fetchPut(request, fetchImpl);
}

/** `promise`, or UPLOAD_ABORTED as soon as `signal` fires, after which `abandon` deals with it. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, abandon: () => void): Promise<T> {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      abandon();
      reject(abortedError(signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** DELETE {endpoint}/{id}: frees the reservation. Best effort: the sweeper is the backstop. */
async function releaseUpload(fetchImpl: FetchLike, endpoint: string, uploadId: string, headers?: Record<string, string>): Promise<void> {
  const signal = typeof AbortSignal.timeout === 'function' ? AbortSignal.timeout(RELEASE_TIMEOUT_MS) : undefined;
  try {
    await callApi(fetchImpl, { method: 'DELETE', url: apiUrl(endpoint, uploadId), headers, signal });
  } catch {
    // Best effort by design.
  }
}
