/**
 * `dropgate s3 cors|lifecycle|policy` and `dropgate doctor` against Ceph RGW, on a bucket of their
 * own (CORS and lifecycle are per bucket): applied rules are checked with a real browser-style
 * preflight, and doctor's findings with setups that are right and wrong.
 */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, DeleteBucketCommand, GetBucketLifecycleConfigurationCommand, PutBucketCorsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../src/cli/doctor.js';
import type { Check } from '../src/cli/doctor-checks.js';
import { main } from '../src/cli/index.js';
import { runS3 } from '../src/cli/s3.js';
import { type S3Storage, s3FromEnv } from '../src/storage/s3.js';
import { removePrefix, requireRgw } from './helpers/rgw.js';
import { startS3FaultProxy } from './helpers/s3-fault-proxy.js';

const rgw = await requireRgw();

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) } },
  };
}

describe('dropgate s3 and doctor: help and dry runs', () => {
  it('has --help on each, wired into the dropgate command', async () => {
    for (const argv of [
      ['s3', '--help'],
      ['s3', 'cors', '--help'],
      ['doctor', '--help'],
    ]) {
      const c = capture();
      expect(await main(argv, c.io)).toBe(0);
      expect(c.out.join('')).toMatch(/Usage: dropgate (s3|doctor)/);
    }
    const c = capture();
    expect(await main(['--help'], c.io)).toBe(0);
    expect(c.out.join('')).toMatch(/s3 .*\n.*doctor/);
  });

  it('prints the rules without touching anything (no credentials needed)', async () => {
    const c = capture();
    expect(await runS3(['cors', '--origin', 'https://app.example'], c.io, {})).toBe(0);
    expect(JSON.parse(c.out.join('')).CORSRules[0].AllowedOrigins).toEqual(['https://app.example']);
    expect(c.err.join('')).toContain('--apply');
    const p = capture();
    expect(await runS3(['policy'], p.io, { S3_BUCKET: 'uploads' })).toBe(0);
    expect(JSON.parse(p.out.join('')).Statement[1].Resource).toBe('arn:aws:s3:::uploads');
    const d = capture();
    expect(await runDoctor([], d.io, {})).toBe(0);
    expect(d.out.join('')).toContain('storage: disk');
  });
});

