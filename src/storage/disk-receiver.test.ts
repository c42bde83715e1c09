/**
 * The receiver over a real socket, where fetch would hide what matters: chunked bodies with no
 * Content-Length, a client that stalls or hangs up mid-body, and a disk that fills up or turns
 * read-only under it.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountTmpfs } from '../../test/helpers/tmpfs.js';
import { openPut, putChunked, startDiskServer, useDiskServer, waitFor } from './disk-fixtures.contract.js';
import { sendWithFetch } from './storage.contract.js';

const MP4 = { 'content-type': 'video/mp4' };

describe('disk receiver over a socket', () => {
  const disk = useDiskServer();
  const { newKey, signPut } = disk;
  const tempFiles = () => readdir(path.join(disk.server.directory, '.tmp'));

  it('counts the bytes of a chunked body itself: exact passes, one more or one less is refused', async () => {
    const key = newKey();
    const request = signPut(key, 10_000);
    for (const size of [10_001, 9_999]) {
      const response = await putChunked(request.url, MP4, randomBytes(size));
      expect(response.status, `${size} bytes`).toBe(400);
      expect(JSON.parse(response.body).error).toMatchObject({ code: 'INVALID_REQUEST', reason: 'size-mismatch' });
      expect(await disk.storage.head(key)).toBeUndefined();
    }
    expect((await putChunked(request.url, MP4, randomBytes(10_000))).status).toBe(200);
    expect((await disk.storage.head(key))?.size).toBe(10_000);
  });

  it('refuses as soon as one byte too many arrives, without waiting for the body to end', async () => {
    const key = newKey();
    const { request, response } = openPut(signPut(key, 1000).url, MP4);
    request.write(randomBytes(1001));
    // The body never ends; the answer must come anyway.
    const answer = await Promise.race([response, new Promise<'stalled'>((resolve) => setTimeout(() => resolve('stalled'), 5000))]);
    request.destroy();
    expect(answer).not.toBe('stalled');
    expect(answer).toMatchObject({ status: 400 });
    await waitFor(async () => (await tempFiles()).length === 0, 'the temp file to go');
    expect(await disk.storage.head(key)).toBeUndefined();
  });

  it('reads off the refused body of a genuine token, so a big expired upload hears 410 on a live connection', async () => {
    const size = 8 * 1024 * 1024;
    const request = disk.storage.presignPut({ key: newKey(), size, contentType: 'video/mp4', expiresIn: 30 });
    disk.server.advanceClock(31);
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await sendWithFetch(request, randomBytes(size));
      expect(response.status).toBe(410);
      // Read to the end, the connection stays usable; a reset is what other clients would have seen.
      expect(response.headers.get('connection')).not.toBe('close');
    }
  });

  it('keeps an upload invisible until its last byte has landed', async () => {
    const key = newKey();
    const bytes = randomBytes(200_000);
    const { request, response } = openPut(signPut(key, bytes.length).url, { ...MP4, 'content-length': String(bytes.length) });
    request.write(bytes.subarray(0, 150_000));
    await waitFor(async () => (await tempFiles()).length > 0, 'the temp file');
    expect(await disk.storage.head(key)).toBeUndefined();
    expect((await sendWithFetch(disk.storage.presignGet(key, { expiresIn: 60 }))).status).toBe(404);
    await expect(access(path.join(disk.server.directory, 'objects', key))).rejects.toThrow();
    request.end(bytes.subarray(150_000));
    expect((await response).status).toBe(200);
    expect((await disk.storage.head(key))?.size).toBe(bytes.length);
    expect(await tempFiles()).toEqual([]);
  });

  it('removes the temp file when the client hangs up mid-body, and the token stays usable', async () => {
    const key = newKey();
    const signed = signPut(key, 200_000);
    const { request, response } = openPut(signed.url, { ...MP4, 'content-length': '200000' });
    response.catch(() => undefined);
    request.write(randomBytes(100_000));
    await waitFor(async () => (await tempFiles()).length > 0, 'the temp file');
    request.destroy();
    await waitFor(async () => (await tempFiles()).length === 0, 'the temp file to go');
    expect(await disk.storage.head(key)).toBeUndefined();
    expect((await sendWithFetch(signed, randomBytes(200_000))).status).toBe(200);
  });
});

describe('disk receiver on a failing filesystem', () => {
  let dir: string;
  let mounted = false;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dropgate-fault-'));
    mounted = mountTmpfs(dir, 'size=1m');
  });
  afterAll(async () => {
    if (mounted) execFileSync('umount', [dir]);
    await rm(dir, { recursive: true, force: true });
  });

  it('answers 503 STORAGE_UNAVAILABLE on a full disk, leaving nothing behind', async (ctx) => {
    if (!mounted) ctx.skip('cannot mount a tmpfs here (needs root)');
    const server = await startDiskServer({ directory: path.join(dir, 'full') });
    try {
      const key = `uploads/${randomUUID()}.mp4`;
      const size = 1536 * 1024;
      const response = await sendWithFetch(
        server.storage.presignPut({ key, size, contentType: 'video/mp4', expiresIn: 60 }),
        randomBytes(size),
      );
      expect(response.status).toBe(503);
      const error = JSON.parse(Buffer.from(response.body).toString()).error;
      expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', reason: 'ENOSPC' });
      expect(error.message).toContain('disk is full');
      expect(await readdir(path.join(server.directory, '.tmp'))).toEqual([]);
      expect(await server.storage.head(key)).toBeUndefined();
    } finally {
      await server.close();
    }
  });

  it('answers 503 STORAGE_UNAVAILABLE on a read-only filesystem, and still serves what it has', async (ctx) => {
    if (!mounted) ctx.skip('cannot mount a tmpfs here (needs root)');
    const server = await startDiskServer({ directory: path.join(dir, 'frozen') });
    const storage = server.storage;
    const key = `uploads/${randomUUID()}.mp4`;
    try {
      expect(
        (await sendWithFetch(storage.presignPut({ key, size: 10, contentType: 'video/mp4', expiresIn: 60 }), randomBytes(10))).status,
      ).toBe(200);
      execFileSync('mount', ['-o', 'remount,ro', dir]);
      const other = `uploads/${randomUUID()}.mp4`;
      const response = await sendWithFetch(
        storage.presignPut({ key: other, size: 10, contentType: 'video/mp4', expiresIn: 60 }),
        randomBytes(10),
      );
      expect(response.status).toBe(503);
      expect(JSON.parse(Buffer.from(response.body).toString()).error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', reason: 'EROFS' });
      await expect(storage.createMultipart(other, 'video/mp4')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
      expect((await storage.head(key))?.size).toBe(10);
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', dir]);
      await server.close();
    }
  });
});
