/**
 * `dropgate dev --storage s3`: the embedded stack (PGlite, demo, gateway) with the s3 store built
 * from the S3_* environment, over real HTTP, uploading into Ceph RGW with dropgate's own client.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDev } from '../src/cli/dev.js';
import { type EmbeddedStack, startEmbedded } from '../src/cli/embedded.js';
import { upload } from '../src/client/index.js';
import { type S3Storage, s3FromEnv } from '../src/storage/s3.js';
import { fileOf } from './helpers/harness.js';
import { removePrefix, requireRgw, testPrefix } from './helpers/rgw.js';

const rgw = await requireRgw();
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('dropgate dev --storage', () => {
  const io = () => {
    const err: string[] = [];
    return { err, io: { stdout: { write: () => true }, stderr: { write: (t: string) => err.push(t) } } };
  };

  it('refuses a store it does not know', async () => {
    const { err, io: sink } = io();
    expect(await runDev(['--storage', 'tape'], sink, {})).toBe(2);
    expect(err.join('')).toContain('--storage must be disk or s3');
  });

  it('names the missing S3 variable before it starts anything', async () => {
    await expect(runDev(['--storage', 's3', '--port', '0'], io().io, { S3_REGION: 'us-east-1' })).rejects.toThrow(/S3_BUCKET is not set/);
  });
});

describe.skipIf(!rgw)('the dev stack on the s3 store (Ceph RGW)', () => {
  let stack: EmbeddedStack;
  let storage: S3Storage;
  let dataDir: string;
  const prefix = testPrefix('dev').replace(/\/$/, '');
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'dropgate-s3-dev-'));
    storage = s3FromEnv(rgw ?? {});
    stack = await startEmbedded({
      dataDir,
      port: 0,
      storage,
      routes: { default: { visibility: 'public', keyPrefix: prefix } },
      log: () => {},
    });
  });
  afterAll(async () => {
    await stack?.close();
    await removePrefix(storage, `${prefix}/`);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('uploads with dropgate/client straight into the bucket and reads the file back', async () => {
    const bytes = fileOf('video/mp4', 256 * 1024);
    const file = await upload(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'video/mp4' }), { endpoint: `${stack.url}/api/upload` });
    expect(file.key.startsWith(`${prefix}/`)).toBe(true);
    expect((await storage.head(file.key))?.size).toBe(bytes.length);
    const read = await fetch(file.url);
    expect(read.url.startsWith(storage.bucketUrl)).toBe(true);
    expect(sha256(new Uint8Array(await read.arrayBuffer()))).toBe(sha256(bytes));
  });
});
