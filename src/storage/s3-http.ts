/**
 * The s3 store's request runner for the gateway's own calls. Each request is presigned by
 * dropgate's SigV4 signer (query-string auth, a few µs) and sent over node:http(s) with a
 * keep-alive agent: about a tenth of the CPU the AWS SDK spends on one call, which on a 256 MiB
 * multipart upload's eight calls was the gateway's largest cost. Retries follow the SDK's
 * standard mode: network errors, timeouts, 429, 5xx and S3's throttling codes, up to
 * `maxAttempts`, with full-jitter exponential backoff and any Retry-After honoured.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { DropgateError } from '../shared/errors.js';
import type { ResolvedS3Options } from './s3-options.js';
import { rootOf, textOf } from './s3-xml.js';
import { createPresigner, type PresignMethod } from './sigv4.js';

export interface S3Request {
  method: PresignMethod;
  /** The object key; none for a call on the bucket itself. */
  key?: string;
  /** Sub-resources and parameters: `{ uploadId }`, `{ acl: '' }`. */
  query?: Record<string, string>;
  /** Headers to sign and send. */
  headers?: Record<string, string>;
  /** Names among `headers` that stay signed headers though they start with `x-amz-`. */
  unhoistableHeaders?: readonly string[];
  body?: string;
  /**
   * The answer is an XML document that may be an `<Error>` under status 200, and is never empty
   * (CompleteMultipartUpload: S3 sends whitespace while it assembles, then the result or an error).
   */
  xmlResult?: boolean;
}

export interface S3Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Uint8Array;
}

/**
 * An answer that is an error, shaped as s3-errors.ts reads the SDK's: the S3 code in `Code` and
 * `name`, the status in `$metadata.httpStatusCode`.
 */
export class S3ResponseError extends Error {
  readonly Code: string;
  readonly $metadata: { httpStatusCode: number; requestId?: string };
  /** The answer's Retry-After header, if any. */
  readonly retryAfter: string | undefined;
  /** The status the store sent: 200 for an error in a 200's body, which counts as a 503 but is retried only by its code. */
  readonly sentStatus: number;

  constructor(code: string, status: number, message: string, headers: IncomingHttpHeaders = {}, sentStatus = status) {
    super(message);
    this.sentStatus = sentStatus;
    this.name = code;
    this.Code = code;
    const requestId = headers['x-amz-request-id'];
    this.$metadata = { httpStatusCode: status, ...(typeof requestId === 'string' && { requestId }) };
    this.retryAfter = headers['retry-after'];
  }
}

export interface S3Http {
  /** Sends one signed request, retrying as the SDK's standard mode does; error answers throw S3ResponseError. */
  send(request: S3Request): Promise<S3Response>;
}

/** The seconds each signature is good for: S3 allows header-signed requests 15 minutes of clock skew; so do these. */
const SIGNED_SECONDS = 900;
const BASE_DELAY_MS = 100;
const MAX_DELAY_MS = 20_000;
const MAX_SOCKETS = 50;
const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRY_CODES = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestTimeout', 'InternalError', 'ServiceUnavailable']);
/** What the SDK calls a bodiless error answer (a HEAD's); other statuses become `HTTP<status>`. */
const BODILESS: Record<number, string> = { 400: 'BadRequest', 403: 'Forbidden', 404: 'NotFound' };

export const utf8 = (body: Uint8Array): string => Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');

function bytesOf(chunks: Buffer[], size: number): Uint8Array {
  // A fresh array of its own, not a view into Node's shared pool or a socket's read buffer.
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

function errorOf(response: S3Response, status = response.status): S3ResponseError {
  const xml = response.body.length > 0 ? utf8(response.body) : '';
  const isError = rootOf(xml) === 'Error';
  const code = (isError && textOf(xml, 'Code')) || BODILESS[status] || `HTTP${status}`;
  const message = (isError && textOf(xml, 'Message')) || `The storage answered ${status}.`;
  return new S3ResponseError(code, status, message, response.headers, response.status);
}

/** The answer as an error when it is one: any non-2xx, and for `xmlResult` an `<Error>` or empty 200 (as 503, as the SDK does). */
function failureOf(request: S3Request, response: S3Response): S3ResponseError | undefined {
  if (response.status < 200 || response.status > 299) return errorOf(response);
  if (!request.xmlResult) return undefined;
  if (response.body.length === 0) {
    // Retried: S3 closed the answer before its result (the SDK's "S3 aborted request").
    return new S3ResponseError('InternalError', 503, 'The storage answered an empty body.', response.headers);
  }
  return rootIn(response.body) === 'Error' ? errorOf(response, 503) : undefined;
}

/** The root element's name from the first bytes past any whitespace: a listing of 1000 parts need not be decoded for it. */
function rootIn(body: Uint8Array): string | undefined {
  let at = 0;
  while (at < body.length && (body[at] === 32 || body[at] === 9 || body[at] === 10 || body[at] === 13)) at++;
  return rootOf(utf8(body.subarray(at, at + 512)));
}

function isRetryable(error: unknown): boolean {
  if (error instanceof S3ResponseError) return RETRY_STATUS.has(error.sentStatus) || RETRY_CODES.has(error.Code);
  // Node's network errors (ECONNRESET, ECONNREFUSED, EAI_AGAIN, …) and our timeouts; not the
  // signer's refusals (TypeError, DropgateError for expired credentials), nor what a retry cannot
  // change, which the SDK does not retry either: Node's own ERR_* (a certificate for another host,
  // ERR_TLS_CERT_ALTNAME_INVALID) and EPROTO (TLS to a plain-HTTP port, no common TLS version).
  const code = (error as { code?: unknown })?.code;
  return (
    !(error instanceof DropgateError) &&
    typeof code === 'string' &&
    /^E[A-Z_]+$/.test(code) &&
    !code.startsWith('ERR_') &&
    code !== 'EPROTO'
  );
}

/** Milliseconds a Retry-After header asks for (seconds or an HTTP date), or 0. */
function retryAfterMs(error: unknown, now: number): number {
  const value = error instanceof S3ResponseError ? error.retryAfter : undefined;
  if (!value) return 0;
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, MAX_DELAY_MS) : 0;
}

