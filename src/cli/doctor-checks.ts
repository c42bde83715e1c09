/**
 * What `dropgate doctor` checks on an s3 store, each as the real request a user's setup depends on:
 * a listing (credentials, bucket), the server's Date (clock skew), a presigned PUT of a probe
 * object from the app's origin (upload, ACL, exposed ETag), a size+1 body (the store verifies
 * signatures), If-None-Match, a CORS preflight, the lifecycle rule, and the public base URL.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { GetBucketLifecycleConfigurationCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { S3Storage } from '../storage/s3.js';
import { s3FailureOf } from '../storage/s3-errors.js';
import { signedRequestHeaders } from './s3-rules.js';

export interface Check {
  name: string;
  status: 'ok' | 'warn' | 'fail' | 'skip';
  detail: string;
}

export interface DoctorOptions {
  /** The app origin browsers upload from; without it the CORS check is skipped. */
  origin?: string | undefined;
  acl?: string | undefined;
}

const CREDENTIAL_CODES = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'InvalidSecurity']);

/** Every check in order; never throws for what it finds, only reports it. */
export async function doctorChecks(storage: S3Storage, options: DoctorOptions = {}): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (name: string, status: Check['status'], detail: string) => checks.push({ name, status, detail });
  const where = `bucket ${storage.bucket} at ${storage.bucketUrl}`;

  try {
    await storage.client.send(new ListObjectsV2Command({ Bucket: storage.bucket, MaxKeys: 1, Prefix: 'dropgate-doctor/' }));
    add('credentials', 'ok', 'accepted');
    add('bucket', 'ok', `${where} answers`);
  } catch (error) {
    const { code, status } = s3FailureOf(error);
    if (CREDENTIAL_CODES.has(code)) add('credentials', 'fail', `refused by the store (${code})`);
    else if (code === 'AccessDenied')
      add('credentials', 'warn', 'accepted, but may not list the bucket (s3:ListBucket): a missing object would answer 403, not 404');
    else if (code === 'NoSuchBucket') add('bucket', 'fail', `${where} does not exist`);
    else add('bucket', 'fail', `${where} is not reachable (${code}${status ? ` ${status}` : ''})`);
    if (checks.some((c) => c.status === 'fail')) return checks;
  }

  const date = await fetch(storage.bucketUrl, { method: 'HEAD' }).then(
    (r) => r.headers.get('date'),
    () => null,
  );
  const skew = date ? Math.round((Date.now() - Date.parse(date)) / 1000) : Number.NaN;
  if (Number.isNaN(skew)) add('clock', 'warn', 'the store sent no Date header to compare with');
  else {
    // Presigned URLs are dated by this clock: minutes off and they expire early (a 10-minute URL
    // from a clock 5 minutes behind lives 5) or are refused as not yet valid; past 15 min S3
    // refuses every request. A minute is already a tenth of the default URL lifetime.
    const off = Math.abs(skew);
    const detail = `this machine's clock is ${off} s ${skew > 0 ? 'ahead of' : 'behind'} the store's (Date: ${date})`;
    if (off <= 30) add('clock', 'ok', detail);
    else
      add(
        'clock',
        off <= 60 ? 'warn' : 'fail',
        `${detail}: presigned URLs are dated by this clock, so they expire early or start late; sync it (NTP)`,
      );
  }

  const key = `dropgate-doctor/${randomUUID()}.bin`;
  const bytes = randomBytes(16);
  const originHeader: Record<string, string> = options.origin ? { origin: options.origin } : {};
  const put = storage.presignPut({ key, size: bytes.length, contentType: 'application/octet-stream', expiresIn: 300 });
  const landed = await fetch(put.url, { method: 'PUT', headers: { ...put.headers, ...originHeader }, body: bytes }).catch(() => undefined);
  const landedCode = landed && !landed.ok ? /<Code>([^<]+)/.exec(await landed.text())?.[1] : undefined;
  if (landed?.ok) add('upload', 'ok', 'a presigned PUT landed');
  else add('upload', 'fail', `a presigned PUT was refused (${landed ? `${landed.status} ${landedCode ?? ''}`.trim() : 'no answer'})`);

  if (options.acl) {
    const refused = landedCode === 'AccessControlListNotSupported';
    add(
      'acl',
      refused ? 'fail' : 'warn',
      `signs x-amz-acl: ${options.acl}${refused ? ', which this bucket refuses (ACLs disabled): unset S3_ACL' : '; buckets with ACLs disabled (the AWS default since April 2023) refuse such uploads'}`,
    );
  } else add('acl', 'ok', 'none signed (objects stay private; serve public files through S3_PUBLIC_BASE_URL or the gateway)');

  const oversized = storage.presignPut({ key: `${key}.canary`, size: 4, contentType: 'application/octet-stream', expiresIn: 300 });
  const canary = await fetch(oversized.url, { method: 'PUT', headers: oversized.headers, body: randomBytes(5) }).catch(() => undefined);
  if (canary && canary.status >= 400 && canary.status < 500) add('signatures', 'ok', 'a body longer than signed is refused');
  else
    add(
      'signatures',
      'fail',
      `a body longer than signed was ${canary?.ok ? 'ACCEPTED: this store does not verify what dropgate signs' : 'not refused cleanly'}`,
    );

  if (!storage.capabilities.conditionalWrite) add('conditional write', 'skip', 'S3_CONDITIONAL_WRITE=false: If-None-Match is not signed');
  else if (landed?.ok) {
    const again = storage.presignPut({
      key,
      size: bytes.length,
      contentType: 'application/octet-stream',
      expiresIn: 300,
      ifNoneMatch: true,
    });
    const answer = await fetch(again.url, { method: 'PUT', headers: again.headers, body: bytes }).catch(() => undefined);
    if (answer?.status === 412) add('conditional write', 'ok', 'If-None-Match: * refuses an overwrite (412)');
    else if (answer?.ok)
      add(
        'conditional write',
        'warn',
        'If-None-Match: * is ignored (an overwrite landed); the ETag recorded at complete still detects one',
      );
    else add('conditional write', 'fail', `If-None-Match: * is refused (${answer?.status ?? 'no answer'}): set S3_CONDITIONAL_WRITE=false`);
  }

  if (!options.origin) add('cors', 'skip', 'no app origin: give --origin or set DROPGATE_PUBLIC_URL');
  else {
    const headers = signedRequestHeaders({ acl: options.acl }).filter((h) => h !== 'x-amz-checksum-sha256');
    const preflight = await fetch(`${storage.bucketUrl}/${key}`, {
      method: 'OPTIONS',
      headers: { origin: options.origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': headers.join(',') },
    }).catch(() => undefined);
    const allowed = preflight?.headers.get('access-control-allow-origin');
    const exposed =
      landed?.headers
        .get('access-control-expose-headers')
        ?.toLowerCase()
        .split(/\s*,\s*/) ?? [];
    const fix = `run: dropgate s3 cors --origin ${options.origin} --apply`;
    if (!preflight?.ok || (allowed !== options.origin && allowed !== '*'))
      add('cors', 'fail', `a PUT preflight from ${options.origin} is refused (${preflight?.status ?? 'no answer'}); ${fix}`);
    else if (!exposed.includes('etag'))
      add('cors', 'warn', `uploads from ${options.origin} are allowed but ETag is not exposed (multipart needs it); ${fix}`);
    else add('cors', 'ok', `a PUT preflight from ${options.origin} is allowed, ETag exposed`);
  }

  try {
    const rules = (await storage.client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: storage.bucket }))).Rules ?? [];
    const rule = rules.find((r) => r.Status === 'Enabled' && r.AbortIncompleteMultipartUpload?.DaysAfterInitiation);
    if (rule)
      add(
        'lifecycle',
        'ok',
        `unfinished multipart uploads are aborted after ${rule.AbortIncompleteMultipartUpload?.DaysAfterInitiation} days`,
      );
    else add('lifecycle', 'warn', 'no rule aborts unfinished multipart uploads; run: dropgate s3 lifecycle --apply');
  } catch (error) {
    const { code } = s3FailureOf(error);
    if (code === 'NoSuchLifecycleConfiguration')
      add('lifecycle', 'warn', 'no rule aborts unfinished multipart uploads; run: dropgate s3 lifecycle --apply');
    else add('lifecycle', 'skip', `cannot read the lifecycle rules (${code})`);
  }

  const publicUrl = storage.publicUrl(key);
  if (publicUrl && landed?.ok) {
    const read = await fetch(publicUrl).catch(() => undefined);
    add(
      'public url',
      read?.ok ? 'ok' : 'warn',
      read?.ok
        ? `${publicUrl.slice(0, publicUrl.length - key.length)}… serves objects`
        : `S3_PUBLIC_BASE_URL does not serve objects (${read?.status ?? 'no answer'}): public files' URLs would not work`,
    );
  }

  await storage.delete(key).catch(() => {});
  await storage.delete(`${key}.canary`).catch(() => {});
  return checks;
}
