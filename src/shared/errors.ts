/**
 * The one error type of dropgate. Server, storage adapters and client all throw it; the server
 * renders it in one place as `{"error":{"code","message",...details}}` and the client rebuilds it
 * from such a body, so `err.code` means the same on both sides.
 */

/** Every error code and the HTTP status it is rendered with. */
export const ERROR_STATUS = {
  INVALID_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  QUOTA_EXCEEDED: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  UPLOAD_NOT_RECEIVED: 409,
  UPLOAD_EXPIRED: 410,
  UPLOAD_ABORTED: 410,
  FILE_TOO_LARGE: 413,
  REQUEST_TOO_LARGE: 413,
  FILE_TYPE_NOT_ALLOWED: 415,
  UPLOAD_INTEGRITY_FAILED: 422,
  TOO_MANY_PENDING_UPLOADS: 429,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  STORAGE_UNAVAILABLE: 503,
  LEDGER_UNAVAILABLE: 503,
  SERVICE_UNAVAILABLE: 503,
  NETWORK_ERROR: 0,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export type ErrorDetails = Record<string, unknown>;

export interface ErrorBody {
  error: { code: ErrorCode; message: string } & ErrorDetails;
}

/**
 * @example
 * throw new DropgateError('FILE_TOO_LARGE', 'File is 300 MB; the limit is 200 MB.', { maxBytes });
 */
export class DropgateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DropgateError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = details;
  }

  toBody(): ErrorBody {
    return { error: { ...this.details, code: this.code, message: this.message } };
  }
}

export function isDropgateError(value: unknown): value is DropgateError {
  return value instanceof DropgateError;
}

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

/** Rebuilds the server's typed error from a response status and its parsed JSON body. */
export function errorFromBody(status: number, body: unknown): DropgateError {
  const error = (body as { error?: unknown } | null)?.error;
  if (error && typeof error === 'object') {
    const { code, message, ...details } = error as Record<string, unknown>;
    if (isErrorCode(code)) {
      return new DropgateError(code, typeof message === 'string' ? message : code, details);
    }
  }
  const code: ErrorCode = status === 429 ? 'RATE_LIMITED' : status >= 500 ? 'STORAGE_UNAVAILABLE' : 'INVALID_REQUEST';
  return new DropgateError(code, `Request failed with status ${status}`, { status });
}
