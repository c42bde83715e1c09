/**
 * `dropgate serve`: the production gateway. Auth is required, routes are private by default, URLs
 * come from DROPGATE_PUBLIC_URL, logs are JSON lines on stdout, SIGTERM drains and exits 0.
 */
import { parseArgs } from 'node:util';
import { apiKeysFromEnv } from '../server/auth.js';
import { DropgateError } from '../shared/errors.js';
import { ConfigError, findConfigFile, loadConfigFile } from './config-file.js';
import type { Io } from './io.js';
import { createJsonLogger } from './serve-log.js';
import { type ServeSettings, serveSettings } from './serve-settings.js';
import { startServe } from './serve-stack.js';

export const SERVE_HELP = `Usage: dropgate serve [--config F] [--port N]

Runs the gateway for production: auth required, routes private by default, JSON logs on stdout,
GET /healthz and GET /readyz, graceful shutdown on SIGTERM/SIGINT. No demo page.

Options:
  --config F    routes (and, from .js/.mjs, hooks and authenticate) from F; default: the
                dropgate.config.{js,mjs,json,ts} in the working directory, if any (.ts needs a
                Node that strips types, 22.18+; otherwise compile it to .mjs)
  --port N      port to listen on (env PORT; default 3000)
  -h, --help    show this help

Environment (flags override it; it overrides the config file):
  DROPGATE_PUBLIC_URL      the public origin of this gateway; required for the disk store
  DROPGATE_API_KEYS        key:userId,key:userId   (sent as Authorization: Bearer key)
  DROPGATE_JWT_SECRET or DROPGATE_JWKS_URL, with DROPGATE_JWT_ISSUER, DROPGATE_JWT_AUDIENCE
  DROPGATE_ALLOW_ANONYMOUS=1   run without auth (each client IP is a user); off by default
  DATABASE_URL             PostgreSQL ledger (default: PGlite in the data folder, one instance)
  REDIS_URL                rate limits shared by all instances (default: in memory)
  DROPGATE_DATA_DIR        data folder (default .dropgate): disk store files, PGlite, secret
  DROPGATE_SECRET          disk store HMAC secret, the same on every instance (default: the
                           one generated in the data folder)
  DROPGATE_STORAGE         disk (default) or s3 (S3_BUCKET, S3_REGION, S3_ENDPOINT, S3_FORCE_PATH_STYLE,
                           S3_PUBLIC_BASE_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)
  DROPGATE_TRUST_PROXY=1   client IP from X-Forwarded-For (behind a load balancer)
  DROPGATE_ALLOWED_ORIGINS other origins allowed to call from browsers
  DROPGATE_MAX_SIZE, DROPGATE_ALLOWED_TYPES   limits of the default route

Without auth settings it refuses to start (exit code 2).`;

/** Values that must never reach a log line, whatever shape they take. */
function secretsOf(env: NodeJS.ProcessEnv): string[] {
  const secrets = [env.DROPGATE_SECRET, env.DROPGATE_JWT_SECRET, env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN].filter(
    (s): s is string => Boolean(s),
  );
  if (env.DROPGATE_API_KEYS) secrets.push(...apiKeysFromEnv(env.DROPGATE_API_KEYS).keys());
  return secrets;
}

/** Which backends this instance runs on, for the start-up line; no URLs (they may hold passwords). */
function describe(settings: ServeSettings, config: string | undefined) {
  return {
    publicUrl: settings.publicUrl ?? null,
    storage: settings.storage,
    ledger: settings.databaseUrl ? 'postgresql' : 'pglite',
    rateLimits: settings.redisUrl ? 'redis' : 'memory',
    auth: settings.authDescription,
    config: config ?? null,
    routes: Object.keys(settings.routes),
  };
}

/** Resolves on the first SIGTERM or SIGINT; a second one during the drain calls `again`. */
function untilSignal(again: () => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let seen = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (seen) return again();
      seen = true;
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

export async function runServe(argv: string[], io: Io, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    io.stdout.write(`${SERVE_HELP}\n`);
    return 0;
  }
  let settings: ServeSettings;
  let configPath: string | undefined;
  try {
    configPath = await findConfigFile(values.config, cwd);
    settings = serveSettings({ port: values.port }, env, configPath ? await loadConfigFile(configPath) : {}, cwd);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr.write(`dropgate serve: ${error.message}\n`);
    return 2;
  }
  const log = createJsonLogger((line) => io.stdout.write(line), secretsOf(env));
  let stack: Awaited<ReturnType<typeof startServe>>;
  try {
    // Loaded only when asked for: the AWS SDK under the s3 store takes a while to import.
    const storage = settings.storage === 's3' ? (await import('../storage/s3.js')).s3FromEnv(env) : undefined;
    stack = await startServe(settings, { log, ...(storage ? { storage } : {}) });
  } catch (error) {
    // A bad S3_* variable is a configuration mistake too.
    const invalidS3 = error instanceof DropgateError && error.code === 'INVALID_REQUEST';
    if (!(error instanceof ConfigError) && !invalidS3) throw error;
    io.stderr.write(`dropgate serve: ${error.message}\n`);
    return 2;
  }
  log({ level: 'info', msg: 'listening', url: stack.url, ...describe(settings, configPath) });
  const signal = await untilSignal(() => {
    log({ level: 'warn', msg: 'second signal: closing open connections now' });
    void stack.shutdown();
  });
  log({ level: 'info', msg: 'shutting down', signal });
  await stack.shutdown();
  log({ level: 'info', msg: 'stopped' });
  return 0;
}
