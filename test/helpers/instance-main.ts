/**
 * A stand-in for `dropgate serve`, run as a child process by `instance.ts` until the real command
 * exists: the same production stack from the same environment variables — PostgreSQL ledger
 * (DATABASE_URL), Redis rate limits (REDIS_URL), API keys (DROPGATE_API_KEYS), the disk store in
 * DROPGATE_DATA_DIR signed with DROPGATE_SECRET — and routes from `--config file.json`.
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { toNodeHandler } from '../../src/adapters/node.js';
import { createPostgresLedger } from '../../src/ledger/postgres.js';
import { apiKeyAuth, apiKeysFromEnv } from '../../src/server/auth.js';
import type { RouteConfig } from '../../src/server/config.js';
import { createDropgate } from '../../src/server/gateway.js';
import { createRedisClient, redisRateLimiter } from '../../src/server/rate-limit-redis.js';
import { createDiskStorage } from '../../src/storage/disk.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`instance: ${name} is required`);
  return value;
}

const { values } = parseArgs({ options: { config: { type: 'string' } } });
const config = (values.config ? JSON.parse(await readFile(values.config, 'utf8')) : {}) as { routes?: Record<string, RouteConfig> };
const port = Number(required('PORT'));
const publicUrl = process.env.DROPGATE_PUBLIC_URL ?? `http://127.0.0.1:${port}`;
const log = (entry: object) => process.stderr.write(`${JSON.stringify(entry)}\n`);

const ledger = createPostgresLedger({ connectionString: required('DATABASE_URL'), onIdleError: (e) => log({ idleError: e.message }) });
await ledger.migrate();
const redis = createRedisClient(required('REDIS_URL'));
// Signs before the first connection would be refused (503); wait for it, briefly.
await Promise.race([once(redis, 'ready'), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);

const gateway = createDropgate({
  storage: createDiskStorage({
    directory: join(required('DROPGATE_DATA_DIR'), 'files'),
    secret: required('DROPGATE_SECRET'),
    baseUrl: `${publicUrl}/api/upload/_disk`,
  }),
  ledger,
  publicUrl,
  ...(config.routes ? { routes: config.routes } : {}),
  authenticate: apiKeyAuth(apiKeysFromEnv(required('DROPGATE_API_KEYS'))),
  rateLimiter: redisRateLimiter(redis),
  log,
});
const stopSweeper = gateway.startSweeper();
const server = createServer(toNodeHandler(gateway));
server.listen(port, '127.0.0.1', () => process.stdout.write(`dropgate instance listening on ${publicUrl}\n`));

process.once('SIGTERM', () => {
  stopSweeper();
  server.close(() => {
    Promise.allSettled([ledger.close(), redis.quit()]).then(() => process.exit(0));
  });
  server.closeIdleConnections();
});
