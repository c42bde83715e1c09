/**
 * node:http / Express adapter. Reads the JSON body straight off the socket (no Request object, no
 * middleware), which is what keeps the sign endpoint fast.
 *
 * @example
 * import { createServer } from 'node:http';
 * import { toNodeHandler } from 'dropgate/node';
 * createServer(toNodeHandler(gateway)).listen(3000);
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DropgateError } from '../shared/errors.js';
import type { GatewayRequest, GatewayResponse } from '../shared/http.js';

/** Anything with a gateway's `handle`; the server's `createDropgate` returns one. */
export interface GatewayHandler {
  handle(request: GatewayRequest): Promise<GatewayResponse>;
  owns?(pathname: string): boolean;
}

/**
 * A `GatewayRequest` over an IncomingMessage. A class, so that the methods live once on the
 * prototype instead of as four closures per request, and the query is parsed only when asked for
 * (the sign endpoint never reads it).
 */
class NodeRequest implements GatewayRequest {
  readonly method: string;
  readonly pathname: string;
  readonly remoteAddress: string;
  readonly raw: IncomingMessage;
  readonly #query: string;
  #searchParams: URLSearchParams | undefined;
  #consumed = false;

  constructor(req: IncomingMessage) {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    this.method = req.method ?? 'GET';
    this.pathname = q === -1 ? url : url.slice(0, q);
    this.#query = q === -1 ? '' : url.slice(q + 1);
    this.remoteAddress = req.socket.remoteAddress ?? '';
    this.raw = req;
  }

  get searchParams(): URLSearchParams {
    this.#searchParams ??= new URLSearchParams(this.#query);
    return this.#searchParams;
  }

  header(name: string): string | undefined {
    const value = this.raw.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  text(limitBytes: number): Promise<string> {
    this.#take();
    return readText(this.raw, limitBytes);
  }

  body(): AsyncIterable<Uint8Array> {
    this.#take();
    return this.raw;
  }

  #take(): void {
    if (this.#consumed) throw new Error('The request body was already read.');
    this.#consumed = true;
  }
}

/** The gateway's view of a node:http request. Call its methods on it (`request.header(name)`), not detached. */
export function fromNodeRequest(req: IncomingMessage): GatewayRequest {
  return new NodeRequest(req);
}

function readText(req: IncomingMessage, limitBytes: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (declared > limitBytes) return Promise.reject(tooLarge(limitBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > limitBytes) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge(limitBytes));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function tooLarge(limitBytes: number): DropgateError {
  return new DropgateError('REQUEST_TOO_LARGE', `The request body is over ${limitBytes} bytes.`, { limitBytes });
}

/**
 * Writes a GatewayResponse. A string or byte body gets a Content-Length (added to
 * `response.headers` when absent): without one, node:http would frame the answer as chunked,
 * which costs a writev of three buffers instead of one write, and more bytes.
 */
export async function sendNodeResponse(res: ServerResponse, response: GatewayResponse): Promise<void> {
  const { body, headers } = response;
  if (body === undefined) {
    res.writeHead(response.status, headers).end();
    return;
  }
  if (typeof body === 'string' || body instanceof Uint8Array) {
    headers['content-length'] ??= String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
    res.writeHead(response.status, headers).end(body);
    return;
  }
  res.writeHead(response.status, headers);
  await pipeline(body instanceof Readable ? body : Readable.from(body), res);
}

/**
 * A `(req, res)` listener for node:http, or Express (`app.use(toNodeHandler(gateway))`). With
 * `next`, requests outside the gateway's base path fall through to the next middleware.
 */
export function toNodeHandler(gateway: GatewayHandler) {
  return async (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): Promise<void> => {
    const request = fromNodeRequest(req);
    if (next && gateway.owns && !gateway.owns(request.pathname)) {
      next();
      return;
    }
    try {
      const response = await gateway.handle(request);
      await sendNodeResponse(res, response);
    } catch (error) {
      // The gateway renders its own errors; this only runs when the socket itself failed.
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy(error instanceof Error ? error : undefined);
    }
  };
}
