import { createHash, randomBytes } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useLoopbackServer } from '../../test/helpers/loopback-server.js';
import { openFile } from './node-file.js';
import { nodePut } from './node-put.js';

// The Node transport against a real HTTP server: what the wire carries is the point.
const wire = useLoopbackServer('dropgate-node-put-');

async function fileBlob(size: number) {
  const bytes = new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff);
  const path = join(wire.dir, `f-${size}.bin`);
  await writeFile(path, bytes);
  return { blob: await openAsBlob(path, { type: 'video/mp4' }), sha256: createHash('sha256').update(bytes).digest('hex') };
}

describe('nodePut', () => {
  it('streams a Blob slice with a fixed content-length and the signed headers, and returns the ETag', async () => {
    let received: { headers: IncomingMessage['headers']; bytes: number; sha256: string } | undefined;
    wire.respond = (req, res) => {
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
      url: `${wire.base}/put`,
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
    wire.respond = (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(503, { 'retry-after': '4' }).end('<Error><Code>SlowDown</Code><Message>Reduce</Message></Error>'));
    };
    const { blob } = await fileBlob(100_000);
    await expect(nodePut({ url: `${wire.base}/put`, headers: {}, body: blob })).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      details: { status: 503, storageCode: 'SlowDown', retryAfter: 4 },
    });
  });

  it('stops when the signal fires, and reports an unreachable storage or a cut connection as NETWORK_ERROR', async () => {
    wire.respond = (req) => req.resume(); // never answers
    const { blob } = await fileBlob(4 * 1024 * 1024);
    const controller = new AbortController();
    const put = nodePut({
      url: `${wire.base}/put`,
      headers: {},
      body: blob,
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    await expect(put).rejects.toMatchObject({ code: 'UPLOAD_ABORTED' });
    await expect(nodePut({ url: 'http://127.0.0.1:9/put', headers: {}, body: blob })).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
    wire.respond = (req) => req.once('data', () => req.socket.destroy());
    await expect(nodePut({ url: `${wire.base}/put`, headers: {}, body: blob })).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
  });

  it('sends a file from openFile through reused buffers: every byte in order, progress to the end, and a cut or an abort still ends it', async () => {
    const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
    let received: { bytes: number; sha256: string } | undefined;
    wire.respond = (req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      // A reader that stalls at first, so the socket buffers fill and writes wait in Node's queue
      // holding their buffer (loopback buffers take several MiB, hence a 32 MiB body).
      req.once('data', () => {
        req.pause();
        setTimeout(() => req.resume(), 300);
      });
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => {
        received = { bytes, sha256: hash.digest('hex') };
        res.writeHead(200, { etag: '"f"' }).end();
      });
    };
    // Random bytes: a repeating pattern would hide a buffer overwritten before it went out.
    const path = join(wire.dir, 'random.bin');
    await writeFile(path, randomBytes(33 * 1024 * 1024 + 11));
    const file = await openFile(path);
    // Starts and ends mid-buffer, and spans many 1 MiB reads, so each buffer is reused.
    const part = file.slice(777, 32 * 1024 * 1024 + 3);
    const loaded: number[] = [];
    expect(await nodePut({ url: `${wire.base}/put`, headers: {}, body: part, onProgress: (n) => loaded.push(n) })).toEqual({ etag: '"f"' });
    expect(received).toEqual({ bytes: part.size, sha256: sha(new Uint8Array(await part.arrayBuffer())) });
    expect(loaded.at(-1)).toBe(part.size);
    expect(loaded.length).toBeGreaterThanOrEqual(5);

    wire.respond = (req) => req.once('data', () => req.socket.destroy());
    await expect(nodePut({ url: `${wire.base}/put`, headers: {}, body: file })).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
    wire.respond = (req) => req.resume(); // never answers
    const controller = new AbortController();
    const put = nodePut({
      url: `${wire.base}/put`,
      headers: {},
      body: file,
      signal: controller.signal,
      onProgress: (n) => n > 2 * 1024 * 1024 && controller.abort(),
    });
    await expect(put).rejects.toMatchObject({ code: 'UPLOAD_ABORTED' });
  });

  it('gives its connection back when the storage answers before the file reader says it is done', async () => {
    // The storage answers as soon as it holds Content-Length bytes; this body's reader says "done"
    // only later. The request must end all the same, or its socket stays taken: a CLI upload then
    // sat for 65 s after it had finished (Ceph RGW's idle timeout), kept alive by that socket.
    wire.respond = (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { etag: '"e"' }).end());
    };
    const bytes = new Uint8Array(256 * 1024).fill(7);
    let closeLater: ReturnType<typeof setTimeout> | undefined;
    const lateDone = {
      size: bytes.length,
      type: '',
      stream: () =>
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(bytes);
            closeLater = setTimeout(() => controller.close(), 3000);
          },
        }),
    } as unknown as Blob;
    const agent = http.globalAgent;
    const host = new URL(wire.base).host;
    try {
      expect(await nodePut({ url: `${wire.base}/put`, headers: {}, body: lateDone })).toEqual({ etag: '"e"' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const busy = Object.entries(agent.sockets)
        .filter(([name]) => name.startsWith(host))
        .flatMap(([, list]) => list ?? []);
      const free = Object.entries(agent.freeSockets)
        .filter(([name]) => name.startsWith(host))
        .flatMap(([, list]) => list ?? []);
      expect({ busy: busy.length, free: free.length }).toEqual({ busy: 0, free: 1 });
    } finally {
      clearTimeout(closeLater);
    }
  });
});
