/**
 * The request runner over https: a loopback TLS server with a certificate from a CA made for the
 * test (test/helpers/test-ca.ts). This process does not trust that CA, so here the runner must
 * refuse the server; a child process started with NODE_EXTRA_CA_CERTS does, and there the
 * requests go through (test/helpers/s3-http-child.ts). dropgate has no option to trust a private
 * CA: an operator's store with one is trusted the same way, from the process's start.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChildJob, ChildOutcome } from '../../test/helpers/s3-http-child.js';
import { createTestCa, type TestCa } from '../../test/helpers/test-ca.js';
import { s3Error } from './s3-errors.js';
import { createS3Http, type S3Http } from './s3-http.js';

interface TlsStore {
  url: string;
  /** TCP connections, TLS handshakes completed, and the requests that got through. */
  connections: number;
  handshakes: number;
  requests: { url: string; headers: Record<string, unknown>; socket: number; protocol: string | null }[];
  server: Server;
}

async function startTlsStore(tls: { key: string; cert: string }): Promise<TlsStore> {
  const sockets = new WeakMap<Socket, number>();
  const store: TlsStore = { url: '', connections: 0, handshakes: 0, requests: [], server: createServer(tls) };
  store.server.on('connection', () => store.connections++);
  store.server.on('secureConnection', (socket) => sockets.set(socket, ++store.handshakes));
  store.server.on('request', (req, res) => {
    const socket = req.socket as TLSSocket;
    store.requests.push({ url: req.url ?? '', headers: req.headers, socket: sockets.get(socket) ?? 0, protocol: socket.getProtocol() });
    // With its length, as S3 answers (a HEAD too): Node's client keeps no connection that answered a HEAD without one.
    res.writeHead(200, { 'content-length': '8' }).end('over tls');
  });
  // A client that refuses the certificate ends the handshake; that is the test's business, not an error here.
  store.server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => store.server.listen(0, '127.0.0.1', resolve));
  store.url = `https://127.0.0.1:${(store.server.address() as AddressInfo).port}/bucket`;
  return store;
}

const untrusting = (bucketUrl: string): S3Http =>
  createS3Http(
    { credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, region: 'us-east-1', maxAttempts: 3, requestTimeoutMs: 10_000 },
    bucketUrl,
  );
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.unreachable('it succeeded'),
    (e: Error & { code?: unknown }) => e,
  );

describe('s3-http over https', () => {
  let ca: TestCa;
  let dir: string;
  let child: string;
  /** Its certificate names 127.0.0.1, the address it is reached at. */
  let store: TlsStore;
  /** Its certificate, from the same CA, names another host. */
  let misnamed: TlsStore;

  beforeAll(async () => {
    ca = await createTestCa();
    store = await startTlsStore(await ca.issue('IP:127.0.0.1'));
    misnamed = await startTlsStore(await ca.issue('DNS:storage.invalid'));
    dir = await mkdtemp(join(tmpdir(), 'dropgate-s3-tls-'));
    child = join(dir, 's3-http-child.mjs');
    await build({
      entryPoints: ['test/helpers/s3-http-child.ts'],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: child,
      logLevel: 'error',
    });
  });
  afterEach(() => {
    for (const s of [store, misnamed]) {
      if (!s) continue;
      s.server.closeAllConnections();
      Object.assign(s, { connections: 0, handshakes: 0, requests: [] });
    }
  });
  afterAll(async () => {
    for (const s of [store, misnamed]) if (s) await new Promise((resolve) => s.server.close(resolve));
    await ca?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Runs `job` in a child process that trusts the test CA, as an operator's process would with NODE_EXTRA_CA_CERTS. */
  function runTrusting(job: ChildJob): Promise<ChildOutcome[]> {
    const { NODE_TLS_REJECT_UNAUTHORIZED: _never, ...env } = process.env;
    return new Promise((resolve, reject) => {
      const proc = spawn(process.execPath, [child, JSON.stringify(job)], {
        env: { ...env, NODE_EXTRA_CA_CERTS: ca.caFile },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
      proc.on('error', reject);
      proc.on('exit', (code) =>
        code === 0 ? resolve(JSON.parse(out) as ChildOutcome[]) : reject(new Error(`child exited ${code}: ${err}`)),
      );
    });
  }

  it('reaches the store over TLS with SigV4 query auth when the process trusts its CA, and keeps the connection for the next call', async () => {
    const outcomes = await runTrusting({
      bucketUrl: store.url,
      maxAttempts: 3,
      requests: [
        { method: 'HEAD', key: 'videos/a.mp4' },
        { method: 'GET', key: 'videos/a.mp4', query: { uploadId: 'u' } },
      ],
    });
    expect(outcomes).toEqual([
      { status: 200, body: '' },
      { status: 200, body: 'over tls' },
    ]);
    expect(store.requests).toHaveLength(2);
    for (const request of store.requests) {
      expect(request.protocol).toMatch(/^TLSv1\.[23]$/);
      expect(request.url).toMatch(/^\/bucket\/videos\/a\.mp4\?/);
      const query = new URL(request.url, 'https://x').searchParams;
      expect(query.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
      expect(query.get('X-Amz-Credential')).toMatch(/^AKIDTEST\/\d{8}\/us-east-1\/s3\/aws4_request$/);
      expect(query.get('X-Amz-SignedHeaders')).toBe('host');
      expect(query.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
      // The host the signature covers is the one that arrived (port included: not https's default).
      expect(request.headers.host).toBe(new URL(store.url).host);
    }
    expect(store.requests[1]?.url).toContain('uploadId=u');
    // Keep-alive: one TCP connection, one handshake, both requests on it.
    expect(store.connections).toBe(1);
    expect(store.handshakes).toBe(1);
    expect(store.requests.map((r) => r.socket)).toEqual([1, 1]);
  });

  it('refuses a certificate no CA it trusts vouches for: no request goes out, no retry, an error that names why', async () => {
    const error = await failure(untrusting(store.url).send({ method: 'HEAD', key: 'k' }));
    expect(error).toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', message: 'unable to verify the first certificate' });
    expect(s3Error(error, 'reading an object')).toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      message: 'The storage failed while reading an object (UNABLE_TO_VERIFY_LEAF_SIGNATURE).',
    });
    expect(store.requests).toHaveLength(0);
    expect(store.handshakes).toBe(0);
    expect(store.connections).toBe(1);
  });

  it('refuses a trusted CA’s certificate for another host, once', async () => {
    const [outcome] = await runTrusting({ bucketUrl: misnamed.url, maxAttempts: 3, requests: [{ method: 'HEAD', key: 'k' }] });
    expect(outcome).toMatchObject({
      error: { code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: expect.stringContaining("IP: 127.0.0.1 is not in the cert's list") },
    });
    expect(misnamed.requests).toHaveLength(0);
    // Retrying cannot change a certificate.
    expect(misnamed.connections).toBe(1);
  });

  it('an https endpoint on a plain-HTTP port fails at once with the TLS error, not after retries', async () => {
    let connections = 0;
    const plain = createHttpServer((_req, res) => res.end('plain')).on('connection', () => connections++);
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const error = await failure(
        untrusting(`https://127.0.0.1:${(plain.address() as AddressInfo).port}/bucket`).send({ method: 'HEAD', key: 'k' }),
      );
      expect(error).toMatchObject({ code: 'EPROTO', message: expect.stringContaining('wrong version number') });
      expect(connections).toBe(1);
    } finally {
      plain.closeAllConnections();
      await new Promise((resolve) => plain.close(resolve));
    }
  });
});