describe.skipIf(!rgw)('dropgate s3 and doctor against Ceph RGW', () => {
  const bucket = `dropgate-cli-${randomBytes(4).toString('hex')}`;
  const env = { ...rgw, S3_BUCKET: bucket };
  const app = 'http://app.test:3000';
  let storage: S3Storage;
  beforeAll(async () => {
    storage = s3FromEnv(env);
    await storage.client.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterAll(async () => {
    await removePrefix(storage, '');
    await storage.client.send(new DeleteBucketCommand({ Bucket: bucket }));
  });
  const preflight = (origin: string, headers = 'content-type') =>
    fetch(`${storage.bucketUrl}/uploads/x.mp4`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': headers },
    });
  const doctor = async (extra: Record<string, string> = {}, argv: string[] = []) => {
    const c = capture();
    const code = await runDoctor(['--json', ...argv], c.io, { ...env, ...extra });
    const checks = JSON.parse(c.out.join('')) as Check[];
    return { code, status: (name: string) => checks.find((check) => check.name === name)?.status, checks };
  };

  it('cors --apply: the app origin may PUT with the signed headers; other origins and headers may not', async () => {
    await storage.client.send(
      new PutBucketCorsCommand({
        Bucket: bucket,
        CORSConfiguration: { CORSRules: [{ ID: 'website', AllowedOrigins: ['https://w.test'], AllowedMethods: ['GET'] }] },
      }),
    );
    const c = capture();
    expect(await runS3(['cors', '--origin', app, '--apply'], c.io, env)).toBe(0);
    expect(c.err.join('')).toContain(`applied to bucket ${bucket}`);
    const allowed = await preflight(app, 'content-type,content-md5,if-none-match');
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(app);
    expect(allowed.headers.get('access-control-allow-methods')).toContain('PUT');
    expect((await preflight('https://evil.test')).status).toBe(403);
    expect((await preflight(app, 'content-type,x-evil')).status).toBe(403);
    // The bucket's other rule is still there.
    expect(
      (
        await fetch(`${storage.bucketUrl}/x`, {
          method: 'OPTIONS',
          headers: { origin: 'https://w.test', 'access-control-request-method': 'GET' },
        })
      ).status,
    ).toBe(200);
  });

  it('lifecycle --apply: RGW stores the AbortIncompleteMultipartUpload rule', async () => {
    const c = capture();
    expect(await runS3(['lifecycle', '--days', '3', '--apply'], c.io, env)).toBe(0);
    const rules = (await storage.client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
    expect(rules).toEqual([
      expect.objectContaining({
        ID: 'dropgate-abort-incomplete-multipart',
        Status: 'Enabled',
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 3 },
      }),
    ]);
  });

  it('lifecycle: RGW really aborts an abandoned multipart upload under the rule', { timeout: 150_000 }, async () => {
    // scripts/rgw.sh sets "rgw lc debug interval = 10": a lifecycle day lasts ten seconds there.
    expect(await runS3(['lifecycle', '--days', '1', '--apply'], capture().io, env)).toBe(0);
    const key = 'abandoned.mp4';
    const { multipartId } = await storage.createMultipart(key, 'video/mp4');
    const deadline = Date.now() + 140_000;
    let gone = false;
    while (!gone && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      gone = await storage.listParts(key, multipartId).then(
        () => false,
        (error: { code?: string }) => error.code === 'NOT_FOUND',
      );
    }
    expect(gone).toBe(true);
    // Back to the rule the next test expects.
    expect(await runS3(['lifecycle', '--days', '3', '--apply'], capture().io, env)).toBe(0);
  });

  it('doctor: all good on a set-up bucket, and leaves nothing behind', async () => {
    const { code, checks } = await doctor({ DROPGATE_PUBLIC_URL: app });
    expect(checks.map((c) => [c.name, c.status])).toEqual([
      ['credentials', 'ok'],
      ['bucket', 'ok'],
      ['clock', 'ok'],
      ['upload', 'ok'],
      ['acl', 'ok'],
      ['signatures', 'ok'],
      ['conditional write', 'ok'],
      ['cors', 'ok'],
      ['lifecycle', 'ok'],
    ]);
    expect(code).toBe(0);
    expect((await storage.client.send(new (await import('@aws-sdk/client-s3')).ListObjectsV2Command({ Bucket: bucket }))).KeyCount).toBe(0);
  });

  it('doctor: says what is wrong — an origin CORS does not allow, refused credentials, a missing bucket', async () => {
    const other = await doctor({}, ['--origin', 'https://other.test']);
    expect(other.status('cors')).toBe('fail');
    expect(other.checks.find((c) => c.name === 'cors')?.detail).toContain('dropgate s3 cors --origin https://other.test --apply');
    expect(other.code).toBe(1);
    expect((await doctor({ AWS_SECRET_ACCESS_KEY: 'wrong' })).status('credentials')).toBe('fail');
    expect((await doctor({ S3_BUCKET: 'dropgate-no-such-bucket' })).status('bucket')).toBe('fail');
    const publicBase = await doctor({ S3_PUBLIC_BASE_URL: `${storage.bucketUrl}` });
    expect(publicBase.status('public url')).toBe('warn');
  });

  it('doctor: a clock 5 minutes ahead of or behind the store fails, in plain words, with exit 1; in step it passes', async () => {
    // A loopback proxy in front of RGW moves the store's Date; everything else passes through.
    const proxy = await startS3FaultProxy(String(rgw?.S3_ENDPOINT));
    try {
      const through = { DROPGATE_PUBLIC_URL: app, S3_ENDPOINT: proxy.url };
      for (const [minutes, words] of [
        [5, 'behind'],
        [-5, 'ahead of'],
      ] as const) {
        proxy.shiftDate(minutes * 60_000);
        const skewed = await doctor(through);
        const clock = skewed.checks.find((c) => c.name === 'clock');
        expect(clock?.status, `store ${minutes} min off`).toBe('fail');
        expect(clock?.detail).toMatch(new RegExp(`clock is (29[89]|30[0-2]) s ${words} the store's.*sync it \\(NTP\\)`));
        expect(skewed.code).toBe(1);
      }
      proxy.shiftDate(0);
      const inStep = await doctor(through);
      expect(inStep.checks.filter((c) => c.status !== 'ok')).toEqual([]);
      expect(inStep.code).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it('doctor prints one line per check', async () => {
    const c = capture();
    expect(await runDoctor(['--origin', app], c.io, env)).toBe(0);
    expect(c.out.join('')).toMatch(/^OK {4}credentials +accepted$/m);
  });
});
