/**
 * Test fixtures: the disk store behind a real loopback node:http server, routed the way the gateway
 * routes it (`/api/upload/_disk/{token}` → `receiver.handle`), plus raw-HTTP helpers for what fetch
 * cannot do (send chunked, stall, hang up mid-body). Named `.contract.ts` so the build leaves it out.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { type ClientRequest, createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { fromNodeRequest, sendNodeResponse } from '../adapters/node.js';
import { createDiskStorage, type DiskStorage } from './disk.js';

export const DISK_PREFIX = '/api/upload/_disk/';

export interface DiskServer {
  storage: DiskStorage;
  directory: string;
  secret: Uint8Array;
  origin: string;
  advanceClock(seconds: number): void;
  close(): Promise<void>;
}

/**
 * One disk server for the enclosing describe block, with the helpers every disk test uses. The
 * getters read the server once `beforeAll` has started it.
 */
export function useDiskServer() {
  let server: DiskServer | undefined;
  beforeAll(async () => {
    server = await startDiskServer();
  });
  afterAll(() => server?.close());
  const started = () => {
    if (!server) throw new Error('The disk server starts in beforeAll; use it inside tests.');
    return server;
  };
  return {
    get server() {
      return started();
    },
    get storage() {
      return started().storage;
    },
    newKey: () => `uploads/${randomUUID()}.mp4`,
    signPut: (key: string, size: number) => started().storage.presignPut({ key, size, contentType: 'video/mp4', expiresIn: 600 }),
  };
}

export async function startDiskServer(options: { directory?: string } = {}): Promise<DiskServer> {
  const owned = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(path.join(tmpdir(), 'dropgate-disk-')));
  let offsetMs = 0;
  let storage: DiskStorage | undefined;
  const server = createServer((req, res) => {
    const request = fromNodeRequest(req);
    if (!storage || !request.pathname.startsWith(DISK_PREFIX)) {
      res.writeHead(404).end();
      return;
    }
    storage.receiver
      .handle(request, request.pathname.slice(DISK_PREFIX.length))
      .then((response) => sendNodeResponse(res, response))
      .catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const secret = randomBytes(32);
  storage = createDiskStorage({
    directory,
    secret,
    baseUrl: `${origin}${DISK_PREFIX.slice(0, -1)}`,
    now: () => new Date(Date.now() + offsetMs),
  });
  return {
    storage,
    directory,
    secret,
    origin,
    advanceClock(seconds) {
      offsetMs += seconds * 1000;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (owned) await rm(directory, { recursive: true, force: true });
    },
  };
}

/** The token's payload with `change` applied, re-encoded under the old signature. */
export function forgeUrl(url: string, change: (payload: Record<string, unknown>) => void): string {
  const slash = url.lastIndexOf('/');
  const [payload, signature] = url.slice(slash + 1).split('.') as [string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  change(claims);
  return `${url.slice(0, slash + 1)}${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

/** Changes the first character of the signature. */
export function tamperSignature(url: string): string {
  const dot = url.lastIndexOf('.');
  return `${url.slice(0, dot + 1)}${url[dot + 1] === 'A' ? 'B' : 'A'}${url.slice(dot + 2)}`;
}

export interface RawResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * Opens a PUT whose body the test writes by hand. No Content-Length unless given, so the body goes
 * chunked and only the receiver's own count can tell its size.
 */
export function openPut(url: string, headers: Record<string, string>): { request: ClientRequest; response: Promise<RawResponse> } {
  const request = httpRequest(url, { method: 'PUT', headers });
  const response = new Promise<RawResponse>((resolve, reject) => {
    request.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    request.on('error', reject);
  });
  return { request, response };
}

/** Sends `body` chunked (no Content-Length) in two writes. */
export async function putChunked(url: string, headers: Record<string, string>, body: Uint8Array): Promise<RawResponse> {
  const { request, response } = openPut(url, headers);
  const half = Math.floor(body.length / 2);
  request.write(body.subarray(0, half));
  request.end(body.subarray(half));
  return response;
}

export async function waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
