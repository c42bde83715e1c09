/** Keys and arguments: nothing a caller passes can reach outside the storage folder or sign nonsense. */
import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DropgateError } from '../shared/errors.js';
import { createDiskStorage } from './disk.js';
import { DISK_PREFIX, useDiskServer } from './disk-fixtures.contract.js';
import { createTokenSigner, newNonce } from './disk-token.js';
import { sendWithFetch } from './storage.contract.js';

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

describe('disk store keys and arguments', () => {
  const disk = useDiskServer();
  const { newKey, signPut } = disk;

  describe('keys', () => {
    const badKeys = [
      '../escape.mp4',
      'uploads/../../escape.mp4',
      '/etc/passwd',
      'uploads\\a.mp4',
      'uploads//a.mp4',
      'uploads/',
      '',
      'a/./b',
      '..',
      'é.mp4',
      'a b.mp4',
      'a%2F..',
    ];
    it.each(badKeys)('refuses the key %j in every verb', async (key) => {
      const invalid = { code: 'INVALID_REQUEST' };
      expect(() => signPut(key, 10)).toThrow(DropgateError);
      expect(() => disk.storage.presignGet(key, { expiresIn: 60 })).toThrow(DropgateError);
      expect(() => disk.storage.publicUrl(key)).toThrow(DropgateError);
      expect(() => disk.storage.presignPart({ key, multipartId: 'a'.repeat(24), partNumber: 1, size: 10, expiresIn: 60 })).toThrow(
        DropgateError,
      );
      await expect(disk.storage.head(key)).rejects.toMatchObject(invalid);
      await expect(disk.storage.readRange(key, 0, 1)).rejects.toMatchObject(invalid);
      await expect(disk.storage.delete(key)).rejects.toMatchObject(invalid);
      await expect(disk.storage.createMultipart(key, 'video/mp4')).rejects.toMatchObject(invalid);
    });

    it('refuses a genuinely signed token whose key leaves the folder', async () => {
      const signer = createTokenSigner(disk.server.secret);
      const token = signer.sign({
        op: 'put',
        key: '../escape.mp4',
        size: 3,
        contentType: 'video/mp4',
        exp: Date.now() + 60_000,
        nonce: newNonce(),
      });
      const url = `${disk.server.origin}${DISK_PREFIX}${token}`;
      const response = await sendWithFetch(
        { url, method: 'PUT', headers: { 'content-type': 'video/mp4' }, expiresAt: new Date() },
        randomBytes(3),
      );
      expect(response.status).toBe(400);
      expect(await exists(path.join(disk.server.directory, 'escape.mp4'))).toBe(false);
    });

    it('refuses malformed multipart ids', async () => {
      await expect(disk.storage.listParts(newKey(), '../../objects')).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    });
  });

  describe('options and presign arguments', () => {
    const base = () => ({ directory: disk.server.directory, secret: disk.server.secret, baseUrl: `${disk.server.origin}${DISK_PREFIX}` });
    it.each([
      [{ secret: 'too short' }, /at least 32 bytes/],
      [{ secret: new Uint8Array(16) }, /at least 32 bytes/],
      [{ baseUrl: '/api/upload/_disk' }, /absolute http\(s\) URL/],
      [{ baseUrl: 'ftp://example.com/_disk' }, /absolute http\(s\) URL/],
      [{ directory: '' }, /needs a `directory`/],
    ])('refuses %j at construction', (change, message) => {
      expect(() => createDiskStorage({ ...base(), ...change })).toThrow(message);
    });

    it('refuses lifetimes over 7 days, impossible sizes and unusable types', () => {
      const key = newKey();
      const put = { key, size: 10, contentType: 'video/mp4', expiresIn: 600 };
      expect(() => disk.storage.presignPut({ ...put, expiresIn: 7 * 24 * 3600 + 1 })).toThrow(/expiresIn/);
      expect(() => disk.storage.presignPut({ ...put, expiresIn: 0 })).toThrow(/expiresIn/);
      expect(() => disk.storage.presignPut({ ...put, size: -1 })).toThrow(/Size/);
      expect(() => disk.storage.presignPut({ ...put, size: 1.5 })).toThrow(/Size/);
      expect(() => disk.storage.presignPut({ ...put, size: 5 * 1024 ** 3 + 1 })).toThrow(/Size/);
      expect(() => disk.storage.presignPut({ ...put, contentType: 'video/mp4\r\nx-evil: 1' })).toThrow(/content type/);
      expect(() => disk.storage.presignPut({ ...put, checksum: { algorithm: 'md5', value: 'nope' } })).toThrow(DropgateError);
      expect(() => disk.storage.presignPart({ key, multipartId: 'a'.repeat(24), partNumber: 10_001, size: 10, expiresIn: 60 })).toThrow(
        /Part numbers/,
      );
      expect(disk.storage.presignPut({ ...put, expiresIn: 7 * 24 * 3600 }).expiresAt.getTime()).toBeGreaterThan(Date.now());
    });
  });
});
