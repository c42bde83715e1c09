/**
 * Issue 6, faults on S3: `dropgate dev --storage s3` on Ceph RGW behind a loopback fault proxy
 * that answers chosen requests with 503 SlowDown or a connection reset. The browser-side PUTs
 * (single and parts) are retried by dropgate's client with backoff, the gateway's own calls
 * (HEAD, ranged read, CompleteMultipartUpload) by the s3 store's retries (s3-http.ts); each upload
 * succeeds, and the ledger ends with exactly one file row and one charge: used = the file's size,
 * nothing reserved or pending.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedStack, startEmbedded } from '../../src/cli/embedded.js';
import { createClient } from '../../src/client/index.js';
import { MiB } from '../../src/shared/sizes.js';
import type { S3Storage } from '../../src/storage/s3.js';
import { fileOf } from '../helpers/harness.js';
import { expectOneFileOneCharge } from '../helpers/one-charge.js';
import { removePrefix, requireRgw, rgwStorage, testPrefix } from '../helpers/rgw.js';
import { connectionReset, type S3FaultProxy, slowDown, startS3FaultProxy } from '../helpers/s3-fault-proxy.js';

const rgw = await requireRgw();
const RETRY_DELAYS = [200, 400, 800];

describe.skipIf(!rgw)('S3 SlowDown and resets, end to end (Ceph RGW behind a fault proxy)', () => {
  let proxy: S3FaultProxy;
  let storage: S3Storage;
  let stack: EmbeddedStack;
  let dataDir: string;
  const prefix = testPrefix('faults').replace(/\/$/, '');

  beforeAll(async () => {
    const env = rgw ?? {};
    proxy = await startS3FaultProxy(env.S3_ENDPOINT ?? '');
    // Presigned URLs and the store's own calls both name the proxy, so every byte and call goes through it.
    storage = rgwStorage({ ...env, S3_ENDPOINT: proxy.url });
    dataDir = await mkdtemp(join(tmpdir(), 'dropgate-s3-faults-'));
    stack = await startEmbedded({
      dataDir,
      port: 0,
      host: '127.0.0.1',
      storage,
      routes: { default: { visibility: 'public', keyPrefix: prefix } },
      log: () => {},
    });
  });
  afterAll(async () => {
    await stack?.close();
    await proxy?.close();
    if (storage) await removePrefix(rgwStorage(rgw ?? {}), `${prefix}/`);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const onObject =
    (method: string, test: (url: URL) => boolean = () => true) =>
    (req: IncomingMessage) => {
      const url = new URL(req.url ?? '/', 'http://x');
      return req.method === method && url.pathname.includes(`/${prefix}/`) && test(url);
    };

  it('a single PUT answered SlowDown, then reset, and a complete whose HEAD and read fail first: one file, one charge', async () => {
    const from = proxy.seen.length;
    proxy.inject(onObject('PUT'), slowDown, 1);
    proxy.inject(onObject('PUT'), connectionReset, 1);
    proxy.inject(onObject('HEAD'), slowDown, 2);
    proxy.inject(onObject('GET'), connectionReset, 1);
    const bytes = fileOf('image/png', 300_000);
    const started: number[] = [];
    const client = createClient({
      endpoint: `${stack.url}/api/upload`,
      retryDelays: RETRY_DELAYS,
      fetch: (input, init) => {
        if (init?.method === 'PUT') started.push(Date.now());
        return fetch(input, init);
      },
    });
    const file = await client.upload(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/png' }), { name: 'a.png' });
    expect(file.size).toBe(bytes.length);
    // Three PUTs, the retries spaced by the backoff.
    expect(started).toHaveLength(3);
    expect(started[1]! - started[0]!).toBeGreaterThanOrEqual(0.8 * RETRY_DELAYS[0]! - 20);
    expect(started[2]! - started[1]!).toBeGreaterThanOrEqual(0.8 * RETRY_DELAYS[1]! - 20);
    const seen = proxy.seen.slice(from);
    expect(seen.filter((l) => l.startsWith('PUT ')).length).toBe(3);
    expect(seen.filter((l) => l.startsWith('HEAD ')).length).toBeGreaterThanOrEqual(3);
    await expectOneFileOneCharge(stack.ledger, file.id, bytes.length);
    expect((await storage.head(file.key))?.size).toBe(bytes.length);
    const read = await fetch(file.url);
    expect(Buffer.from(await read.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
  });

  it('a multipart upload with parts answered SlowDown and reset, and CompleteMultipartUpload SlowDown: one file, one charge', async () => {
    const from = proxy.seen.length;
    proxy.inject(
      onObject('PUT', (u) => u.searchParams.get('partNumber') === '1'),
      slowDown,
      1,
    );
    proxy.inject(
      onObject('PUT', (u) => u.searchParams.get('partNumber') === '2'),
      connectionReset,
      1,
    );
    proxy.inject(
      onObject('POST', (u) => u.searchParams.has('uploadId')),
      slowDown,
      1,
    );
    const size = 32 * MiB + 7; // two parts of the planned 16 MiB, and 7 bytes in a third
    const bytes = fileOf('video/mp4', size);
    const client = createClient({ endpoint: `${stack.url}/api/upload`, retryDelays: RETRY_DELAYS, multipartThreshold: 20 * MiB });
    const file = await client.upload(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'video/mp4' }), { name: 'clip.mp4' });
    expect(file.size).toBe(size);
    const seen = proxy.seen.slice(from);
    const partPuts = seen.filter((l) => l.startsWith('PUT ') && l.includes('partNumber='));
    expect(partPuts.filter((l) => l.includes('partNumber=1&')).length).toBe(2);
    expect(partPuts.filter((l) => l.includes('partNumber=2&')).length).toBe(2);
    expect(seen.filter((l) => l.startsWith('POST ') && l.includes('uploadId=')).length).toBe(2);
    await expectOneFileOneCharge(stack.ledger, file.id, size);
    expect((await storage.head(file.key))?.size).toBe(size);
  });
});
