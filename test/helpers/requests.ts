/**
 * Builds GatewayRequests for handler tests that call `gateway.handle` without a network.
 */
import type { GatewayRequest, GatewayResponse } from '../../src/shared/http.js';

export interface RequestInit {
  json?: unknown;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  ip?: string;
}

export function gatewayRequest(method: string, url: string, init: RequestInit = {}): GatewayRequest {
  const parsed = new URL(url, 'http://localhost:3000');
  const headers = new Map(Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  let body: string | Uint8Array = init.body ?? '';
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  return {
    method,
    pathname: parsed.pathname,
    searchParams: parsed.searchParams,
    header: (name) => headers.get(name.toLowerCase()),
    remoteAddress: init.ip ?? '127.0.0.1',
    raw: undefined,
    async text(limitBytes) {
      if (bytes.length > limitBytes) {
        const { DropgateError } = await import('../../src/shared/errors.js');
        throw new DropgateError('REQUEST_TOO_LARGE', 'too large', { limitBytes });
      }
      return new TextDecoder().decode(bytes);
    },
    async *body() {
      yield bytes;
    },
  };
}

export async function bodyOf(response: GatewayResponse): Promise<string> {
  const { body } = response;
  if (body === undefined) return '';
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return new TextDecoder().decode(body);
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export async function jsonOf<T = Record<string, unknown>>(response: GatewayResponse): Promise<T> {
  return JSON.parse(await bodyOf(response)) as T;
}
