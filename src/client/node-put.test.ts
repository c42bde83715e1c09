import { createHash } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodePut } from './node-put.js';

// The Node transport against a real HTTP server: what the wire carries is the point.
let server: Server;
let base: string;
let dir: string;
let respond: (req: IncomingMessage, res: ServerResponse) => void;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dropgate-node-put-'));
  server = createServer((req, res) => respond(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

async function fileBlob(size: number) {
  const bytes = new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff);
  const path = join(dir, `f-${size}.bin`);
  await writeFile(path, bytes);
  return { blob: await openAsBlob(path, { type: 'video/mp4' }), sha256: createHash('sha256').update(bytes).digest('hex') };
}

describe('nodePut', () => {
  it('streams a Blob slice with a fixed content-length and the signed headers, and returns the ETag', async () => {
    let received: { headers: IncomingMessage['headers']; bytes: number; sha256: string } | undefined;
    respond = (req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => {
        received = { headers: req.headers, bytes, sha256: hash.digest('hex') };
        res.writeHead(200, { etag: '"d41d8cd98f00b204e9800998ecf8427e"' }).end();
      });
    };
    const { blob } = await fileBlob(3 * 1024 * 1024 + 5);
    const part = blob.slice(1024, 2 * 1024 * 1024);
    const loaded: number[] = [];
    const result = await nodePut({
      url: `${base}/put`,
      headers: { 'content-md5': 'x', 'content-length': '1' },
      body: part,
      onProgress: (n) => loaded.push(n),
    });
    expect(result).toEqual({ etag: '"d41d8cd98f00b204e9800998ecf8427e"' });
    expect(received?.headers['content-length']).toBe(String(part.size));
    expect(received?.headers['transfer-encoding']).toBeUndefined();
    expect(received?.headers['content-md5']).toBe('x');
    expect(received?.bytes).toBe(part.size);
    expect(received?.sha256).toBe(
      createHash('sha256')
        .update(new Uint8Array(await part.arrayBuffer()))
        .digest('hex'),
    );
    expect(loaded).toEqual([...loaded].sort((a, b) => a - b));
    expect(loaded.at(-1)).toBe(part.size);
  });

  it('translates a refusal, with its Retry-After', async () => {
    respond = (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(503, { 'retry-after': '4' }).end('<Error><Code>SlowDown</Code><Message>Reduce</Message></Error>'));
    };
    const { blob } = await fileBlob(100_000);
    await expect(nodePut({ url: `${base}/put`, headers: {}, body: blob })).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      details: { status: 503, storageCode: 'SlowDown', retryAfter: 4 },
    });
  });

  it('stops when the signal fires, and reports an unreachable storage or a cut connection as NETWORK_ERROR', async () => {
    respond = (req) => req.resume(); // never answers
    const { blob } = await fileBlob(4 * 1024 * 1024);
    const controller = new AbortController();
    const put = nodePut({ url: `${base}/put`, headers: {}, body: blob, signal: controller.signal, onProgress: () => controller.abort() });
    await expect(put).rejects.toMatchObject({ code: 'UPLOAD_ABORTED' });
    await expect(nodePut({ url: 'http://127.0.0.1:9/put', headers: {}, body: blob })).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
    respond = (req) => req.once('data', () => req.socket.destroy());
    await expect(nodePut({ url: `${base}/put`, headers: {}, body: blob })).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
  });
});
