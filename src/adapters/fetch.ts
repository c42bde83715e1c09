/**
 * Fetch-style adapter: `Request → Response`, for Next.js App Router, Hono, Bun, Deno and Workers.
 *
 * @example
 * const handler = toFetchHandler(gateway);
 * Bun.serve({ fetch: handler });
 */
import { DropgateError } from '../shared/errors.js';
import type { GatewayRequest, GatewayResponse } from '../shared/http.js';

export interface GatewayHandler {
  handle(request: GatewayRequest): Promise<GatewayResponse>;
}

export interface FetchAdapterOptions {
  /** The TCP peer's address; runtimes expose it differently (Bun: `server.requestIP(req)`). */
  remoteAddress?: (request: Request) => string | undefined;
}

async function readLimited(request: Request, limitBytes: number): Promise<string> {
  const declared = Number(request.headers.get('content-length'));
  const tooLarge = () => new DropgateError('REQUEST_TOO_LARGE', `The request body is over ${limitBytes} bytes.`, { limitBytes });
  if (declared > limitBytes) throw tooLarge();
  if (!request.body) return '';
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    length += chunk.byteLength;
    if (length > limitBytes) throw tooLarge();
    chunks.push(chunk);
  }
  const all = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(all);
}

export function fromFetchRequest(request: Request, remoteAddress = ''): GatewayRequest {
  const url = new URL(request.url);
  return {
    method: request.method,
    pathname: url.pathname,
    searchParams: url.searchParams,
    header: (name) => request.headers.get(name) ?? undefined,
    remoteAddress,
    raw: request,
    text: (limitBytes) => readLimited(request, limitBytes),
    body: () => (request.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() })) as unknown as AsyncIterable<Uint8Array>,
  };
}

function toStream(body: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  if (body instanceof ReadableStream) return body;
  const iterator = body[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await iterator.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}

export function toFetchResponse(response: GatewayResponse): Response {
  const { body } = response;
  const payload = body === undefined || typeof body === 'string' || body instanceof Uint8Array ? body : toStream(body);
  return new Response(payload as BodyInit | undefined, { status: response.status, headers: response.headers });
}

/** A `(Request) => Promise<Response>` serving the gateway. */
export function toFetchHandler(gateway: GatewayHandler, options: FetchAdapterOptions = {}) {
  return async (request: Request): Promise<Response> => {
    const response = await gateway.handle(fromFetchRequest(request, options.remoteAddress?.(request) ?? ''));
    return toFetchResponse(response);
  };
}
