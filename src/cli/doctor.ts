/**
 * `dropgate doctor`: checks a deployment's s3 store from where the gateway runs, with real
 * requests (see doctor-checks.ts), and says what to fix. Exit status 1 when anything failed.
 */
import { parseArgs } from 'node:util';
import type { Io } from './io.js';
import { exactOrigin } from './s3-rules.js';

export const DOCTOR_HELP = `Usage: dropgate doctor [--origin O] [--json]

Checks the s3 store configured in the environment: credentials, bucket, clock skew against the
store, a presigned upload (and that a body longer than signed is refused), If-None-Match, a CORS
preflight from the app origin, the ACL setting, the lifecycle rule and S3_PUBLIC_BASE_URL.
It writes and deletes one small object under dropgate-doctor/.

Options:
  --origin O   the app origin browsers upload from (default DROPGATE_PUBLIC_URL)
  --json       one JSON array of {name, status, detail}
  -h, --help   show this help

Environment: DROPGATE_STORAGE, S3_BUCKET, S3_REGION, S3_ENDPOINT, S3_FORCE_PATH_STYLE,
S3_PUBLIC_BASE_URL, S3_ACL, S3_CONDITIONAL_WRITE, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN.`;

export async function runDoctor(argv: string[], io: Io, env: Record<string, string | undefined> = process.env): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { origin: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    io.stdout.write(`${DOCTOR_HELP}\n`);
    return 0;
  }
  const kind = env.DROPGATE_STORAGE?.trim() || (env.S3_BUCKET ? 's3' : 'disk');
  if (kind !== 's3') {
    io.stdout.write('storage: disk (DROPGATE_STORAGE is not s3): nothing to check in object storage.\n');
    return 0;
  }
  const originValue = values.origin ?? env.DROPGATE_PUBLIC_URL?.trim();
  const origin = originValue ? exactOrigin(originValue) : undefined;
  // The SDK (200 ms to import) only once there is an s3 store to check.
  const { s3FromEnv } = await import('../storage/s3.js');
  const { doctorChecks } = await import('./doctor-checks.js');
  const storage = s3FromEnv(env);
  const checks = await doctorChecks(storage, { origin, acl: env.S3_ACL?.trim() || undefined });
  if (values.json) io.stdout.write(`${JSON.stringify(checks)}\n`);
  else {
    const width = Math.max(...checks.map((c) => c.name.length));
    for (const c of checks) io.stdout.write(`${c.status.toUpperCase().padEnd(4)}  ${c.name.padEnd(width)}  ${c.detail}\n`);
  }
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}
