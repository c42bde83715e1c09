/**
 * AWS Signature Version 4 query-string presigning ("presigned URLs") for S3 and S3-compatible
 * stores, written for the sign hot path: the signing key is derived once per day, region and
 * service and cached, so one URL costs one SHA-256 of the canonical request and one HMAC of the
 * string to sign. Each step of the spec is a small named function below, in the spec's order.
 *
 * Its URLs are byte-identical to `getSignedUrl` of `@aws-sdk/s3-request-presigner` for the same
 * request (see sigv4-oracle.test.ts), except that no `x-id` parameter is added: the SDK puts
 * `x-id=PutObject` in the query as a hint for itself, S3 ignores it, and so do we. Pass
 * `query: {'x-id': …}` to get the SDK's exact URL.
 *
 * Server only: it uses node:crypto.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import { DropgateError } from '../shared/errors.js';
import {
  ALGORITHM,
  canonicalQuery,
  canonicalRequest,
  type Endpoint,
  encodeKey,
  insertSorted,
  parseEndpoint,
  RESERVED_PARAMS,
  signature,
  signedHeaders,
  stringToSign,
  UNSIGNED_PAYLOAD,
  uriEncode,
  withSignature,
} from './sigv4-canonical.js';
import { amzDate, credentialScope, deriveSigningKey } from './sigv4-key.js';

export { encodeKey, uriEncode } from './sigv4-canonical.js';
export { deriveSigningKey, signingKeyDerivations } from './sigv4-key.js';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  /** When temporary credentials stop working; URL lifetimes are cut to end by then. */
  expiration?: Date | undefined;
}

export type PresignMethod = 'PUT' | 'GET' | 'HEAD' | 'DELETE' | 'POST';

export interface PresignInput {
  method: PresignMethod;
  /**
   * Where the request goes. With `key`: the endpoint base the key is appended to, e.g.
   * `http://127.0.0.1:7480/bucket` (path-style) or `https://bucket.s3.eu-west-1.amazonaws.com`
   * (virtual-hosted). Without `key`: the whole object URL, its path already percent-encoded.
   * The path is read as percent-encoded (as `new URL()` leaves it) and re-encoded per S3's rules,
   * so encoded and unencoded-but-safe paths give the same URL. A query string in it is signed
   * like `query`, its names and values percent-decoded first (`+` is a plus, not a space).
   */
  url: string | URL;
  /** The object key as stored, not encoded: `videos/a b+c.mp4`. Appended after one `/`. */
  key?: string | undefined;
  /** Query parameters to sign, raw values: `{ partNumber: '3', uploadId }`. Encoded here. */
  query?: Record<string, string> | undefined;
  /**
   * Headers the request must carry, all signed: content-type, content-length, content-md5,
   * if-none-match, x-amz-*. `host` is added here. As in the AWS SDK, `x-amz-*` headers (but
   * `x-amz-server-side-encryption*` and `unhoistableHeaders`) move into the query, so the
   * client need not send them; `presignRequest` says which headers remain.
   */
  headers?: Record<string, string> | undefined;
  /** Lower-case `x-amz-*` names that stay headers (the SDK option of the same name). */
  unhoistableHeaders?: readonly string[] | undefined;
  /** Seconds, an integer in 1..604800. Cut to the credentials' remaining life when shorter. */
  expiresIn: number;
  now?: Date | undefined;
}

export interface PresignedUrl {
  url: string;
  /** Headers the client must send exactly as given (lower-case names): the signed ones not moved into the query, `host` excepted. */
  headers: Record<string, string>;
  /** Seconds the URL works: `expiresIn`, or less when the credentials expire sooner. */
  expiresIn: number;
  expiresAt: Date;
}

export interface PresignerOptions {
  /** Fixed credentials, or a function returning the current ones (called on each presign). */
  credentials: AwsCredentials | (() => AwsCredentials);
  region: string;
  /** Signing name; `s3` by default. */
  service?: string | undefined;
  /**
   * Put `X-Amz-Content-Sha256=UNSIGNED-PAYLOAD` in the query, as the AWS SDK does (default
   * true). The payload is unsigned either way; AWS's documented example URL predates the param.
   */
  contentSha256Param?: boolean | undefined;
}

export interface Presigner {
  /** The presigned URL. */
  presign(input: PresignInput): string;
  /** The presigned URL with the headers the client must send and when it expires. */
  presignRequest(input: PresignInput): PresignedUrl;
}

const ALGORITHM_PAIR: [string, string] = ['X-Amz-Algorithm', ALGORITHM];
const CONTENT_SHA256_PAIR: [string, string] = ['X-Amz-Content-Sha256', UNSIGNED_PAYLOAD];

/** Longest lifetime SigV4 allows for a presigned URL: 7 days. */
export const MAX_PRESIGN_SECONDS = 604_800;

/** The lifetime to sign: `expiresIn`, refused outside 1..7 days, cut to the credentials' life. */
function lifetime(expiresIn: number, epochSeconds: number, expiration: Date | undefined): number {
  if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_PRESIGN_SECONDS) {
    throw new RangeError(`expiresIn must be a whole number of seconds in 1..${MAX_PRESIGN_SECONDS}; got ${expiresIn}`);
  }
  if (expiration === undefined) return expiresIn;
  const left = Math.floor((expiration.getTime() - epochSeconds * 1000) / 1000);
  if (!(left >= 1)) {
    throw new DropgateError('STORAGE_UNAVAILABLE', 'The storage credentials have expired; nothing was signed.');
  }
  return Math.min(expiresIn, left);
}

