/**
 * The Ceph RGW of scripts/rgw.sh for the S3 suites: its env file, the CI rule (no RGW fails the
 * suite in CI, skips it locally with the reason printed), stores on it, and clean-up of a test's
 * keys (the cluster keeps objects in RAM).
 *
 * @example
 * const rgw = await requireRgw();
 * describe.skipIf(!rgw)('s3 store on RGW', () => {
 *   const storage = rgwStorage(rgw!);
 *   const prefix = testPrefix('mine');
 *   afterAll(() => removePrefix(storage, prefix));
 * });
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CreateBucketCommand, DeleteBucketCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { type S3Storage, type S3StorageOptions, s3FromEnv } from '../../src/storage/s3.js';
import { isCi } from './services.js';

export type RgwEnv = Record<string, string>;

/** Where scripts/rgw.sh writes S3_ENDPOINT, S3_BUCKET, … for the tests. */
export const RGW_ENV_FILE = process.env.DROPGATE_RGW_ENV ?? `${process.env.DROPGATE_RGW_DIR ?? '/tmp/dropgate-rgw'}/env`;

const START_HINT = 'start it with scripts/rgw.sh start (.ci/run does)';

/** The variables of the env file, or undefined when there is none. */
export function readRgwEnv(file = RGW_ENV_FILE): RgwEnv | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const env: RgwEnv = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) env[match[1] as string] = match[2] as string;
  }
  return env;
}

/** Why RGW cannot be used, or undefined when its S3 endpoint answers. */
export async function rgwProblem(file = RGW_ENV_FILE): Promise<string | undefined> {
  const env = readRgwEnv(file);
  if (!env?.S3_ENDPOINT) return `no RGW env file at ${file}`;
  try {
    await fetch(env.S3_ENDPOINT, { signal: AbortSignal.timeout(3000) });
    return undefined;
  } catch (error) {
    return `RGW at ${env.S3_ENDPOINT} is not answering (${(error as Error).message})`;
  }
}

/**
 * Call at collection time: the RGW env when it answers; otherwise throws in CI and prints the
 * reason locally (the caller skips).
 */
export async function requireRgw(): Promise<RgwEnv | undefined> {
  const reason = await rgwProblem();
  if (reason === undefined) return readRgwEnv();
  if (isCi()) throw new Error(`S3 tests cannot run in CI without Ceph RGW: ${reason}; ${START_HINT}.`);
  console.warn(`Skipping S3 tests against Ceph RGW: ${reason}; ${START_HINT}.`);
  return undefined;
}

/** A store on the RGW bucket. */
export function rgwStorage(env: RgwEnv, extra: Partial<S3StorageOptions> = {}): S3Storage {
  return s3FromEnv(env, extra);
}

/** A fresh key prefix per suite, so suites sharing the bucket never see each other's keys. */
export function testPrefix(name: string): string {
  return `test/${name}-${randomUUID()}/`;
}

/** Removes every object and unfinished multipart upload under `prefix`. */
export async function removePrefix(storage: S3Storage, prefix: string): Promise<void> {
  const { client, bucket } = storage;
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  for (const u of uploads.Uploads ?? []) if (u.Key && u.UploadId) await storage.abortMultipart(u.Key, u.UploadId);
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token && { ContinuationToken: token }) }),
    );
    // One DeleteObject each: DeleteObjects needs a checksum header that RGW 16 and the SDK disagree on.
    await Promise.all((page.Contents ?? []).map((o) => (o.Key ? storage.delete(o.Key) : undefined)));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/**
 * A fresh bucket of its own (so no other suite's CORS rule can replace the test's meanwhile): the
 * RGW env naming it, and `remove()`, which empties and deletes it.
 */
export async function createTestBucket(rgw: RgwEnv): Promise<{ bucket: string; env: RgwEnv; remove(): Promise<void> }> {
  const bucket = `dropgate-dev-${randomBytes(6).toString('hex')}`;
  const env = { ...rgw, S3_BUCKET: bucket };
  const storage = rgwStorage(env);
  await storage.client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    bucket,
    env,
    async remove() {
      await removePrefix(storage, '');
      await storage.client.send(new DeleteBucketCommand({ Bucket: bucket }));
    },
  };
}
