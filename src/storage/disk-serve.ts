/**
 * The read side of the disk receiver: `GET|HEAD {base}/_disk/{token}` with a signed-read or a
 * public token. Streams the file (never reads it whole) and honours single byte ranges, which is
 * what video players send when they seek.
 */
import { DropgateError } from '../shared/errors.js';
import type { GatewayRequest, GatewayResponse } from '../shared/http.js';
import { json } from '../shared/http.js';
import { contentDisposition } from '../shared/types.js';
import { type FileMeta, HEADER_BYTES, openWithMeta } from './disk-file.js';
import type { DiskLayout } from './disk-paths.js';
import type { TokenClaims } from './disk-token.js';

export type ByteRange = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * Reads a `Range` header against an object of `size` bytes. Malformed and multi-range headers are
 * ignored (RFC 9110 allows it), so the whole object is served.
 * @example parseRange('bytes=-500', 1000) // { kind: 'partial', start: 500, end: 999 }
 */
export function parseRange(header: string | undefined, size: number): ByteRange {
  const match = header === undefined ? null : /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return { kind: 'full' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'full' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}

/** Answers a read whose token is already verified. */
export async function serveObject(
  layout: DiskLayout,
  request: GatewayRequest,
  claims: TokenClaims,
  headOnly: boolean,
): Promise<GatewayResponse> {
  const opened = await openWithMeta(layout.objectPath(claims.key));
  if (!opened) throw new DropgateError('NOT_FOUND', 'There is no object at this URL.', { reason: 'no-such-key' });
  const { handle, meta } = opened;
  let handedOver = false;
  try {
    const headers = objectHeaders(meta, claims);
    const range = rangeFor(request, meta);
    if (range.kind === 'unsatisfiable') {
      const error = new DropgateError('INVALID_REQUEST', `The requested range is outside the object (${meta.size} bytes).`, {
        reason: 'range-not-satisfiable',
      });
      return json(416, error.toBody(), { 'content-range': `bytes */${meta.size}`, 'accept-ranges': 'bytes' });
    }
    const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, meta.size - 1];
    headers['content-length'] = String(end - start + 1);
    if (range.kind === 'partial') headers['content-range'] = `bytes ${start}-${end}/${meta.size}`;
    const status = range.kind === 'partial' ? 206 : 200;
    if (headOnly || end < start) return { status, headers };
    // Streams from the handle the header was read through, so a concurrent replace cannot mix files.
    handedOver = true;
    return { status, headers, body: handle.createReadStream({ start: HEADER_BYTES + start, end: HEADER_BYTES + end }) };
  } finally {
    if (!handedOver) await handle.close();
  }
}

function objectHeaders(meta: FileMeta, claims: TokenClaims): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': meta.contentType,
    'accept-ranges': 'bytes',
    etag: meta.etag,
    'last-modified': new Date(meta.lastModified).toUTCString(),
    // The stored type was checked at sign time; the browser must not second-guess it into HTML.
    'x-content-type-options': 'nosniff',
  };
  if (claims.op === 'get' && claims.fileName !== undefined) headers['content-disposition'] = contentDisposition(claims.fileName);
  return headers;
}

// A range is only honoured if the client's cached copy (If-Range) is still the one stored.
function rangeFor(request: GatewayRequest, meta: FileMeta): ByteRange {
  const ifRange = request.header('if-range');
  if (ifRange !== undefined && ifRange !== meta.etag && ifRange !== new Date(meta.lastModified).toUTCString()) return { kind: 'full' };
  return parseRange(request.header('range'), meta.size);
}