/**
 * A SigV4 presigner for one region and service, caching its signing key per day.
 * @example
 * const signer = createPresigner({ credentials, region: 'eu-west-1' });
 * const url = signer.presign({ method: 'PUT', url: 'https://bucket.s3.eu-west-1.amazonaws.com', key: 'videos/a.mp4',
 *   headers: { 'content-type': 'video/mp4', 'content-length': '1048576' }, expiresIn: 600 });
 */
export function createPresigner(options: PresignerOptions): Presigner {
  const { region } = options;
  const service = options.service ?? 's3';
  const contentSha256Param = options.contentSha256Param ?? true;
  if (!region || !service) throw new TypeError('A presigner needs a region and a service name');
  const credentialsNow = typeof options.credentials === 'function' ? options.credentials : () => options.credentials as AwsCredentials;

  /** What stays the same all day for one set of credentials: the signing key and the encoded params. */
  interface Day {
    date: string;
    credentials: AwsCredentials;
    key: KeyObject;
    scope: string;
    /** The day's `X-Amz-Credential` and `X-Amz-Security-Token` query pairs, encoded once. */
    credentialPair: [string, string];
    tokenPair: [string, string] | undefined;
  }
  let day: Day | undefined;
  function dayFor(credentials: AwsCredentials, date: string): Day {
    const last = day;
    if (last?.date === date) {
      const c = last.credentials;
      if (c === credentials) return last;
      const same = c.secretAccessKey === credentials.secretAccessKey;
      if (same && c.accessKeyId === credentials.accessKeyId && c.sessionToken === credentials.sessionToken) return last;
    }
    const key =
      last?.date === date && last.credentials.secretAccessKey === credentials.secretAccessKey
        ? last.key
        : createSecretKey(deriveSigningKey(credentials.secretAccessKey, date, region, service));
    const scope = credentialScope(date, region, service);
    const { accessKeyId, sessionToken } = credentials;
    day = {
      date,
      credentials,
      key,
      scope,
      credentialPair: ['X-Amz-Credential', uriEncode(`${accessKeyId}/${scope}`)],
      tokenPair: sessionToken ? ['X-Amz-Security-Token', uriEncode(sessionToken)] : undefined,
    };
    return day;
  }

  let lastSecond = Number.NaN;
  let lastAmzDate = '';
  function amzDateOf(epochSeconds: number): string {
    if (epochSeconds !== lastSecond) [lastSecond, lastAmzDate] = [epochSeconds, amzDate(epochSeconds)];
    return lastAmzDate;
  }

  let lastUrl: string | URL | undefined;
  let lastEndpoint: Endpoint | undefined;
  function endpointOf(url: string | URL): Endpoint {
    // One endpoint is the usual case; URL objects are mutable, so only strings are remembered.
    if (typeof url === 'string' && url === lastUrl && lastEndpoint) return lastEndpoint;
    const endpoint = parseEndpoint(url);
    if (typeof url === 'string') [lastUrl, lastEndpoint] = [url, endpoint];
    return endpoint;
  }

  function sign(input: PresignInput): PresignedUrl {
    const credentials = credentialsNow();
    if (!credentials.accessKeyId || !credentials.secretAccessKey) {
      throw new TypeError('Credentials need an accessKeyId and a secretAccessKey');
    }
    const nowMs = input.now === undefined ? Date.now() : input.now.getTime();
    if (!Number.isFinite(nowMs)) throw new RangeError('now is not a valid date');
    const epochSeconds = Math.floor(nowMs / 1000);
    const expiresIn = lifetime(input.expiresIn, epochSeconds, credentials.expiration);
    const longDate = amzDateOf(epochSeconds);
    const today = dayFor(credentials, longDate.slice(0, 8));

    const endpoint = endpointOf(input.url);
    let path = endpoint.path;
    if (input.key !== undefined) path += `${path.endsWith('/') ? '' : '/'}${encodeKey(input.key)}`;

    // Every query parameter goes into its sorted place as it comes: the caller's, the hoisted
    // headers, then the signer's own.
    const params: [string, string][] = [];
    for (const pair of endpoint.query) insertSorted(params, pair);
    if (input.query !== undefined) {
      for (const name of Object.keys(input.query)) insertSorted(params, [uriEncode(name), uriEncode(input.query[name]!)]);
    }
    for (const [name] of params) {
      if (RESERVED_PARAMS.has(name.toLowerCase())) throw new TypeError(`The ${name} query parameter is set by the signer, not the caller`);
    }
    const headers = signedHeaders(endpoint.host, input.headers, input.unhoistableHeaders, params);
    // Pairs are never changed once in the list, so the fixed ones are shared by every URL.
    insertSorted(params, ALGORITHM_PAIR);
    if (contentSha256Param) insertSorted(params, CONTENT_SHA256_PAIR);
    insertSorted(params, today.credentialPair);
    insertSorted(params, ['X-Amz-Date', longDate]);
    insertSorted(params, ['X-Amz-Expires', String(expiresIn)]);
    if (today.tokenPair !== undefined) insertSorted(params, today.tokenPair);
    insertSorted(params, ['X-Amz-SignedHeaders', headers.signedParam]);
    const query = canonicalQuery(params);

    const request = canonicalRequest(input.method, path, query, headers);
    const sig = signature(today.key, stringToSign(longDate, today.scope, request));
    return {
      url: `${endpoint.origin}${path}?${withSignature(query, sig)}`,
      headers: headers.send,
      expiresIn,
      expiresAt: new Date((epochSeconds + expiresIn) * 1000),
    };
  }

  return { presign: (input) => sign(input).url, presignRequest: sign };
}
