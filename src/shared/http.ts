/**
 * The gateway's view of an HTTP exchange, independent of the runtime. The node adapter and the
 * fetch adapter each translate to and from these; nothing else in the server knows which runs.
 */

export interface GatewayRequest {
  method: string;
  /** Path without the query string, percent-encoded as received. */
  pathname: string;
  searchParams: URLSearchParams;
  /** A header's value (case-insensitive name), or undefined. */
  header(name: string): string | undefined;
  /** Address of the TCP peer. Proxy headers are the server's business, not the adapter's. */
  remoteAddress: string;
  /** The body as text, refusing with REQUEST_TOO_LARGE past `limitBytes`. */
  text(limitBytes: number): Promise<string>;
  /** The body as a byte stream, for stores that receive uploads themselves. */
  body(): AsyncIterable<Uint8Array>;
  /** The runtime's own request object (IncomingMessage or Request), for `authenticate` hooks. */
  raw: unknown;
}

export type GatewayBody = string | Uint8Array | AsyncIterable<Uint8Array>;

export interface GatewayResponse {
  status: number;
  headers: Record<string, string>;
  body?: GatewayBody;
}

/** A JSON response with the headers every API answer carries (`headers` added, and winning). */
export function json(status: number, value: unknown, headers?: Record<string, string>): GatewayResponse {
  return jsonText(status, JSON.stringify(value), headers);
}

/** `json()` for a body already written as JSON text. */
export function jsonText(status: number, text: string, headers?: Record<string, string>): GatewayResponse {
  // Object.assign, not a spread into the literal: this runs once per API answer, and the spread
  // copies through a slower path.
  const all: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  if (headers !== undefined) Object.assign(all, headers);
  return { status, headers: all, body: text };
}
