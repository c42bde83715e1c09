/**
 * The canonical pieces of a SigV4 request, step by step as the spec names them: URI encoding,
 * the endpoint's host and path, canonical headers and query, the canonical request, the string to
 * sign and the signature.  Server only: node:crypto.
 */
import { createHash, createHmac, hash, type KeyObject } from 'node:crypto';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const SIGNATURE_PARAM = 'X-Amz-Signature';
/** Query names this signer sets; a caller's parameter or hoisted header may not take them. */
export const RESERVED_PARAMS = new Set([
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

export interface Endpoint {
  /** `https://host[:port]` */
  origin: string;
  host: string;
  /** Canonical (encoded) path, always starting with `/`. */
  path: string;
  /** Encoded `[name, value]` pairs from the url's query string. */
  query: [string, string][];
}

/** The parts of the url SigV4 needs, with its path and query in canonical encoding. */
export function parseEndpoint(url: string | URL): Endpoint {
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

export interface SortedHeaders {
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
export function signedHeaders(
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
export function insertSorted(list: [string, string][], pair: [string, string]): void {
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

export interface CanonicalQuery {
  /** The canonical query string: `head` then `tail`. */
  query: string;
  /** The parameters sorted before `X-Amz-Signature`, `&`-joined (never empty: X-Amz-Algorithm is one). */
  head: string;
  /** The parameters sorted after it, each with its leading `&`. */
  tail: string;
}

export function canonicalQuery(params: [string, string][]): CanonicalQuery {
  let head = '';
  let tail = '';
  for (const [name, value] of params) {
    if (name > SIGNATURE_PARAM) tail += `&${name}=${value}`;
    else head += head === '' ? `${name}=${value}` : `&${name}=${value}`;
  }
  return { query: head + tail, head, tail };
}

/** The canonical query with the signature in its sorted place, as the SDK's URLs have it. */
export function withSignature({ head, tail }: CanonicalQuery, sig: string): string {
  return `${head}&${SIGNATURE_PARAM}=${sig}${tail}`;
}

export function canonicalRequest(method: string, path: string, query: CanonicalQuery, headers: SortedHeaders): string {
  return `${method}\n${path}\n${query.query}\n${headers.canonical}\n${headers.signedNames}\n${UNSIGNED_PAYLOAD}`;
}

// One-shot crypto.hash (Node ≥ 20.12) costs about half of createHash's object and stream setup.
const sha256Hex: (data: string) => string =
  typeof hash === 'function' ? (data) => hash('sha256', data, 'hex') : (data) => createHash('sha256').update(data, 'utf8').digest('hex');

export function stringToSign(date: string, scope: string, request: string): string {
  return `${ALGORITHM}\n${date}\n${scope}\n${sha256Hex(request)}`;
}

export function signature(signingKey: KeyObject, toSign: string): string {
  return createHmac('sha256', signingKey).update(toSign, 'utf8').digest('hex');
}
