/**
 * `createDropgate`: the framework-free gateway. `handle(GatewayRequest) → GatewayResponse` serves
 * the whole protocol; adapters turn it into a node:http listener or a fetch handler.
 */
import { DropgateError } from '../shared/errors.js';
import type { GatewayRequest, GatewayResponse } from '../shared/http.js';
import { json } from '../shared/http.js';
import { hasReceiver } from '../storage/types.js';
import { handleComplete } from './complete.js';
import { type DropgateOptions, type LogEntry, resolveRoutes } from './config.js';
import type { GatewayContext } from './context.js';
import { handleDeleteFile, handleList, handleRead } from './files.js';
import { corsOrigin, preflightHeaders } from './origin.js';
import { createRouteLimiters, memoryRateLimiter } from './rate-limit.js';
import { handleSign } from './sign.js';
import { type SweepResult, sweep } from './sweeper.js';
import { handleAbort, handleParts, handleStatus } from './uploads.js';

export interface Dropgate {
  /** Serves one request; answers 404 outside `basePath`. */
  handle(request: GatewayRequest): Promise<GatewayResponse>;
  /** Whether a path belongs to the gateway (for frameworks that fall through to other handlers). */
  owns(pathname: string): boolean;
  /** Reconciles expired uploads once. */
  sweep(): Promise<SweepResult>;
  /** Sweeps every `intervalMs` until the returned function is called. */
  startSweeper(intervalMs?: number): () => void;
  readonly basePath: string;
}

const defaultLog = (entry: LogEntry) => {
  if (entry.level !== 'info') console.error(JSON.stringify(entry));
};

function buildContext(options: DropgateOptions): GatewayContext {
  if (!options.storage) throw new TypeError('dropgate: `storage` is required.');
  if (!options.ledger) throw new TypeError('dropgate: `ledger` is required.');
  if (!options.authenticate && !options.allowAnonymous) {
    throw new TypeError(
      'dropgate: give `authenticate`, or set `allowAnonymous: true` to treat each client IP as a user (development only).',
    );
  }
  const routes = resolveRoutes(options.routes);
  const defaultRoute = routes.get('default') ?? (routes.size === 1 ? [...routes.values()][0] : undefined);
  if (!defaultRoute) throw new TypeError('dropgate: with several routes, name one of them "default".');
  const basePath = (options.basePath ?? '/api/upload').replace(/\/+$/, '');
  if (!basePath.startsWith('/')) throw new TypeError('dropgate: `basePath` must start with "/".');
  const publicUrl = options.publicUrl ? new URL(options.publicUrl).origin : '';
  const factory = options.rateLimiter ?? memoryRateLimiter;
  return {
    storage: options.storage,
    ledger: options.ledger,
    routes,
    defaultRoute,
    limiters: new Map([...routes.values()].map((r) => [r.name, createRouteLimiters(r, factory)])),
    basePath,
    publicUrl,
    originPolicy: { ownOrigin: publicUrl || undefined, allowedOrigins: new Set(options.allowedOrigins ?? []) },
    trustProxy: options.trustProxy ?? false,
    authenticate: options.authenticate,
    hooks: options.hooks ?? {},
    log: options.log ?? defaultLog,
    now: options.now ?? (() => new Date()),
    completions: new Map(),
  };
}

type Handler = (ctx: GatewayContext, request: GatewayRequest, id: string) => Promise<GatewayResponse>;

const UUID = '([0-9a-f-]{36})';
const TABLE: [method: string, pattern: RegExp, handler: Handler][] = [
  ['POST', /^$/, handleSign],
  ['GET', /^$/, handleList],
  ['GET', new RegExp(`^/files/${UUID}$`), handleRead],
  ['DELETE', new RegExp(`^/files/${UUID}$`), handleDeleteFile],
  ['GET', new RegExp(`^/${UUID}$`), handleStatus],
  ['DELETE', new RegExp(`^/${UUID}$`), handleAbort],
  ['POST', new RegExp(`^/${UUID}/parts$`), handleParts],
  ['POST', new RegExp(`^/${UUID}/complete$`), handleComplete],
];

async function route(ctx: GatewayContext, request: GatewayRequest, rest: string): Promise<GatewayResponse> {
  if (request.method === 'OPTIONS') return { status: 204, headers: preflightHeaders(request, ctx.originPolicy) };
  if (rest.startsWith('/_disk/') && hasReceiver(ctx.storage)) {
    return ctx.storage.receiver.handle(request, rest.slice('/_disk/'.length));
  }
  let pathMatched = false;
  for (const [method, pattern, handler] of TABLE) {
    const match = pattern.exec(rest);
    if (!match) continue;
    pathMatched = true;
    if (method === request.method || (method === 'GET' && request.method === 'HEAD')) return handler(ctx, request, match[1] ?? '');
  }
  if (pathMatched) throw new DropgateError('METHOD_NOT_ALLOWED', `${request.method} is not supported here.`);
  throw new DropgateError('NOT_FOUND', 'No such endpoint.');
}

function render(ctx: GatewayContext, error: unknown, request: GatewayRequest): GatewayResponse {
  if (error instanceof DropgateError) {
    const headers: Record<string, string> = {};
    if (error.code === 'RATE_LIMITED' && typeof error.details.retryAfter === 'number')
      headers['retry-after'] = String(error.details.retryAfter);
    if (error.status >= 500) ctx.log({ level: 'error', msg: error.message, code: error.code, cause: String(error.cause ?? '') }, request);
    return json(error.status, error.toBody(), headers);
  }
  ctx.log(
    { level: 'error', msg: 'unexpected error', error: error instanceof Error ? (error.stack ?? error.message) : String(error) },
    request,
  );
  return json(500, new DropgateError('INTERNAL_ERROR', 'Something went wrong on the server.').toBody());
}

/**
 * @example
 * const gateway = createDropgate({
 *   storage: createDiskStorage({ directory: '.dropgate/files', secret, baseUrl }),
 *   ledger, // await createPGliteLedger({ dataDir: '.dropgate/ledger' }), then await ledger.migrate()
 *   routes: { default: { maxSize: '200MiB', allowedTypes: ['video/*'] } },
 *   authenticate: async (req) => ({ userId: await userIdFromSession(req.header('cookie')) }),
 * });
 */
export function createDropgate(options: DropgateOptions): Dropgate {
  const ctx = buildContext(options);
  const { basePath } = ctx;
  const owns = (pathname: string) => pathname === basePath || pathname.startsWith(`${basePath}/`);
  return {
    basePath,
    owns,
    async handle(request) {
      if (!owns(request.pathname)) return json(404, new DropgateError('NOT_FOUND', 'No such endpoint.').toBody());
      let response: GatewayResponse;
      try {
        response = await route(ctx, request, request.pathname.slice(basePath.length));
      } catch (error) {
        response = render(ctx, error, request);
      }
      const origin = corsOrigin(request, ctx.originPolicy);
      if (origin) {
        response.headers['access-control-allow-origin'] = origin;
        response.headers['access-control-allow-credentials'] = 'true';
        response.headers['access-control-expose-headers'] = 'etag, retry-after, content-range';
        response.headers.vary = 'Origin';
      }
      return response;
    },
    sweep: () => sweep(ctx),
    startSweeper(intervalMs = 60_000) {
      const timer = setInterval(() => {
        sweep(ctx).catch((error: unknown) => ctx.log({ level: 'warn', msg: 'sweep failed', error: String(error) }));
      }, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
