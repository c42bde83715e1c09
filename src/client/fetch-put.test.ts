import { createHash } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useLoopbackServer } from '../../test/helpers/loopback-server.js';
import { fetchPut } from './fetch-put.js';

// The transport against a real HTTP server: what the wire carries is the point of these tests.
interface Received {
  headers: IncomingMessage['headers'];
  bytes: number;
  sha256: string;
}

let received: Received[] = [];
const wire = useLoopbackServer('dropgate-fetch-put-');

function receiving(status = 200, body = '') {
  received = [];
  wire.respond = (req, res) => {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      received.push({ headers: req.headers, bytes, sha256: hash.digest('hex') });
      res.writeHead(status).end(body);
    });
  };
}

async function fileBlob(size: number) {
  const bytes = new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff);
  const path = join(wire.dir, `f-${size}.bin`);
  await writeFile(path, bytes);
  return { blob: await openAsBlob(path, { type: 'video/mp4' }), sha256: createHash('sha256').update(bytes).digest('hex') };
}

describe('fetchPut', () => {
  it('streams a file-backed Blob with a fixed content-length, exact bytes and the signed headers', async () => {
    receiving();
    const { blob, sha256 } = await fileBlob(3 * 1024 * 1024 + 5);
    const loaded: number[] = [];
    await fetchPut(
      {
        url: `${wire.base}/put`,
        headers: { 'content-type': 'video/mp4', 'x-amz-meta-a': '1' },
        body: blob,
        onProgress: (n) => loaded.push(n),
      },
      fetch,
    );
    const [request] = received;
    expect(request?.headers['content-length']).toBe(String(blob.size));
    expect(request?.headers['transfer-encoding']).toBeUndefined();
    expect(request?.headers['content-type']).toBe('video/mp4');
    expect(request?.headers['x-amz-meta-a']).toBe('1');
    expect(request?.bytes).toBe(blob.size);
    expect(request?.sha256).toBe(sha256);
    expect(loaded.length).toBeGreaterThan(10);
    expect(loaded).toEqual([...loaded].sort((a, b) => a - b));
    expect(loaded.at(-1)).toBe(blob.size);
  });

  it('translates a storage refusal that comes before the body is read', async () => {
    received = [];
    wire.respond = (_req, res) => res.writeHead(403).end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
    const { blob } = await fileBlob(2 * 1024 * 1024);
    await expect(fetchPut({ url: `${wire.base}/put`, headers: {}, body: blob }, fetch)).rejects.toMatchObject({
      code: 'UPLOAD_EXPIRED',
      details: { status: 403, storageCode: 'AccessDenied' },
    });
  });

  it('stops sending when the signal fires', async () => {
    wire.respond = (req) => req.resume(); // never answers
    const { blob } = await fileBlob(4 * 1024 * 1024);
    const controller = new AbortController();
    const put = fetchPut(
      { url: `${wire.base}/put`, headers: {}, body: blob, signal: controller.signal, onProgress: () => controller.abort() },
      fetch,
    );
    await expect(put).rejects.toMatchObject({ code: 'UPLOAD_ABORTED' });
  });

  it('reports an unreachable storage as NETWORK_ERROR', async () => {
    const { blob } = await fileBlob(10);
    await expect(fetchPut({ url: 'http://127.0.0.1:9/put', headers: {}, body: blob }, fetch)).rejects.toMatchObject({
      code: 'NETWORK_ERROR',
    });
  });
});
