/**
 * `dropgate dev`'s stack (disk store + PGlite) behind the fault proxy: the stack's public URL is
 * the proxy's, so API calls and part PUTs all pass through it.
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
import { type EmbeddedStack, startEmbedded } from '../../src/cli/embedded.js';
import type { LogEntry, RouteConfig } from '../../src/server/config.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';

export interface ProxiedStack {
  proxy: FaultProxy;
  stack: EmbeddedStack;
  /** The API base through the proxy. */
  endpoint: string;
  dataDir: string;
  logs: LogEntry[];
  stop(): Promise<void>;
}

export async function startProxiedStack(routes?: Record<string, RouteConfig>): Promise<ProxiedStack> {
  const proxy = await startFaultProxy();
  const dataDir = await mkdtemp(join(tmpdir(), 'dropgate-proxied-'));
  const logs: LogEntry[] = [];
  const stack = await startEmbedded({
    dataDir,
    port: 0,
    host: '127.0.0.1',
    publicUrl: proxy.url,
    routes: routes ?? { default: { visibility: 'public' } },
    log: (entry) => logs.push(entry),
  });
  proxy.setTarget((stack.server.address() as AddressInfo).port);
  return {
    proxy,
    stack,
    endpoint: `${proxy.url}/api/upload`,
    dataDir,
    logs,
    async stop() {
      await proxy.close();
      await stack.close();
      await rm(dataDir, { recursive: true, force: true });
    },
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
