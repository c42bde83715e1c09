/**
 * `dropgate s3 cors|lifecycle|policy`: prints the bucket settings dropgate needs, or applies them
 * with `--apply` (keeping the bucket's other rules). Bucket and credentials come from the S3_* and
 * AWS_* environment, as for `dropgate dev --storage s3`.
 */
import { parseArgs } from 'node:util';
import {
  GetBucketCorsCommand,
  GetBucketLifecycleConfigurationCommand,
  PutBucketCorsCommand,
  PutBucketLifecycleConfigurationCommand,
} from '@aws-sdk/client-s3';
import { DropgateError } from '../shared/errors.js';
import { type S3Storage, s3FromEnv } from '../storage/s3.js';
import { s3Error, s3FailureOf } from '../storage/s3-errors.js';
import type { Io } from './io.js';
import { corsRule, iamPolicy, lifecycleRule, mergeRules } from './s3-rules.js';

export const S3_HELP = `Usage: dropgate s3 <cors|lifecycle|policy> [options]

Bucket settings for the s3 store, printed as JSON; --apply writes them to the bucket, replacing
only dropgate's own rule and keeping the others.

  cors [--origin O]… [--max-age S] [--apply]
      CORS rule so browsers can PUT to the bucket: exact origins (default DROPGATE_PUBLIC_URL and
      DROPGATE_ALLOWED_ORIGINS), methods PUT GET HEAD, only the headers dropgate signs, ETag exposed.
  lifecycle [--days N] [--apply]
      Aborts multipart uploads left unfinished for N days (default 2).
  policy [--prefix P] [--setup]
      The least IAM policy for the gateway's credentials (--setup: also what --apply and
      "dropgate doctor" need).

Environment: S3_BUCKET, S3_REGION, S3_ENDPOINT, S3_FORCE_PATH_STYLE, S3_ACL, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.`;

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** The exact origins to allow: --origin flags, else the gateway's own and allowed origins. */
export function originsFrom(flags: string[] | undefined, env: Record<string, string | undefined>): string[] {
  if (flags && flags.length > 0) return flags;
  const fromEnv = [env.DROPGATE_PUBLIC_URL, ...(env.DROPGATE_ALLOWED_ORIGINS ?? '').split(',')];
  return fromEnv.map((o) => o?.trim() ?? '').filter((o) => o !== '');
}

export async function runS3(argv: string[], io: Io, env: Record<string, string | undefined> = process.env): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      origin: { type: 'string', multiple: true },
      'max-age': { type: 'string' },
      days: { type: 'string' },
      prefix: { type: 'string' },
      setup: { type: 'boolean' },
      apply: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(`${S3_HELP}\n`);
    return sub === undefined ? 2 : 0;
  }
  switch (sub) {
    case 'cors': {
      const acl = env.S3_ACL?.trim() || undefined;
      const rule = corsRule(originsFrom(values.origin, env), { acl, maxAgeSeconds: Number(values['max-age'] ?? 3600) });
      if (!values.apply) return dryRun(io, { CORSRules: [rule] });
      const storage = s3FromEnv(env);
      const existing = await getOr(
        storage,
        'NoSuchCORSConfiguration',
        async () => (await storage.client.send(new GetBucketCorsCommand({ Bucket: storage.bucket }))).CORSRules,
      );
      const CORSConfiguration = { CORSRules: mergeRules(existing, rule) };
      await put(storage, 'writing the bucket CORS rules', () =>
        storage.client.send(new PutBucketCorsCommand({ Bucket: storage.bucket, CORSConfiguration })),
      );
      io.stdout.write(json(CORSConfiguration));
      io.stderr.write(`dropgate s3 cors: applied to bucket ${storage.bucket}.\n`);
      return 0;
    }
    case 'lifecycle': {
      const rule = lifecycleRule(Number(values.days ?? 2));
      if (!values.apply) return dryRun(io, { Rules: [rule] });
      const storage = s3FromEnv(env);
      const existing = await getOr(
        storage,
        'NoSuchLifecycleConfiguration',
        async () => (await storage.client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: storage.bucket }))).Rules,
      );
      const LifecycleConfiguration = { Rules: mergeRules(existing, rule) };
      await put(storage, 'writing the bucket lifecycle rules', () =>
        storage.client.send(new PutBucketLifecycleConfigurationCommand({ Bucket: storage.bucket, LifecycleConfiguration })),
      );
      io.stdout.write(json(LifecycleConfiguration));
      io.stderr.write(`dropgate s3 lifecycle: applied to bucket ${storage.bucket}.\n`);
      return 0;
    }
    case 'policy': {
      const bucket = env.S3_BUCKET?.trim();
      if (!bucket) throw new DropgateError('INVALID_REQUEST', 'S3_BUCKET is not set.', { option: 'S3_BUCKET' });
      io.stdout.write(
        json(iamPolicy(bucket, { ...(values.prefix !== undefined && { prefix: values.prefix }), setup: values.setup ?? false })),
      );
      return 0;
    }
    default:
      io.stderr.write(`dropgate s3: unknown command "${sub}".\n\n${S3_HELP}\n`);
      return 2;
  }
}

function dryRun(io: Io, config: unknown): number {
  io.stdout.write(json(config));
  io.stderr.write('(printed only; add --apply to write it to the bucket)\n');
  return 0;
}

/** The bucket's current rules, or none when it has no such configuration yet. */
async function getOr<T>(storage: S3Storage, missingCode: string, get: () => Promise<T[] | undefined>): Promise<T[]> {
  try {
    return (await get()) ?? [];
  } catch (error) {
    if (s3FailureOf(error).code === missingCode) return [];
    throw s3Error(error, `reading the settings of bucket ${storage.bucket}`);
  }
}

async function put(storage: S3Storage, action: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    throw s3Error(error, `${action} of bucket ${storage.bucket}`);
  }
}
