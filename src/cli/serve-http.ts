/**
 * The node:http listener of `dropgate serve`: health and readiness, the gateway, one log line per
 * request with its id, and connections told to close while the instance drains. No demo page.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fromNodeRequest, sendNodeResponse } from '../adapters/node.js';
import type { Logger } from '../server/config.js';
import type { Dropgate } from '../server/gateway.js';
import { DropgateError } from '../shared/errors.js';
import type { GatewayRequest, GatewayResponse } from '../shared/http.js';
import { json } from '../shared/http.js';
import { redactPath } from './embedded.js';
import { type Readiness, readyz } from './health.js';
import { type RequestScope, requestIdOf, setRequestScope } from './serve-log.js';

export interface ServeListenerOptions {
  /** The gateway, once the ledger is migrated; undefined while starting. */
  gateway(): Dropgate | undefined;
  readiness(): Readiness;
  healthz(): Promise<GatewayResponse>;
  log: Logger;
  /** Called after each response that ends while draining, so connections it leaves idle are closed. */
  onDrainedResponse(): void;
}

const unavailable = (message: string) =>
  json(503, new DropgateError('SERVICE_UNAVAILABLE', message).toBody(), { 'retry-after': '1', connection: 'close' });

async function answer(options: ServeListenerOptions, request: GatewayRequest): Promise<GatewayResponse> {
  const isRead = request.method === 'GET' || request.method === 'HEAD';
  if (isRead && request.pathname === '/readyz') return readyz(options.readiness());
  const gateway = options.gateway();
  if (isRead && request.pathname === '/healthz') return gateway ? options.healthz() : readyz('starting');
  if (!gateway) return unavailable('dropgate is starting; try again in a moment.');
  if (gateway.owns(request.pathname)) return gateway.handle(request);
  return json(404, new DropgateError('NOT_FOUND', 'No such endpoint.').toBody());
}

/**
 * @example
 * const server = createServer(createServeListener({ gateway: () => gateway, readiness: () => 'ready', healthz, log, onDrainedResponse }));
 */
export function createServeListener(options: ServeListenerOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const scope: RequestScope = { requestId: requestIdOf(req.headers['x-request-id']) };
    setRequestScope(req, scope);
    res.setHeader('x-request-id', scope.requestId);
    // A keep-alive connection whose answer ended after the drain began is idle now: close it.
    res.once('finish', () => {
      if (options.readiness() === 'draining') setImmediate(options.onDrainedResponse);
    });
    const request = fromNodeRequest(req);
    try {
      const response = await answer(options, request);
      // Decided when the answer is ready, not when the request came: an upload that began
      // before SIGTERM still ends with "close", so its connection does not outlive the drain.
      if (options.readiness() === 'draining') response.headers.connection = 'close';
      await sendNodeResponse(res, response);
    } catch (error) {
      // The gateway renders its own errors; this is a socket that failed mid-answer.
      if (!res.headersSent) res.writeHead(500, { connection: 'close' }).end();
      else res.destroy(error instanceof Error ? error : undefined);
    } finally {
      // A probe's 503 is the answer it asked for (starting, draining, a dependency down: logged
      // on its own); only the API's 5xx deserve a warning.
      const probe = request.pathname === '/healthz' || request.pathname === '/readyz';
      options.log(
        {
          level: res.statusCode >= 500 && !probe ? 'warn' : 'info',
          msg: 'request',
          method: request.method,
          path: redactPath(request.pathname),
          status: res.statusCode,
          ms: Math.round((performance.now() - started) * 10) / 10,
          ...(scope.userId !== undefined ? { userId: scope.userId } : {}),
        },
        request,
      );
    }
  };
}
