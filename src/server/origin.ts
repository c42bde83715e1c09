/**
 * CSRF and CORS in one place: which origins may call the API from a browser.
 */
import { DropgateError } from '../shared/errors.js';
import type { GatewayRequest } from '../shared/http.js';

export interface OriginPolicy {
  /** The gateway's own origin when configured (`DROPGATE_PUBLIC_URL`). */
  ownOrigin: string | undefined;
  allowedOrigins: ReadonlySet<string>;
}

function isSameOrigin(request: GatewayRequest, origin: string, policy: OriginPolicy): boolean {
  if (policy.ownOrigin) return origin === policy.ownOrigin;
  // Without a configured origin, compare with the Host the browser connected to. This is a
  // comparison only: no URL is ever built from Host.
  const host = request.header('host');
  return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
}

/** The request's Origin if it is allowed to read answers cross-origin, else undefined. */
export function corsOrigin(request: GatewayRequest, policy: OriginPolicy): string | undefined {
  const origin = request.header('origin');
  return origin !== undefined && policy.allowedOrigins.has(origin) ? origin : undefined;
}

/**
 * Refuses cross-site state changes. With `Origin` or `Sec-Fetch-Site`, the caller must be
 * same-origin or allowed; with neither (curl, servers), a POST body must be declared JSON, which
 * an HTML form cannot do.
 */
export function assertNotCrossSite(request: GatewayRequest, policy: OriginPolicy): void {
  const origin = request.header('origin');
  const site = request.header('sec-fetch-site');
  if (origin !== undefined && origin !== 'null') {
    if (isSameOrigin(request, origin, policy) || policy.allowedOrigins.has(origin)) return;
    throw new DropgateError('FORBIDDEN', `Requests from ${origin} are not allowed.`, { origin });
  }
  if (site !== undefined) {
    if (site === 'same-origin' || site === 'none') return;
    throw new DropgateError('FORBIDDEN', 'Cross-site requests are not allowed.');
  }
  if (origin === 'null') throw new DropgateError('FORBIDDEN', 'Requests from an opaque origin are not allowed.');
  if (request.method === 'POST') {
    const declared = request.header('content-type');
    // The usual header as it is, without splitting it.
    const type = declared === 'application/json' ? declared : declared?.split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') {
      throw new DropgateError('FORBIDDEN', 'Send the request body as application/json.', { contentType: type ?? null });
    }
  }
}

/** Headers answering a CORS preflight from an allowed origin; none for others. */
export function preflightHeaders(request: GatewayRequest, policy: OriginPolicy): Record<string, string> {
  const origin = corsOrigin(request, policy);
  if (!origin) return { vary: 'Origin' };
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': 'GET, POST, PUT, DELETE',
    'access-control-allow-headers': 'authorization, content-type, content-md5, if-none-match, x-amz-checksum-sha256, range',
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': 'etag, retry-after, content-range',
    'access-control-max-age': '600',
    vary: 'Origin',
  };
}
