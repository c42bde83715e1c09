/**
 * `dropgate dev`'s stack (disk store + PGlite) behind the fault proxy: the stack's public URL is
 * the proxy's, so API calls and part PUTs all pass through it. On S3 (`startProxiedS3Stack`) the
 * proxy stands in front of RGW instead: part PUTs and the gateway's calls to the store go through it.
 *
 * @example
 * const s = await startProxiedStack();
 * s.proxy.rule((req) => (req.partNumber === 2 && req.attempt === 1 ? { kind: 'status', status: 503 } : undefined));
 * await createClient({ endpoint: s.endpoint }).upload(blob);
 * await s.stop();
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutBucketCorsCommand } from '@aws-sdk/client-s3';
import { type EmbeddedStack, startEmbedded } from '../../src/cli/embedded.js';
import { corsRule } from '../../src/cli/s3-rules.js';
import type { LogEntry, RouteConfig } from '../../src/server/config.js';
import type { Storage } from '../../src/storage/types.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';
import { createTestBucket, type RgwEnv, rgwStorage } from './rgw.js';

export interface ProxiedStack {
  proxy: FaultProxy;
  stack: EmbeddedStack;
  /** The API base (through the proxy on the disk store). */
  endpoint: string;
  /** The app's origin, for a page: the proxy's on the disk store, the stack's own on S3. */
  origin: string;
  dataDir: string;
  logs: LogEntry[];
  stop(): Promise<void>;
}

export async function startProxiedStack(routes?: Record<string, RouteConfig>): Promise<ProxiedStack> {
  const proxy = await startFaultProxy();
  const started = await startStack({ publicUrl: proxy.url, routes });
  proxy.setTarget((started.stack.server.address() as AddressInfo).port);
  return { ...started, proxy, endpoint: `${proxy.url}/api/upload`, origin: proxy.url, stop: stopAll(proxy, started) };
}

/**
 * `dropgate dev --storage s3` in process, on a fresh RGW bucket with a CORS rule for the stack's
 * origin, the fault proxy between RGW and everyone: the browser's PUTs and the gateway's calls.
 */
export async function startProxiedS3Stack(rgw: RgwEnv, routes?: Record<string, RouteConfig>): Promise<ProxiedStack> {
  const proxy = await startFaultProxy();
  proxy.setTarget(Number(new URL(rgw.S3_ENDPOINT ?? '').port));
  const bucket = await createTestBucket(rgw);
  const storage = rgwStorage({ ...bucket.env, S3_ENDPOINT: proxy.url });
  const started = await startStack({ storage, routes });
  const origin = started.stack.url;
  const stop = stopAll(proxy, started, bucket.remove);
  await storage.client
    .send(new PutBucketCorsCommand({ Bucket: bucket.bucket, CORSConfiguration: { CORSRules: [corsRule([origin])] } }))
    .catch(async (error: unknown) => {
      await stop();
      throw error;
    });
  return { ...started, proxy, endpoint: `${origin}/api/upload`, origin, stop };
}

async function startStack(options: { publicUrl?: string; storage?: Storage; routes: Record<string, RouteConfig> | undefined }) {
  const dataDir = await mkdtemp(join(tmpdir(), 'dropgate-proxied-'));
  const logs: LogEntry[] = [];
  const stack = await startEmbedded({
    dataDir,
    port: 0,
    host: '127.0.0.1',
    ...(options.publicUrl && { publicUrl: options.publicUrl }),
    ...(options.storage && { storage: options.storage }),
    routes: options.routes ?? { default: { visibility: 'public' } },
    log: (entry) => logs.push(entry),
  });
  return { stack, dataDir, logs };
}

function stopAll(proxy: FaultProxy, started: { stack: EmbeddedStack; dataDir: string }, after?: () => Promise<void>) {
  return async () => {
    await started.stack.close();
    await after?.();
    await proxy.close();
    await rm(started.dataDir, { recursive: true, force: true });
  };
}

/** An MP4 `ftyp` box then random bytes: passes the magic-byte check at completion. */
export function mp4Bytes(size: number): Buffer {
  const bytes = randomBytes(size);
  bytes.set([0, 0, 0, 0x18, ...Buffer.from('ftypisom'), 0, 0, 2, 0, ...Buffer.from('isomiso2')]);
  return bytes;
}

/** Writes a random MP4-looking file and returns its path and SHA-256. */
export async function writeMp4(dir: string, name: string, size: number): Promise<{ path: string; sha256: string }> {
  const bytes = mp4Bytes(size);
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { path, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** SHA-256 of a URL's body, streamed. */
export async function sha256OfUrl(url: string): Promise<string> {
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new Error(`GET ${url} answered ${response.status}`);
  const hash = createHash('sha256');
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest('hex');
}

/** SHA-256 of a file on disk, streamed. */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
