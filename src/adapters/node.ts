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

export function fromNodeRequest(req: IncomingMessage): GatewayRequest {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  let consumed = false;
  const take = () => {
    if (consumed) throw new Error('The request body was already read.');
    consumed = true;
  };
  return {
    method: req.method ?? 'GET',
    pathname: q === -1 ? url : url.slice(0, q),
    searchParams: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)),
    header: (name) => {
      const value = req.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    remoteAddress: req.socket.remoteAddress ?? '',
    raw: req,
    text: (limitBytes) => {
      take();
      return readText(req, limitBytes);
    },
    body: () => {
      take();
      return req;
    },
  };
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

export async function sendNodeResponse(res: ServerResponse, response: GatewayResponse): Promise<void> {
  const { body } = response;
  res.writeHead(response.status, response.headers);
  if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) {
    res.end(body);
    return;
  }
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