function timeoutError(message: string): Error {
  return Object.assign(new Error(message), { name: 'TimeoutError', code: 'ETIMEDOUT' });
}

/**
 * The runner for one store.
 * @example
 * const http = createS3Http(resolveS3Options(options), 'http://127.0.0.1:7480/uploads');
 * const { headers } = await http.send({ method: 'HEAD', key: 'videos/a.mp4' });
 */
export function createS3Http(
  options: Pick<ResolvedS3Options, 'credentials' | 'region' | 'maxAttempts' | 'requestTimeoutMs'>,
  bucketUrl: string,
): S3Http {
  const presigner = createPresigner({ credentials: options.credentials, region: options.region });
  const base = new URL(bucketUrl);
  const secure = base.protocol === 'https:';
  // Idle keep-alive sockets are unref'd by the agent: they never hold the process open.
  const agent = secure
    ? new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS })
    : new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS });
  const send = secure ? httpsRequest : httpRequest;
  const hostname = base.hostname.replace(/^\[(.*)\]$/, '$1');
  const timeoutMs = options.requestTimeoutMs;
  const connectMs = Math.min(5_000, timeoutMs);

  function attempt(request: S3Request): Promise<S3Response> {
    // Dated by the real clock, not the store's `now` option: the store judges these requests now.
    const signed = presigner.presignRequest({
      method: request.method,
      url: bucketUrl,
      key: request.key,
      query: request.query,
      headers: request.headers,
      unhoistableHeaders: request.unhoistableHeaders,
      expiresIn: SIGNED_SECONDS,
    });
    const headers: Record<string, string> = { ...signed.headers, host: base.host };
    if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));
    return new Promise((resolve, reject) => {
      let connectTimer: NodeJS.Timeout | undefined;
      let settled = false;
      const timer = setTimeout(() => req.destroy(timeoutError(`No answer from the storage within ${timeoutMs} ms`)), timeoutMs);
      const settle = (error: Error | undefined, response?: S3Response) => {
        settled = true;
        clearTimeout(timer);
        clearTimeout(connectTimer);
        if (error) reject(error);
        else if (response) resolve(response);
      };
      const req = send({
        agent,
        hostname,
        port: base.port,
        method: request.method,
        path: signed.url.slice(base.origin.length),
        headers,
      });
      req.once('socket', (socket) => {
        if (settled || !socket.connecting) return;
        connectTimer = setTimeout(() => req.destroy(timeoutError(`No connection to the storage within ${connectMs} ms`)), connectMs);
        socket.once('connect', () => clearTimeout(connectTimer));
      });
      req.once('error', (error) => settle(error));
      req.once('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
        });
        res.once('end', () => settle(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: bytesOf(chunks, size) }));
        res.once('error', (error) => settle(error));
        res.once('close', () => {
          if (!res.complete) settle(Object.assign(new Error('The storage closed the connection mid-answer'), { code: 'ECONNRESET' }));
        });
      });
      req.end(request.body);
    });
  }

  return {
    async send(request) {
      for (let tries = 1; ; tries++) {
        let error: unknown;
        try {
          const response = await attempt(request);
          error = failureOf(request, response);
          if (!error) return response;
        } catch (thrown) {
          error = thrown;
        }
        if (tries >= options.maxAttempts || !isRetryable(error)) throw error;
        const backoff = Math.random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (tries - 1));
        await new Promise((resolve) => setTimeout(resolve, Math.max(backoff, retryAfterMs(error, Date.now()))));
      }
    },
  };
}
