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
import { createHash, createHmac, createSecretKey, hash, type KeyObject } from 'node:crypto';
import { DropgateError } from '../shared/errors.js';

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

/** Longest lifetime SigV4 allows for a presigned URL: 7 days. */
export const MAX_PRESIGN_SECONDS = 604_800;

const ALGORITHM = 'AWS4-HMAC-SHA256';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const SIGNATURE_PARAM = 'X-Amz-Signature';
/** Query names this signer sets; a caller's parameter or hoisted header may not take them. */
const RESERVED_PARAMS = new Set([
  'x-amz-algorithm',
  'x-amz-content-sha256',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-expires',
  'x-amz-security-token',
  'x-amz-signature',
  'x-amz-signedheaders',
]);
/** Headers the signer owns or that would change what is signed behind its back. */
const RESERVED_HEADERS = new Set(['host', 'authorization', 'date', ...RESERVED_PARAMS]);

let derivations = 0;

/** How many signing keys were derived so far (tests check that the cache works). */
export function signingKeyDerivations(): number {
  return derivations;
}

/**
 * The SigV4 signing key: HMAC chain over date (YYYYMMDD), region, service and "aws4_request".
 * @example deriveSigningKey(secret, '20130524', 'us-east-1', 's3')
 */
export function deriveSigningKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  derivations++;
  const kDate = hmac(`AWS4${secretAccessKey}`, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

const UNRESERVED = /^[A-Za-z0-9\-._~]*$/;
const UNRESERVED_OR_SLASH = /^[A-Za-z0-9\-._~/]*$/;
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;
const hexEscape = (c: string) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`;

/**
 * RFC 3986 encoding as SigV4 wants it: UTF-8, every byte but `A-Z a-z 0-9 - . _ ~` as `%XX`.
 * @example uriEncode("a b+c!") // 'a%20b%2Bc%21'
 */
export function uriEncode(value: string): string {
  if (UNRESERVED.test(value)) return value;
  try {
    return encodeURIComponent(value).replace(/[!'()*]/g, hexEscape);
  } catch (cause) {
    throw new TypeError(`Cannot sign ${JSON.stringify(value)}: not well-formed Unicode`, { cause });
  }
}

/**
 * An S3 key as a URL path: each `/`-separated segment encoded, `/` kept (`a//b` stays). A key
 * with a `.` or `..` segment is refused: every WHATWG URL client (browsers, fetch) resolves
 * those away before sending, so the store would see another path than the one signed.
 * @example encodeKey('videos/a b.mp4') // 'videos/a%20b.mp4'
 */
export function encodeKey(key: string): string {
  if (DOT_SEGMENT.test(key)) throw new TypeError(`Cannot presign key ${JSON.stringify(key)}: URL clients rewrite its . or .. segment`);
  if (UNRESERVED_OR_SLASH.test(key)) return key;
  return key.split('/').map(uriEncode).join('/');
}

function decodeComponent(value: string, what: string): string {
  try {
    return decodeURIComponent(value);
  } catch (cause) {
    throw new TypeError(`The url's ${what} is not valid percent-encoding: ${JSON.stringify(value)}`, { cause });
  }
}

interface Endpoint {
  /** `https://host[:port]` */
  origin: string;
  host: string;
  /** Canonical (encoded) path, always starting with `/`. */
  path: string;
  /** Encoded `[name, value]` pairs from the url's query string. */
  query: [string, string][];
}

/** The parts of the url SigV4 needs, with its path and query in canonical encoding. */
function parseEndpoint(url: string | URL): Endpoint {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new TypeError(`Cannot presign a ${parsed.protocol} URL`);
  if (parsed.username || parsed.password || parsed.hash) throw new TypeError('The url to presign may not carry credentials or a #fragment');
  const path = parsed.pathname
    .split('/')
    .map((segment) => uriEncode(decodeComponent(segment, 'path')))
    .join('/');
  const query: [string, string][] = [];
  for (const pair of parsed.search.slice(1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    query.push([uriEncode(decodeComponent(name, 'query')), uriEncode(decodeComponent(value, 'query'))]);
  }
  return { origin: `${parsed.protocol}//${parsed.host}`, host: parsed.host, path, query };
}

/** `20130524T000000Z` for a time in whole seconds since the epoch. */
function amzDate(epochSeconds: number): string {
  const iso = new Date(epochSeconds * 1000).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

function credentialScope(date: string, region: string, service: string): string {
  return `${date}/${region}/${service}/aws4_request`;
}

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

/** A header value as SigV4 canonicalizes it: runs of spaces and tabs become one space, ends trimmed. */
function canonicalHeaderValue(value: string): string {
  if (/[\r\n\0]/.test(value)) throw new TypeError(`A header value cannot contain CR, LF or NUL: ${JSON.stringify(value)}`);
  if (!/[ \t]{2}|\t|^ | $/.test(value)) return value;
  return value.replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');
}

/** An HTTP field name (RFC 9110 token), lower-cased. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

// Most URLs sign the same header names; remember the last list's encoding.
let lastSignedNames = '';
let lastSignedParam = '';

interface SortedHeaders {
  /** `name:value\n` lines, sorted, host included. */
  canonical: string;
  /** `content-type;host`. */
  signedNames: string;
  /** `signedNames` encoded for the query. */
  signedParam: string;
  /** What the client must send. */
  send: Record<string, string>;
}

/**
 * Splits the caller's headers into those signed as headers (with `host`) and those moved into
 * the query (`x-amz-*`, as the AWS SDK's presigner does), which are added to `params`.
 */
function signedHeaders(
  host: string,
  headers: Record<string, string> | undefined,
  keep: readonly string[] | undefined,
  params: [string, string][],
): SortedHeaders {
  const signed: [string, string][] = [['host', host]];
  const send: Record<string, string> = {};
  if (headers !== undefined) {
    for (const name of Object.keys(headers)) {
      const lower = name.toLowerCase();
      const value = headers[name]!;
      if (!HEADER_NAME.test(lower)) throw new TypeError(`Not a header name: ${JSON.stringify(name)}`);
      if (RESERVED_HEADERS.has(lower)) throw new TypeError(`The ${lower} header is set by the signer, not the caller`);
      if (lower.startsWith('x-amz-') && !lower.startsWith('x-amz-server-side-encryption') && !keep?.includes(lower)) {
        insertSorted(params, [uriEncode(lower), uriEncode(value)]);
      } else {
        insertSorted(signed, [lower, canonicalHeaderValue(value)]);
        send[lower] = value;
      }
    }
  }
  let canonical = '';
  let signedNames = '';
  for (const [name, value] of signed) {
    canonical += `${name}:${value}\n`;
    signedNames += signedNames === '' ? name : `;${name}`;
  }
  if (signedNames !== lastSignedNames) [lastSignedNames, lastSignedParam] = [signedNames, uriEncode(signedNames)];
  return { canonical, signedNames, signedParam: lastSignedParam, send };
}

/**
 * Adds a `[name, value]` pair to a list kept sorted by name (code units; names here are ASCII),
 * refusing a name that is already there. The lists hold a handful of pairs, so insertion beats
 * a sort call.
 */
function insertSorted(list: [string, string][], pair: [string, string]): void {
  const name = pair[0];
  let i = list.length;
  list.push(pair);
  while (i > 0 && list[i - 1]![0] > name) {
    list[i] = list[i - 1]!;
    i--;
  }
  if (i > 0 && list[i - 1]![0] === name) throw new TypeError(`${name} given twice`);
  list[i] = pair;
}

interface CanonicalQuery {
  query: string;
  /** Where `&X-Amz-Signature=…` goes in `query` to keep the URL's parameters sorted. */
  signatureAt: number;
}

function canonicalQuery(params: [string, string][]): CanonicalQuery {
  let query = '';
  let signatureAt = -1;
  for (const [name, value] of params) {
    if (signatureAt < 0 && name > SIGNATURE_PARAM) signatureAt = query.length;
    query += query === '' ? `${name}=${value}` : `&${name}=${value}`;
  }
  return { query, signatureAt: signatureAt < 0 ? query.length : signatureAt };
}

/** The canonical query with the signature in its sorted place, as the SDK's URLs have it. */
function withSignature({ query, signatureAt }: CanonicalQuery, sig: string): string {
  // X-Amz-Algorithm always precedes X-Amz-Signature, so the signature is never first.
  return `${query.slice(0, signatureAt)}&${SIGNATURE_PARAM}=${sig}${query.slice(signatureAt)}`;
}

function canonicalRequest(method: string, path: string, query: CanonicalQuery, headers: SortedHeaders): string {
  return `${method}\n${path}\n${query.query}\n${headers.canonical}\n${headers.signedNames}\n${UNSIGNED_PAYLOAD}`;
}

// One-shot crypto.hash (Node ≥ 20.12) costs about half of createHash's object and stream setup.
const sha256Hex: (data: string) => string =
  typeof hash === 'function' ? (data) => hash('sha256', data, 'hex') : (data) => createHash('sha256').update(data, 'utf8').digest('hex');

function stringToSign(date: string, scope: string, request: string): string {
  return `${ALGORITHM}\n${date}\n${scope}\n${sha256Hex(request)}`;
}

function signature(signingKey: KeyObject, toSign: string): string {
  return createHmac('sha256', signingKey).update(toSign, 'utf8').digest('hex');
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
    credentialParam: string;
    tokenParam: string | undefined;
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
      credentialParam: uriEncode(`${accessKeyId}/${scope}`),
      tokenParam: sessionToken ? uriEncode(sessionToken) : undefined,
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

  interface Signed {
    url: string;
    headers: Record<string, string>;
    expiresIn: number;
    epochSeconds: number;
  }

  function sign(input: PresignInput): Signed {
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
    insertSorted(params, ['X-Amz-Algorithm', ALGORITHM]);
    if (contentSha256Param) insertSorted(params, ['X-Amz-Content-Sha256', UNSIGNED_PAYLOAD]);
    insertSorted(params, ['X-Amz-Credential', today.credentialParam]);
    insertSorted(params, ['X-Amz-Date', longDate]);
    insertSorted(params, ['X-Amz-Expires', String(expiresIn)]);
    if (today.tokenParam !== undefined) insertSorted(params, ['X-Amz-Security-Token', today.tokenParam]);
    insertSorted(params, ['X-Amz-SignedHeaders', headers.signedParam]);
    const query = canonicalQuery(params);

    const request = canonicalRequest(input.method, path, query, headers);
    const sig = signature(today.key, stringToSign(longDate, today.scope, request));
    return { url: `${endpoint.origin}${path}?${withSignature(query, sig)}`, headers: headers.send, expiresIn, epochSeconds };
  }

  return {
    presign: (input) => sign(input).url,
    presignRequest(input) {
      const { url, headers, expiresIn, epochSeconds } = sign(input);
      return { url, headers, expiresIn, expiresAt: new Date((epochSeconds + expiresIn) * 1000) };
    },
  };
}
