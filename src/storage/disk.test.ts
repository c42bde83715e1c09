import { createHash, randomBytes } from 'node:crypto';
import { readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDiskStorage } from './disk.js';
import { DISK_PREFIX, forgeUrl, startDiskServer, tamperSignature, useDiskServer } from './disk-fixtures.contract.js';
import { newNonce } from './disk-token.js';
import { describeStorageContract, type SentResponse, sendWithFetch } from './storage.contract.js';

describeStorageContract('disk', async () => {
  const server = await startDiskServer();
  return {
    storage: server.storage,
    send: sendWithFetch,
    teardown: () => server.close(),
    advanceClock: (seconds) => server.advanceClock(seconds),
    retargetUrl: (url, _fromKey, toKey) =>
      forgeUrl(url, (claims) => {
        claims.key = toKey;
      }),
    tamperSignature,
  };
});

const errorOf = (response: SentResponse) =>
  (JSON.parse(Buffer.from(response.body).toString('utf8')) as { error: Record<string, unknown> }).error;

describe('disk store', () => {
  const disk = useDiskServer();
  const { newKey, signPut } = disk;
  const contents = async (key: string) => Buffer.from(await disk.storage.readRange(key, 0, 1e9));

  describe('upload tokens', () => {
    it('refuses a replay of a token that already carried an upload, and keeps the object', async () => {
      const key = newKey();
      const request = signPut(key, 100);
      const first = randomBytes(100);
      expect((await sendWithFetch(request, first)).status).toBe(200);
      const replay = await sendWithFetch(request, randomBytes(100));
      expect(replay.status).toBe(403);
      expect(errorOf(replay)).toMatchObject({ code: 'FORBIDDEN', reason: 'token-used' });
      expect((await contents(key)).equals(first)).toBe(true);
    });

    it('does not spend a token on refused attempts', async () => {
      const key = newKey();
      const request = signPut(key, 100);
      const short = await sendWithFetch(request, randomBytes(99));
      expect(short.status).toBe(400);
      expect(errorOf(short)).toMatchObject({ code: 'INVALID_REQUEST', reason: 'size-mismatch' });
      const wrongType = await sendWithFetch(request, randomBytes(100), { 'content-type': 'image/png' });
      expect(errorOf(wrongType)).toMatchObject({ code: 'FORBIDDEN', reason: 'wrong-content-type' });
      expect((await sendWithFetch(request, randomBytes(100))).status).toBe(200);
    });

    it('lets exactly one of two racing uploads through one token land', async () => {
      const key = newKey();
      const request = signPut(key, 64 * 1024);
      const bodies = [randomBytes(64 * 1024), randomBytes(64 * 1024)];
      const responses = await Promise.all(bodies.map((body) => sendWithFetch(request, body)));
      expect(responses.map((r) => r.status).sort()).toEqual([200, 403]);
      const winner = bodies[responses.findIndex((r) => r.status === 200)] as Buffer;
      expect((await contents(key)).equals(winner)).toBe(true);
    });

    it('refuses read URLs and public URLs as upload URLs', async () => {
      const key = newKey();
      for (const url of [disk.storage.presignGet(key, { expiresIn: 60 }).url, disk.storage.publicUrl(key)]) {
        const response = await sendWithFetch(
          { url, method: 'PUT', headers: { 'content-type': 'video/mp4' }, expiresAt: new Date() },
          randomBytes(10),
        );
        expect(errorOf(response)).toMatchObject({ code: 'FORBIDDEN', reason: 'wrong-operation' });
      }
      expect(await disk.storage.head(key)).toBeUndefined();
    });

    it('holds the body to a signed SHA-256, sent in its header', async () => {
      const key = newKey();
      const bytes = randomBytes(300);
      const value = createHash('sha256').update(bytes).digest('base64');
      const request = disk.storage.presignPut({
        key,
        size: 300,
        contentType: 'video/mp4',
        expiresIn: 60,
        checksum: { algorithm: 'sha256', value },
      });
      expect(request.headers['x-amz-checksum-sha256']).toBe(value);
      expect(errorOf(await sendWithFetch(request, bytes, { 'x-amz-checksum-sha256': null }))).toMatchObject({
        reason: 'wrong-checksum-header',
      });
      const wrong = await sendWithFetch(request, randomBytes(300));
      expect(wrong.status).toBe(422);
      expect(errorOf(wrong)).toMatchObject({ code: 'UPLOAD_INTEGRITY_FAILED' });
      expect(await disk.storage.head(key)).toBeUndefined();
      expect((await sendWithFetch(request, bytes)).status).toBe(200);
    });

    it('refuses a Content-MD5 header other than the signed one, and checks an unsigned one too', async () => {
      const key = newKey();
      const bytes = randomBytes(100);
      const md5 = createHash('md5').update(bytes).digest('base64');
      const signed = disk.storage.presignPut({
        key,
        size: 100,
        contentType: 'video/mp4',
        expiresIn: 60,
        checksum: { algorithm: 'md5', value: md5 },
      });
      const other = createHash('md5').update('x').digest('base64');
      expect((await sendWithFetch(signed, bytes, { 'content-md5': other })).status).toBe(403);
      const unsigned = await sendWithFetch(signPut(key, 100), bytes, { 'content-md5': other });
      expect(unsigned.status).toBe(422);
      expect(await disk.storage.head(key)).toBeUndefined();
    });

    it('answers 410 UPLOAD_EXPIRED once the URL is past its expiry', async () => {
      const request = disk.storage.presignPut({ key: newKey(), size: 10, contentType: 'video/mp4', expiresIn: 30 });
      disk.server.advanceClock(31);
      const response = await sendWithFetch(request, randomBytes(10));
      expect(response.status).toBe(410);
      expect(errorOf(response)).toMatchObject({ code: 'UPLOAD_EXPIRED', reason: 'url-expired' });
    });

    it('answers 405 to methods it does not serve', async () => {
      const response = await fetch(signPut(newKey(), 10).url, { method: 'DELETE' });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD, PUT');
    });
  });

  describe('reads', () => {
    it('serves a public URL that is stable per key and secret, with ranges', async () => {
      const key = newKey();
      const bytes = randomBytes(200);
      await sendWithFetch(signPut(key, 200), bytes);
      const url = disk.storage.publicUrl(key);
      const again = createDiskStorage({
        directory: disk.server.directory,
        secret: disk.server.secret,
        baseUrl: `${disk.server.origin}${DISK_PREFIX}`,
      });
      expect(again.publicUrl(key)).toBe(url);
      const otherSecret = createDiskStorage({
        directory: disk.server.directory,
        secret: randomBytes(32),
        baseUrl: `${disk.server.origin}${DISK_PREFIX}`,
      });
      expect(otherSecret.publicUrl(key)).not.toBe(url);

      const get = { url, method: 'GET' as const, headers: {}, expiresAt: new Date() };
      const full = await sendWithFetch(get);
      expect(full.status).toBe(200);
      expect(Buffer.from(full.body).equals(bytes)).toBe(true);
      expect(full.headers.get('x-content-type-options')).toBe('nosniff');
      expect(full.headers.get('accept-ranges')).toBe('bytes');
      expect(full.headers.get('content-disposition')).toBeNull();
      const partial = await sendWithFetch(get, undefined, { range: 'bytes=-5' });
      expect(partial.status).toBe(206);
      expect(Buffer.from(partial.body).equals(bytes.subarray(195))).toBe(true);
      const forged = forgeUrl(url, (claims) => {
        claims.key = newKey();
      });
      expect((await sendWithFetch({ ...get, url: forged })).status).toBe(403);
    });

    it('answers HEAD with the object headers and no body', async () => {
      const key = newKey();
      const bytes = randomBytes(123);
      const etag = (await sendWithFetch(signPut(key, 123), bytes)).headers.get('etag');
      const response = await fetch(disk.storage.presignGet(key, { expiresIn: 60, fileName: 'Été.mp4' }).url, { method: 'HEAD' });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe('123');
      expect(response.headers.get('etag')).toBe(etag);
      expect(response.headers.get('content-disposition')).toContain("filename*=UTF-8''%C3%89t%C3%A9.mp4");
      expect((await response.arrayBuffer()).byteLength).toBe(0);
    });

    it('refuses an upload URL or an expired URL for reading, and answers 404 for no object', async () => {
      const key = newKey();
      const upload = signPut(key, 10);
      await sendWithFetch(upload, randomBytes(10));
      expect((await sendWithFetch({ ...upload, method: 'GET' })).status).toBe(403);
      const get = disk.storage.presignGet(key, { expiresIn: 30 });
      disk.server.advanceClock(31);
      expect((await sendWithFetch(get)).status).toBe(410);
      expect((await sendWithFetch(disk.storage.presignGet(newKey(), { expiresIn: 60 }))).status).toBe(404);
    });
  });

  describe('cleanup', () => {
    it('drops used-token markers past their expiry and abandoned temp files, nothing newer', async () => {
      const fresh = createDiskStorage({
        directory: path.join(disk.server.directory, 'cleanup'),
        secret: disk.server.secret,
        baseUrl: `${disk.server.origin}${DISK_PREFIX}`,
        now: () => new Date(Date.now() + 3600_000),
      });
      await fresh.createMultipart('a.mp4', 'video/mp4');
      const tokens = path.join(fresh.directory, '.tokens');
      const tmp = path.join(fresh.directory, '.tmp');
      const old = Date.now() - 1000;
      await writeFile(path.join(tokens, `${old}-${newNonce()}`), '');
      await writeFile(path.join(tokens, `${Date.now() + 7200_000}-${newNonce()}`), '');
      await writeFile(path.join(tmp, 'put-stale'), 'x');
      await utimes(path.join(tmp, 'put-stale'), new Date(old - 7200_000), new Date(old - 7200_000));
      await writeFile(path.join(tmp, 'put-live'), 'x');
      expect(await fresh.cleanup()).toEqual({ markers: 1, temp: 1 });
      expect((await readdir(tokens)).length).toBe(1);
      expect(await readdir(tmp)).toEqual(['put-live']);
    });
  });
});
