/**
 * The bucket settings dropgate needs, as plain data: the CORS rule browsers need to PUT straight
 * to the bucket, the lifecycle rule that clears abandoned multipart uploads, and the least IAM
 * policy the gateway's credentials need. `dropgate s3 …` prints or applies them.
 */
import type { CORSRule, LifecycleRule } from '@aws-sdk/client-s3';
import { DropgateError } from '../shared/errors.js';

/** Rule ids dropgate owns; applying replaces these and keeps every other rule of the bucket. */
export const CORS_RULE_ID = 'dropgate';
export const LIFECYCLE_RULE_ID = 'dropgate-abort-incomplete-multipart';

/**
 * Exactly the headers a dropgate URL may ask the browser to send (content-length is set by the
 * browser itself and is not a CORS request header).
 */
export function signedRequestHeaders(options: { acl?: string | undefined } = {}): string[] {
  return ['content-type', 'content-md5', 'if-none-match', 'x-amz-checksum-sha256', ...(options.acl ? ['x-amz-acl'] : [])];
}

/** `https://app.example` from a user's `--origin`; refuses wildcards, paths and other schemes. */
export function exactOrigin(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {}
  if (!url || value.includes('*') || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== value.replace(/\/$/, '')) {
    throw new DropgateError(
      'INVALID_REQUEST',
      `${JSON.stringify(value)} is not an exact origin like https://app.example (no "*", path or query).`,
      {
        field: 'origin',
      },
    );
  }
  return url.origin;
}

/**
 * The CORS rule: exact origins, PUT for uploads, GET/HEAD for signed reads, only the signed
 * headers, and ETag exposed (multipart clients read each part's ETag).
 * @example corsRule(['https://app.example']) // { ID: 'dropgate', AllowedOrigins: ['https://app.example'], … }
 */
export function corsRule(origins: readonly string[], options: { acl?: string | undefined; maxAgeSeconds?: number } = {}): CORSRule {
  if (origins.length === 0)
    throw new DropgateError('INVALID_REQUEST', 'Give at least one --origin (the app that uploads).', { field: 'origin' });
  const maxAge = options.maxAgeSeconds ?? 3600;
  if (!Number.isInteger(maxAge) || maxAge < 0)
    throw new DropgateError('INVALID_REQUEST', `--max-age must be whole seconds, got ${maxAge}.`, { field: 'max-age' });
  return {
    ID: CORS_RULE_ID,
    AllowedOrigins: [...new Set(origins.map(exactOrigin))],
    AllowedMethods: ['PUT', 'GET', 'HEAD'],
    AllowedHeaders: signedRequestHeaders(options),
    ExposeHeaders: ['ETag'],
    MaxAgeSeconds: maxAge,
  };
}

/**
 * Aborts multipart uploads left unfinished for `days` days, so their parts stop costing storage.
 * @example lifecycleRule(2)
 */
export function lifecycleRule(days: number): LifecycleRule {
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw new DropgateError('INVALID_REQUEST', `--days must be a whole number of days from 1, got ${days}.`, { field: 'days' });
  }
  return {
    ID: LIFECYCLE_RULE_ID,
    Status: 'Enabled',
    Filter: { Prefix: '' },
    AbortIncompleteMultipartUpload: { DaysAfterInitiation: days },
  };
}

/** `rules` with dropgate's rule (by id) replaced by `ours`: others' rules are kept as they are. */
export function mergeRules<T extends { ID?: string | undefined }>(rules: readonly T[] | undefined, ours: T): T[] {
  return [...(rules ?? []).filter((rule) => rule.ID !== ours.ID), ours];
}

/**
 * The least IAM policy for the gateway's credentials. `s3:ListBucket` is there so that HEAD of a
 * missing object answers 404 (without it S3 answers 403). `setup` adds what `dropgate s3 cors|lifecycle --apply` and
 * `doctor` read or write.
 * @example iamPolicy('my-uploads')
 */
export function iamPolicy(bucket: string, options: { prefix?: string; setup?: boolean } = {}): Record<string, unknown> {
  const objects = `arn:aws:s3:::${bucket}/${options.prefix ?? ''}*`;
  const statements: Record<string, unknown>[] = [
    {
      Sid: 'DropgateObjects',
      Effect: 'Allow',
      Action: [
        's3:PutObject',
        's3:GetObject',
        's3:GetObjectAcl',
        's3:DeleteObject',
        's3:AbortMultipartUpload',
        's3:ListMultipartUploadParts',
      ],
      Resource: objects,
    },
    { Sid: 'DropgateBucket', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: `arn:aws:s3:::${bucket}` },
  ];
  if (options.setup) {
    statements.push({
      Sid: 'DropgateSetup',
      Effect: 'Allow',
      Action: ['s3:GetBucketCORS', 's3:PutBucketCORS', 's3:GetLifecycleConfiguration', 's3:PutLifecycleConfiguration'],
      Resource: `arn:aws:s3:::${bucket}`,
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}
