/**
 * What to do when a part PUT or an API call fails, after Uppy's S3 plugin: transient failures
 * (network, 5xx, 429) are retried after growing delays with jitter, a 429 also slows the whole
 * queue, a storage URL that expired (or was used up) is signed again, a part the storage refused
 * as corrupted is hashed and signed again, and any other 4xx fails at once with its typed error.
 */
import { DropgateError, isDropgateError } from '../shared/errors.js';

/** Milliseconds before retry 1, 2, 3, …; its length is how many retries an operation gets. */
export const DEFAULT_RETRY_DELAYS: readonly number[] = [0, 1000, 3000, 5000];

/** Where the error came from: the storage (a part PUT) or the dropgate API. */
export type ErrorSource = 'storage' | 'api';

export type RetryDecision =
  /** Give up: the error is the upload's. */
  | { kind: 'fail' }
  /** Try again after `delayMs`; `rateLimited` slows every upload of the client for that long. */
  | { kind: 'retry'; delayMs: number; rateLimited: boolean }
  /** The URL is no good any more (expired, or already carried an upload): sign a new one now. */
  | { kind: 'resign' }
  /** The storage said the bytes did not match their MD5: hash the part again, sign, retry. */
  | { kind: 'rehash'; delayMs: number };

const TRANSIENT = new Set(['NETWORK_ERROR', 'STORAGE_UNAVAILABLE', 'SERVICE_UNAVAILABLE', 'LEDGER_UNAVAILABLE', 'INTERNAL_ERROR']);

/**
 * The delay before retry number `retry` (0-based): the listed delay, ±20% so that parts failed
 * together do not all come back in the same millisecond.
 * @example backoffDelay(1, [0, 1000, 3000]) // 800..1200
 */
export function backoffDelay(retry: number, delays: readonly number[] = DEFAULT_RETRY_DELAYS, random = Math.random): number {
  const base = delays[Math.min(retry, delays.length - 1)] ?? 0;
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Seconds an error says to wait (`Retry-After`, kept as `details.retryAfter`), in ms. */
export function retryAfterMs(error: DropgateError): number | undefined {
  const seconds = error.details.retryAfter;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/**
 * A `Retry-After` header as seconds: either a number of seconds or an HTTP date.
 * @example parseRetryAfter('3') // 3
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/**
 * Decides the next step after `error`, the `retry`-th failure (0-based) of one operation.
 *
 * @example
 * const next = decide(error, 'storage', failures++, delays);
 * if (next.kind === 'fail') throw error;
 */
export function decide(
  error: unknown,
  source: ErrorSource,
  retry: number,
  delays: readonly number[] = DEFAULT_RETRY_DELAYS,
): RetryDecision {
  if (!isDropgateError(error)) return { kind: 'fail' };
  const { code } = error;
  if (source === 'storage') {
    if (code === 'UPLOAD_EXPIRED' || (code === 'FORBIDDEN' && error.details.reason === 'token-used')) {
      return retry < delays.length ? { kind: 'resign' } : { kind: 'fail' };
    }
    if (code === 'UPLOAD_INTEGRITY_FAILED') {
      return retry < delays.length ? { kind: 'rehash', delayMs: backoffDelay(retry, delays) } : { kind: 'fail' };
    }
  }
  if (retry >= delays.length) return { kind: 'fail' };
  if (code === 'RATE_LIMITED') {
    const delayMs = Math.max(retryAfterMs(error) ?? 0, backoffDelay(retry, delays), 1000);
    return { kind: 'retry', delayMs, rateLimited: true };
  }
  if (TRANSIENT.has(code)) {
    const delayMs = Math.max(retryAfterMs(error) ?? 0, backoffDelay(retry, delays));
    return { kind: 'retry', delayMs, rateLimited: false };
  }
  return { kind: 'fail' };
}

/** Errors after which the upload still exists on the server and a later run may resume it. */
export function isResumable(error: unknown): boolean {
  return isDropgateError(error) && (TRANSIENT.has(error.code) || error.code === 'RATE_LIMITED');
}

/** An error as a DropgateError, keeping its message. */
export function asDropgateError(error: unknown): DropgateError {
  if (isDropgateError(error)) return error;
  return new DropgateError('INTERNAL_ERROR', error instanceof Error ? error.message : String(error), {}, { cause: error });
}
