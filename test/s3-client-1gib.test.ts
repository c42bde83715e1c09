/**
 * Issue 4's big-file proof: 1 GiB from a file on disk (`fs.openAsBlob`, so it is streamed in
 * slices, never held in memory) through `dropgate/client` in Node, in parallel parts straight into
 * Ceph RGW via the dev stack's gateway on the s3 store; the object read back from RGW hashes to the
 * source's SHA-256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, openAsBlob } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedStack, startEmbedded } from '../src/cli/embedded.js';
import { createClient } from '../src/client/index.js';
import { GiB, MiB } from '../src/shared/sizes.js';
import { type S3Storage, s3FromEnv } from '../src/storage/s3.js';
import { removePrefix, requireRgw, testPrefix } from './helpers/rgw.js';

const rgw = await requireRgw();

/** The head of an MP4 (`ftyp isom`): the magic-byte check at complete reads it. */
const MP4_HEAD = Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex');

/**
 * Writes `size` bytes quickly: one random 1 MiB block repeated, each copy stamped with its offset,
 * so no two parts are alike (a part sent twice or swapped would change the hash). Returns the SHA-256.
 */
async function writeSource(path: string, size: number): Promise<string> {
  const block = randomBytes(MiB);
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let offset = 0; offset < size; offset += MiB) {
    const chunk = Buffer.from(block.subarray(0, Math.min(MiB, size - offset)));
    chunk.writeBigUInt64BE(BigInt(offset), 64);
    if (offset === 0) MP4_HEAD.copy(chunk);
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => {
    out.once('error', reject);
    out.end(resolve);
  });
  return hash.digest('hex');
}

async function sha256OfObject(storage: S3Storage, key: string): Promise<{ hash: string; bytes: number }> {
  const out = await storage.client.send(new GetObjectCommand({ Bucket: storage.bucket, Key: key }));
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of out.Body as Readable) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { hash: hash.digest('hex'), bytes };
}

describe.skipIf(!rgw)('1 GiB through dropgate/client into Ceph RGW', () => {
  const SIZE = GiB;
  const prefix = testPrefix('1gib').replace(/\/$/, '');
  let stack: EmbeddedStack;
  let storage: S3Storage;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dropgate-1gib-'));
    storage = s3FromEnv(rgw ?? {});
    stack = await startEmbedded({
      dataDir: join(dir, 'data'),
      port: 0,
      storage,
      routes: { default: { visibility: 'private', keyPrefix: prefix, maxSize: 2 * GiB, allowedTypes: ['video/mp4'] } },
      log: () => {},
    });
  });
  afterAll(async () => {
    await stack?.close();
    if (storage) await removePrefix(storage, `${prefix}/`);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('completes in parts, and the object in RGW has the source SHA-256', async () => {
    const path = join(dir, 'big.mp4');
    let started = Date.now();
    const sourceHash = await writeSource(path, SIZE);
    const written = Date.now() - started;

    started = Date.now();
    const blob = await openAsBlob(path, { type: 'video/mp4' });
    let reports = 0;
    const file = await createClient({ endpoint: `${stack.url}/api/upload` }).upload(blob, {
      name: 'big.mp4',
      onProgress: () => reports++,
    });
    const uploaded = Date.now() - started;
    await rm(path);

    expect(file).toMatchObject({ size: SIZE, contentType: 'video/mp4' });
    expect(file.key.startsWith(`${prefix}/`)).toBe(true);
    const record = await stack.ledger.getUpload(file.id);
    expect(record).toMatchObject({ status: 'completed', size: SIZE });
    expect(record?.partCount).toBeGreaterThan(1);
    expect(reports).toBeGreaterThan(10);

    started = Date.now();
    const stored = await sha256OfObject(storage, file.key);
    const readBack = Date.now() - started;
    expect(stored.bytes).toBe(SIZE);
    expect(stored.hash).toBe(sourceHash);
    console.info(
      `1 GiB: source written in ${written} ms; uploaded in ${record?.partCount} parts in ${uploaded} ms ` +
        `(${((SIZE / MiB / uploaded) * 1000).toFixed(0)} MiB/s); read back and hashed in ${readBack} ms`,
    );
  }, 300_000);
});
