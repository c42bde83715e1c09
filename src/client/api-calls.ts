/**
 * The uploader's calls to the dropgate API: sign, status, complete, release. Status and complete
 * are retried like parts (network, 5xx, 429); sign is not, because a sign whose answer was lost
 * may still have reserved allowance, and RATE_LIMITED on sign is the user's to see.
 */
import {
  CompleteResponseSchema,
  type FileRecord,
  parseWith,
  type SignRequest,
  type SignResponse,
  SignResponseSchema,
  type StatusResponse,
  StatusResponseSchema,
} from '../shared/protocol.js';
import { apiUrl, callApi } from './api.js';
import { abortedError } from './put-error.js';
import type { Queue } from './queue.js';
import { decide } from './retry.js';
import type { FetchLike, UploadOptions } from './types.js';
import { isOffline, sleep, waitForOnline } from './wait.js';

/** How long the best-effort release of an abandoned reservation may take. */
const RELEASE_TIMEOUT_MS = 10_000;

export interface ApiContext {
  fetchImpl: FetchLike;
  endpoint: string;
  headers?: Record<string, string> | undefined;
  retryDelays: readonly number[];
  queue: Queue;
}

/** Runs `call` again after transient failures, per the retry policy; a 429 slows the whole queue. */
export async function withRetries<T>(api: ApiContext, signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
  for (let failures = 0; ; ) {
    try {
      return await call();
    } catch (error) {
      if (signal?.aborted) throw abortedError(signal.reason);
      if (isOffline()) {
        await waitForOnline(signal);
        continue;
      }
      const next = decide(error, 'api', failures++, api.retryDelays);
      if (next.kind !== 'retry') throw error;
      if (next.rateLimited) api.queue.rateLimited(next.delayMs);
      await sleep(next.delayMs, signal);
    }
  }
}

export function signRequest(file: Blob, options: UploadOptions, multipart: boolean): SignRequest {
  const request: SignRequest = { size: file.size, contentType: options.contentType ?? (file.type || 'application/octet-stream') };
  const name = options.name ?? fileName(file);
  if (name) request.name = name;
  if (options.route !== undefined) request.route = options.route;
  if (options.metadata !== undefined) request.metadata = options.metadata;
  if (options.checksum !== undefined) request.checksum = options.checksum;
  // Overwrite protection where the store has it; parts cannot carry it, so only single PUTs ask.
  if (multipart) request.multipart = true;
  else request.ifNoneMatch = true;
  return request;
}

function fileName(file: Blob): string | undefined {
  const name = (file as Partial<File>).name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/** POST {base}: reserve and sign. Not cancelled by an abort: see `uploader.ts`. */
export async function signUpload(api: ApiContext, request: SignRequest): Promise<SignResponse> {
  const json = await callApi(api.fetchImpl, { method: 'POST', url: apiUrl(api.endpoint), headers: api.headers, body: request });
  return parseWith(SignResponseSchema, json, 'sign response');
}

/** GET {base}/{id}: the upload's status and, for multipart, the parts the storage holds. */
export function uploadStatus(api: ApiContext, uploadId: string, signal?: AbortSignal): Promise<StatusResponse> {
  return withRetries(api, signal, async () => {
    const url = apiUrl(api.endpoint, uploadId);
    const json = await callApi(api.fetchImpl, { method: 'GET', url, headers: api.headers, signal });
    return parseWith(StatusResponseSchema, json, 'status response');
  });
}

/** POST {base}/{id}/complete; idempotent on the server, so retrying is safe. */
export function completeUpload(api: ApiContext, uploadId: string, parts?: { partNumber: number; etag: string }[]): Promise<FileRecord> {
  return withRetries(api, undefined, async () => {
    const url = apiUrl(api.endpoint, uploadId, 'complete');
    const json = await callApi(api.fetchImpl, { method: 'POST', url, headers: api.headers, body: parts ? { parts } : {} });
    return parseWith(CompleteResponseSchema, json, 'complete response').file;
  });
}

/** DELETE {base}/{id}: frees the reservation (and, for multipart, the parts). Best effort: the sweeper is the backstop. */
export async function releaseUpload(api: ApiContext, uploadId: string): Promise<void> {
  const signal = typeof AbortSignal.timeout === 'function' ? AbortSignal.timeout(RELEASE_TIMEOUT_MS) : undefined;
  try {
    await callApi(api.fetchImpl, { method: 'DELETE', url: apiUrl(api.endpoint, uploadId), headers: api.headers, signal });
  } catch {
    // Best effort by design.
  }
}
