/**
 * The embedded stack of `dropgate dev`: disk store + PGlite ledger in one data folder, the gateway,
 * the demo page, and a node:http server. Tests start the very same stack.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fromNodeRequest, sendNodeResponse } from '../adapters/node.js';
import { createPGliteLedger } from '../ledger/pglite.js';
import type { Ledger } from '../ledger/types.js';
import type { Logger, RouteConfig } from '../server/config.js';
import { createDropgate, type Dropgate } from '../server/gateway.js';
import { DropgateError } from '../shared/errors.js';
import { json } from '../shared/http.js';
import { createDiskStorage, type DiskStorage } from '../storage/disk.js';
import type { Storage } from '../storage/types.js';
import { serveDemo } from './demo-files.js';

export interface EmbeddedOptions {
  dataDir: string;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Public origin; default `http://localhost:{port}`. */
  publicUrl?: string;
  secret?: string;
  routes?: Record<string, RouteConfig>;
  allowedOrigins?: string[];
  trustProxy?: boolean;
  log?: Logger;
  /** Called for each answered request, for the dev server's request log. */
  onRequest?: (line: { method: string; path: string; status: number; ms: number }) => void;
  sweepIntervalMs?: number;
  /** A store to use instead of the disk store in the data folder (`dropgate dev --storage s3`). */
  storage?: Storage;
}

export interface EmbeddedStack {
  url: string;
  gateway: Dropgate;
  ledger: Ledger;
  server: Server;
  close(): Promise<void>;
}

/** The HMAC secret: given, or generated once and kept in the data folder. */
export async function secretFor(dataDir: string, given: string | undefined): Promise<string> {
  if (given) return given;
  const file = join(dataDir, 'secret');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const secret = randomBytes(32).toString('base64url');
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' }).catch(() => {});
    return (await readFile(file, 'utf8')).trim();
  }
}

// The server listens before the ledger opens (a port of 0 is known only then); until the gateway
// is ready every request, /healthz included, says so instead of falling through to a 404.
const STARTING = json(503, new DropgateError('SERVICE_UNAVAILABLE', 'dropgate is starting; try again in a moment.').toBody(), {
  'retry-after': '1',
});
const NOT_FOUND = { status: 404, headers: { 'content-type': 'text/plain' }, body: 'Not found' };

/** Disk tokens are bearer secrets: request logs show the route, never the token. */
export function redactPath(path: string): string {
  return path.replace(/\/_disk\/[^?]*/, '/_disk/…').replace(/\?.*$/, '');
}

export async function startEmbedded(options: EmbeddedOptions): Promise<EmbeddedStack> {
  await mkdir(options.dataDir, { recursive: true });
  const secret = await secretFor(options.dataDir, options.secret);
  let gateway: Dropgate | undefined;
  const server = createServer(async (req, res) => {
    const started = performance.now();
    const request = fromNodeRequest(req);
    try {
      const response = !gateway
        ? STARTING
        : ((gateway.owns(request.pathname) ? await gateway.handle(request) : await serveDemo(request)) ?? NOT_FOUND);
      await sendNodeResponse(res, response);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy(error instanceof Error ? error : undefined);
    } finally {
      options.onRequest?.({
        method: request.method,
        path: redactPath(request.pathname),
        status: res.statusCode,
        ms: performance.now() - started,
      });
    }
  });
  // Big single PUTs to the disk store on slow links take longer than Node's default 300 s.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '::', resolve);
  });
  const { port } = server.address() as AddressInfo;
  const publicUrl = options.publicUrl ?? `http://localhost:${port}`;
  const basePath = '/api/upload';
  let ledger: Ledger | undefined;
  let storage: Storage;
  let disk: DiskStorage | undefined;
  try {
    ledger = await createPGliteLedger({ dataDir: join(options.dataDir, 'ledger') });
    await ledger.migrate();
    if (options.storage) storage = options.storage;
    else
      storage = disk = createDiskStorage({ directory: join(options.dataDir, 'files'), secret, baseUrl: `${publicUrl}${basePath}/_disk` });
    gateway = createDropgate({
      storage,
      ledger,
      basePath,
      publicUrl,
      allowAnonymous: true,
      routes: options.routes ?? { default: { visibility: 'public' } },
      allowedOrigins: [...new Set([publicUrl, `http://localhost:${port}`, `http://127.0.0.1:${port}`, ...(options.allowedOrigins ?? [])])],
      trustProxy: options.trustProxy ?? false,
      ...(options.log ? { log: options.log } : {}),
    });
  } catch (error) {
    server.close();
    await ledger?.close();
    throw error;
  }
  const stopSweeper = gateway.startSweeper(options.sweepIntervalMs ?? 60_000);
  // Used-token markers and abandoned temp files; cheap, so it runs with every tenth sweep.
  const cleanup = setInterval(
    () => {
      disk?.cleanup().catch((error: unknown) => options.log?.({ level: 'warn', msg: 'disk cleanup failed', error: String(error) }));
    },
    (options.sweepIntervalMs ?? 60_000) * 10,
  );
  cleanup.unref();
  const ready = ledger;
  return {
    url: publicUrl,
    gateway,
    ledger: ready,
    server,
    async close() {
      stopSweeper();
      clearInterval(cleanup);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ready.close();
    },
  };
}
