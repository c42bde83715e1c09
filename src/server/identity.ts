import { DropgateError } from '../shared/errors.js';
import type { GatewayRequest } from '../shared/http.js';
import type { Authenticate, Identity } from './config.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/**
 * The client's IP. From `X-Forwarded-For` only when the operator says a proxy sets it, and then
 * the entry that proxy appended (the last), which a client cannot forge. Loopback addresses are
 * one address, so curl (127.0.0.1) and a browser (::1) on the same machine are the same client.
 */
export function clientIp(request: GatewayRequest, trustProxy: boolean): string {
  let ip = request.remoteAddress;
  if (trustProxy) {
    const forwarded = request
      .header('x-forwarded-for')
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const last = forwarded?.[forwarded.length - 1];
    if (last) ip = last;
  }
  if (LOOPBACK.test(ip)) return 'localhost';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** Runs `authenticate` (or the anonymous rule) and returns who is asking; refuses with 401. */
export async function identify(request: GatewayRequest, ip: string, authenticate: Authenticate | undefined): Promise<Identity> {
  if (!authenticate) return { userId: `ip:${ip}` };
  let identity: Identity | null | undefined;
  try {
    identity = await authenticate({
      header: (name) => request.header(name),
      clientIp: ip,
      method: request.method,
      path: request.pathname,
      raw: request.raw,
    });
  } catch (error) {
    if (error instanceof DropgateError) throw error;
    throw new DropgateError('UNAUTHENTICATED', 'Authentication failed.', {}, { cause: error });
  }
  if (!identity || typeof identity.userId !== 'string' || identity.userId === '') {
    throw new DropgateError('UNAUTHENTICATED', 'Sign in to upload files.');
  }
  return identity;
}
