/**
 * `dropgate dev`: the embedded stack with development defaults, anonymous users (one per client
 * IP), a public default route, and the demo page.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { RouteConfig } from '../server/config.js';
import { DEFAULT_ALLOWED_TYPES } from '../server/config.js';
import { parseSize } from '../shared/sizes.js';
import { startEmbedded } from './embedded.js';
import type { Io } from './io.js';

export const DEV_HELP = `Usage: dropgate dev [--port N] [--data-dir D] [--storage disk|s3]

Starts the gateway with embedded defaults: files on disk and the ledger (PGlite) in the data
folder, anonymous users (one per client IP), and a demo page.

Options:
  --port N          port to listen on (env PORT; default 3000)
  --data-dir D      data folder (env DROPGATE_DATA_DIR; default .dropgate)
  --storage KIND    disk (default) or s3 (env DROPGATE_STORAGE)
  -h, --help        show this help

With --storage s3: S3_BUCKET, S3_REGION, S3_ENDPOINT, S3_FORCE_PATH_STYLE, S3_PUBLIC_BASE_URL,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (see "dropgate s3 --help").

Environment: DROPGATE_MAX_SIZE (default 200MiB), DROPGATE_ALLOWED_TYPES
(default ${DEFAULT_ALLOWED_TYPES.join(',')}), DROPGATE_SECRET, DROPGATE_PUBLIC_URL,
DROPGATE_ALLOWED_ORIGINS, DROPGATE_TRUST_PROXY.`;

export function devRouteFromEnv(env: NodeJS.ProcessEnv): RouteConfig {
  const route: RouteConfig = { visibility: 'public' };
  if (env.DROPGATE_MAX_SIZE) route.maxSize = parseSize(env.DROPGATE_MAX_SIZE);
  if (env.DROPGATE_ALLOWED_TYPES)
    route.allowedTypes = env.DROPGATE_ALLOWED_TYPES.split(',')
      .map((t) => t.trim())
      .filter(Boolean);
  return route;
}

const truthy = (value: string | undefined) => value !== undefined && /^(1|true|yes|on)$/i.test(value);

export async function runDev(argv: string[], io: Io, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      storage: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(`${DEV_HELP}\n`);
    return 0;
  }
  const storage = values.storage ?? env.DROPGATE_STORAGE ?? 'disk';
  if (storage !== 'disk' && storage !== 's3') {
    io.stderr.write(`dropgate dev: --storage must be disk or s3, got "${storage}".\n`);
    return 2;
  }
  // Loaded only when asked for: the AWS SDK under the s3 store takes a while to import.
  const s3 = storage === 's3' ? (await import('../storage/s3.js')).s3FromEnv(env) : undefined;
  const port = Number(values.port ?? env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    io.stderr.write(`dropgate dev: --port must be a port number, got "${values.port ?? env.PORT}".\n`);
    return 2;
  }
  const dataDir = resolve(values['data-dir'] ?? env.DROPGATE_DATA_DIR ?? '.dropgate');
  const stack = await startEmbedded({
    dataDir,
    port,
    routes: { default: devRouteFromEnv(env) },
    trustProxy: truthy(env.DROPGATE_TRUST_PROXY),
    ...(env.DROPGATE_SECRET ? { secret: env.DROPGATE_SECRET } : {}),
    ...(env.DROPGATE_PUBLIC_URL ? { publicUrl: env.DROPGATE_PUBLIC_URL } : {}),
    ...(env.DROPGATE_ALLOWED_ORIGINS ? { allowedOrigins: env.DROPGATE_ALLOWED_ORIGINS.split(',').map((o) => o.trim()) } : {}),
    log: (entry) => io.stderr.write(`${JSON.stringify(entry)}\n`),
    onRequest: ({ method, path, status, ms }) => io.stderr.write(`${method} ${path} ${status} ${ms.toFixed(1)}ms\n`),
    ...(s3 && { storage: s3 }),
  });
  io.stdout.write(`dropgate dev: demo and API at ${stack.url} (API ${stack.url}/api/upload), data in ${dataDir}\n`);
  if (s3) {
    io.stdout.write(
      `dropgate dev: files in bucket ${s3.bucket} (${s3.bucketUrl}); browsers need its CORS rules: dropgate s3 cors --origin ${stack.url} --apply\n`,
    );
    // dev's route is public; without a public base its read URLs go through the gateway, which
    // serves a file once it is completed — not right after the PUT, as the seed's client expects.
    if (!s3.publicUrl('x')) {
      io.stdout.write('dropgate dev: no S3_PUBLIC_BASE_URL: files are read through the gateway once completed\n');
    }
  }
  await new Promise<void>((done) => {
    const stop = () => {
      io.stdout.write('dropgate dev: shutting down\n');
      stack.close().then(done, done);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
