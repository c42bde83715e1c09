/**
 * `dropgate serve` with DROPGATE_STORAGE=s3 on Ceph RGW: bytes go from the client straight to the
 * bucket, reads of private files redirect to a signed RGW URL, and without DROPGATE_PUBLIC_URL the
 * gateway's own URLs are root-relative (never built from Host). No S3 signature reaches the logs.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upload } from '../src/client/index.js';
import type { S3Storage } from '../src/storage/s3.js';
import { fileOf } from './helpers/harness.js';
import { removePrefix, requireRgw, rgwStorage, testPrefix } from './helpers/rgw.js';
import { ensureBuilt, type ServeProcess, startServeProcess } from './helpers/serve-process.js';

const rgw = await requireRgw();
const KEY = 'k_s3serve_W2e8Rt5Yu1Io9Pa4';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe.skipIf(!rgw)('dropgate serve on the s3 store (Ceph RGW)', () => {
  let serve: ServeProcess;
  let storage: S3Storage;
  let dir: string;
  const prefix = testPrefix('serve').replace(/\/$/, '');

  beforeAll(async () => {
    await ensureBuilt();
    storage = rgwStorage(rgw ?? {});
    dir = await mkdtemp(join(tmpdir(), 'dropgate-serve-s3-'));
    await writeFile(join(dir, 'dropgate.config.json'), JSON.stringify({ routes: { default: { keyPrefix: prefix } } }));
    serve = await startServeProcess({
      cwd: dir,
      env: {
        ...rgw,
        DROPGATE_STORAGE: 's3',
        DROPGATE_PUBLIC_URL: '',
        DROPGATE_API_KEYS: `${KEY}:s3-user`,
        DROPGATE_DATA_DIR: join(dir, 'data'),
      },
    });
  }, 120_000);
  afterAll(async () => {
    if (serve) expect(await serve.stop()).toBe(0);
    if (storage) await removePrefix(storage, `${prefix}/`);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reports the bucket reachable', async () => {
    const health = await fetch(`${serve.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ checks: { storage: { ok: true }, ledger: { ok: true } } });
  });

  it('uploads into the bucket and reads back through a root-relative private URL', async () => {
    const bytes = fileOf('video/mp4', 200_000);
    const file = await upload(new Blob([Buffer.from(bytes)], { type: 'video/mp4' }), {
      endpoint: `${serve.url}/api/upload`,
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(file.key.startsWith(`${prefix}/`)).toBe(true);
    expect(file.url).toBe(`/api/upload/files/${file.id}`);
    expect((await storage.head(file.key))?.size).toBe(200_000);

    const redirect = await fetch(new URL(file.url, serve.url), { headers: { authorization: `Bearer ${KEY}` }, redirect: 'manual' });
    expect(redirect.status).toBe(302);
    const location = redirect.headers.get('location') ?? '';
    expect(location.startsWith(storage.bucketUrl)).toBe(true);
    expect(sha256(new Uint8Array(await (await fetch(location)).arrayBuffer()))).toBe(sha256(bytes));

    const output = serve.stdout() + serve.stderr();
    expect(output).not.toMatch(/X-Amz-Signature|X-Amz-Credential/i);
    expect(output).not.toContain(rgw?.AWS_SECRET_ACCESS_KEY ?? 'no secret');
    expect(output).not.toContain(KEY);
  });
});
