/**
 * What `dropgate serve` runs: the ledger (PostgreSQL with DATABASE_URL, else PGlite in the data
 * folder), rate limits (Redis with REDIS_URL, else memory), the store, the gateway, the sweeper,
 * and a node:http server that drains on shutdown. Every instance is stateless; with PostgreSQL,
 * Redis and a shared store, any number of them can sit behind one load balancer.
 */
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { createPGliteLedger } from '../ledger/pglite.js';
import { ledgerFromEnv } from '../ledger/postgres.js';
import type { Ledger } from '../ledger/types.js';
import type { Authenticate, Logger } from '../server/config.js';
import { createDropgate, type Dropgate } from '../server/gateway.js';
import { createRedisClient, redisRateLimiter } from '../server/rate-limit-redis.js';
import { createDiskStorage, type DiskStorage } from '../storage/disk.js';
import type { Storage } from '../storage/types.js';
import { ConfigError } from './config-file.js';
import { secretFor } from './embedded.js';
import { diskCheck, type HealthCheck, healthz, ledgerCheck, type Readiness, redisCheck, storageCheck } from './health.js';
import { createServeListener } from './serve-http.js';
import { requestScopeOf } from './serve-log.js';
import type { ServeSettings } from './serve-settings.js';

export interface ServeStack {
  /** Where this process listens (`http://localhost:{port}`), not the public URL. */
  url: string;
  server: Server;
  readiness(): Readiness;
  /**
   * Readiness goes 503 at once, the listener stops accepting, in-flight requests finish (for at
   * most `graceMs`, then their connections are cut), then the sweeper, ledger and Redis close.
   * A second call cuts the connections at once.
   */
  shutdown(graceMs?: number): Promise<void>;
}

export interface ServeStackOptions {
  log: Logger;
  /** The store when it is not the disk store in the data folder (DROPGATE_STORAGE=s3). */
  storage?: Storage;
  sweepIntervalMs?: number;
}

/** Names the user in the request's log line, whoever `authenticate` turns out to be. */
function recordingUser(authenticate: Authenticate): Authenticate {
  return async (request) => {
    const identity = await authenticate(request);
    const scope = requestScopeOf(request);
    if (scope && identity?.userId) scope.userId = identity.userId;
    return identity;
  };
}

/** A Redis client that logs when it goes away and comes back, not every reconnect attempt. */
function redisClient(url: string, log: Logger): Redis {
  let down = false;
  const client = createRedisClient(url, {
    onError: (error) => {
      if (!down) log({ level: 'warn', msg: 'redis unreachable; sign requests answer 503 until it is back', error: error.message });
      down = true;
    },
  });
  client.on('ready', () => {
    if (down) log({ level: 'info', msg: 'redis reachable again' });
    down = false;
  });
  return client;
}

/**
 * Until Redis is first connected every sign would answer 503: wait for that, briefly. Not
 * `events.once`, which rejects on the client's 'error' events; those only mean "retrying".
 */
