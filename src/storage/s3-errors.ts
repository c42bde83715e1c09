/**
 * S3's error codes, translated into dropgate's once, here, so nothing above the adapter ever sees
 * a storage exception: the store's own calls throw s3-http.ts's S3ResponseError or Node's network
 * errors, the CLI's bucket setup the AWS SDK's, all shaped alike. The S3 code (and HTTP status)
 * stay in `details` for logs and `doctor`.
 */
import { DropgateError, type ErrorCode } from '../shared/errors.js';

/** What an S3 call (or the network under it) threw, as far as translation cares. */
export interface S3Failure {
  /** The S3 error code (`NoSuchKey`, `SlowDown`…), or a network error's code (`ECONNREFUSED`). */
  code: string;
  /** HTTP status of the answer; undefined when there was none. */
  status: number | undefined;
  message: string;
}

/** The code and status of anything an S3 call throws; never throws itself. */
export function s3FailureOf(error: unknown): S3Failure {
  const e = (error ?? {}) as {
    name?: unknown;
    Code?: unknown;
    code?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  // The SDK names modelled errors by class (`NoSuchKey`) and others by their XML Code, also in `Code`;
  // Node's network errors carry `code`; a bodiless answer (HEAD) gets a name like `NotFound`.
  // A bodiless error answer (HEAD) has no code at all; its status is the best name it has.
  const code = [e.Code, status === undefined ? e.code : undefined, e.name, e.code].find(
    (c) => typeof c === 'string' && c !== '' && c !== 'Unknown' && c !== 'UnknownError',
  ) as string | undefined;
  return {
    code: code ?? (status ? `HTTP${status}` : 'Unknown'),
    status,
    message: typeof e.message === 'string' ? e.message : String(error),
  };
}

const MISSING = new Set(['NoSuchKey', 'NotFound', 'NoSuchUpload']);
// The store refused the assembled bytes: parts not what the ETags say, too small, or a digest that
// does not match. The client's upload is at fault, not the store.
const INTEGRITY = new Set([
  'InvalidPart',
  'InvalidPartOrder',
  'EntityTooSmall',
  'EntityTooLarge',
  'BadDigest',
  'InvalidDigest',
  'XAmzContentSHA256Mismatch',
  'InvalidChecksum',
]);

/** True when the error says the object or multipart upload is not there. */
export function isMissing(failure: S3Failure): boolean {
  return MISSING.has(failure.code) || (failure.status === 404 && failure.code !== 'NoSuchBucket');
}

/**
 * The DropgateError for an S3 failure during `action` (words for the message: "reading an object").
 * Missing objects/uploads → NOT_FOUND; refused assemblies and digests → UPLOAD_INTEGRITY_FAILED;
 * everything else — 5xx, SlowDown after the client's retries, the network, and also a missing bucket
 * or refused credentials, which are the operator's to fix — → STORAGE_UNAVAILABLE (503, fail closed).
 * @example
 * throw s3Error(await client.send(cmd).catch((e) => e), 'completing a multipart upload');
 */
export function s3Error(error: unknown, action: string): DropgateError {
  if (error instanceof DropgateError) return error;
  const failure = s3FailureOf(error);
  const details = { s3Code: failure.code, ...(failure.status !== undefined && { s3Status: failure.status }) };
  let code: ErrorCode = 'STORAGE_UNAVAILABLE';
  let message = `The storage failed while ${action} (${failure.code}${failure.status ? ` ${failure.status}` : ''}).`;
  if (INTEGRITY.has(failure.code)) {
    code = 'UPLOAD_INTEGRITY_FAILED';
    message = `The storage refused the upload while ${action}: ${failure.code}.`;
  } else if (isMissing(failure)) {
    code = 'NOT_FOUND';
    message = `The storage has no such ${failure.code === 'NoSuchUpload' ? 'multipart upload' : 'object'} (${action}).`;
  }
  return new DropgateError(code, message, details, { cause: error });
}
