import { DropgateError, type ErrorCode, errorFromBody } from '../shared/errors.js';
import { parseRetryAfter } from './retry.js';

/** S3 error codes whose meaning a caller can act on; anything else falls back to the status. */
const S3_CODES: Record<string, ErrorCode> = {
  AccessDenied: 'FORBIDDEN',
  SignatureDoesNotMatch: 'FORBIDDEN',
  InvalidAccessKeyId: 'FORBIDDEN',
  RequestTimeTooSkewed: 'FORBIDDEN',
  ExpiredToken: 'UPLOAD_EXPIRED',
  EntityTooLarge: 'FILE_TOO_LARGE',
  BadDigest: 'UPLOAD_INTEGRITY_FAILED',
  InvalidDigest: 'UPLOAD_INTEGRITY_FAILED',
  XAmzContentSHA256Mismatch: 'UPLOAD_INTEGRITY_FAILED',
  IncompleteBody: 'UPLOAD_INTEGRITY_FAILED',
  PreconditionFailed: 'FORBIDDEN',
  NoSuchBucket: 'NOT_FOUND',
  SlowDown: 'STORAGE_UNAVAILABLE',
  ServiceUnavailable: 'STORAGE_UNAVAILABLE',
  InternalError: 'STORAGE_UNAVAILABLE',
};

function statusCode(status: number): ErrorCode {
  if (status === 401 || status === 403 || status === 412) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 410) return 'UPLOAD_EXPIRED';
  if (status === 413) return 'FILE_TOO_LARGE';
  if (status === 415) return 'FILE_TYPE_NOT_ALLOWED';
  if (status === 429) return 'RATE_LIMITED';
  if (status >= 500) return 'STORAGE_UNAVAILABLE';
  return 'INVALID_REQUEST';
}

function xmlTag(xml: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1]?.trim() || undefined;
}

/**
 * The error for a storage PUT that did not answer 2xx. The disk store answers dropgate's own
 * `{"error":…}` body, rebuilt as is; S3-compatible stores answer XML, translated by its `<Code>`
 * (an expired URL is S3's `AccessDenied` "Request has expired", reported as UPLOAD_EXPIRED).
 *
 * @example
 * throw storageError(403, '<Error><Code>SignatureDoesNotMatch</Code></Error>'); // code FORBIDDEN
 */
export function storageError(status: number, body: string, retryAfter?: string | null): DropgateError {
  const error = translate(status, body);
  // A 429 or 503 from the storage (or a proxy before it) says when to come back; the retry honours it.
  const seconds = parseRetryAfter(retryAfter);
  if (seconds !== undefined && error.details.retryAfter === undefined) error.details.retryAfter = seconds;
  return error;
}

function translate(status: number, body: string): DropgateError {
  const text = body.trim();
  if (text.startsWith('{')) {
    try {
      const json: unknown = JSON.parse(text);
      if (json && typeof json === 'object' && 'error' in json) return errorFromBody(status, json);
    } catch {
      // Not JSON after all: report it by status below.
    }
  }
  const storageCode = xmlTag(text, 'Code');
  const storageMessage = xmlTag(text, 'Message');
  let code = (storageCode && S3_CODES[storageCode]) || statusCode(status);
  if (storageCode === 'AccessDenied' && storageMessage && /expired/i.test(storageMessage)) code = 'UPLOAD_EXPIRED';
  const reason = storageCode ? `${storageCode}${storageMessage ? `: ${storageMessage}` : ''}` : `status ${status}`;
  const details: Record<string, unknown> = { status };
  if (storageCode) details.storageCode = storageCode;
  return new DropgateError(code, `The storage refused the upload (${reason}).`, details);
}

/** The error for a PUT that never got an answer: offline, DNS, connection reset, CORS refusal. */
export function networkError(cause?: unknown): DropgateError {
  return new DropgateError(
    'NETWORK_ERROR',
    'The upload to the storage failed before it answered (network error, or the storage refused the CORS request).',
    {},
    { cause },
  );
}

export function abortedError(cause?: unknown): DropgateError {
  return new DropgateError('UPLOAD_ABORTED', 'The upload was aborted.', {}, { cause });
}