function firstConnection(client: Redis, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The disk store in the data folder, its URLs under the public origin. */
async function diskStore(settings: ServeSettings, basePath: string): Promise<DiskStorage> {
  return createDiskStorage({
    directory: join(settings.dataDir, 'files'),
    secret: await secretFor(settings.dataDir, settings.secret),
    baseUrl: `${settings.publicUrl}${basePath}/_disk`,
  });
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Listens first (so `/readyz` can say "starting" during a long migration), then opens the ledger
 * and the rest; the gateway answers once the ledger is migrated.
 * @example
 * const stack = await startServe(serveSettings(flags, process.env, config, process.cwd()), { log });
 * process.once('SIGTERM', () => stack.shutdown());
 */
export async function startServe(settings: ServeSettings, options: ServeStackOptions): Promise<ServeStack> {
  const { log } = options;
  if (settings.storage !== 'disk' && !options.storage) throw new ConfigError(`DROPGATE_STORAGE=${settings.storage} needs its store.`);
  let state: Readiness = 'starting';
  let gateway: Dropgate | undefined;
  let checks: Record<string, HealthCheck> = {};
  const server = createServer(
    createServeListener({
      gateway: () => gateway,
      readiness: () => state,
      healthz: () => healthz(checks, log),
      log,
      onDrainedResponse: () => server.closeIdleConnections(),
    }),
  );
  // Big single PUTs to the disk store on slow links take longer than Node's default 300 s.
  server.requestTimeout = 0;
  // Longer than the idle timeout of common load balancers (60 s), so they never reuse a
  // connection this side has just closed.
  server.keepAliveTimeout = 65_000;
  const port = await listen(server, settings.port);

  let ledger: Ledger | undefined;
  let redis: Redis | undefined;
  const closeDependencies = async () => {
    await ledger?.close().catch((error: unknown) => log({ level: 'warn', msg: 'closing the ledger failed', error: String(error) }));
    if (redis) await redis.quit().catch(() => redis?.disconnect());
  };
  let stopTimers = () => {};
  try {
    await mkdir(settings.dataDir, { recursive: true });
    ledger =
      ledgerFromEnv(
        { DATABASE_URL: settings.databaseUrl },
        {
          prepareStatements: settings.pgPrepare,
          onIdleError: (error) => log({ level: 'warn', msg: 'postgresql connection lost', error: error.message }),
        },
      ) ?? (await createPGliteLedger({ dataDir: join(settings.dataDir, 'ledger') }));
    await ledger.migrate();
    redis = settings.redisUrl ? redisClient(settings.redisUrl, log) : undefined;
    if (redis) await firstConnection(redis, 5000);
    const basePath = (settings.basePath ?? '/api/upload').replace(/\/+$/, '');
    const disk = options.storage ? undefined : await diskStore(settings, basePath);
    const storage: Storage = options.storage ?? disk!;
    gateway = createDropgate({
      storage,
      ledger,
      basePath,
      routes: settings.routes,
      authenticate: recordingUser(settings.authenticate),
      trustProxy: settings.trustProxy,
      allowedOrigins: settings.allowedOrigins,
      log,
      ...(settings.publicUrl ? { publicUrl: settings.publicUrl } : {}),
      ...(settings.hooks ? { hooks: settings.hooks } : {}),
      ...(redis ? { rateLimiter: redisRateLimiter(redis) } : {}),
    });
    checks = {
      ledger: ledgerCheck(ledger),
      storage: disk ? diskCheck(disk.directory) : storageCheck(storage),
      ...(redis ? { redis: redisCheck(redis) } : {}),
    };
    const interval = options.sweepIntervalMs ?? 60_000;
    const stopSweeper = gateway.startSweeper(interval);
    // Used-token markers and abandoned temp files; cheap, so it runs with every tenth sweep.
    const cleanup = setInterval(() => {
      disk?.cleanup().catch((error: unknown) => log({ level: 'warn', msg: 'disk cleanup failed', error: String(error) }));
    }, interval * 10);
    cleanup.unref();
    stopTimers = () => {
      stopSweeper();
      clearInterval(cleanup);
    };
  } catch (error) {
    server.close();
    await closeDependencies();
    throw error;
  }
  state = 'ready';

  let draining: Promise<void> | undefined;
  return {
    url: `http://localhost:${port}`,
    server,
    readiness: () => state,
    shutdown(graceMs = 25_000) {
      if (draining) {
        server.closeAllConnections();
        return draining;
      }
      state = 'draining';
      stopTimers();
      draining = (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const deadline = setTimeout(() => {
          log({ level: 'warn', msg: `requests still running after ${graceMs} ms; closing their connections` });
          server.closeAllConnections();
        }, graceMs);
        await closed;
        clearTimeout(deadline);
        await closeDependencies();
      })();
      return draining;
    },
  };
}
