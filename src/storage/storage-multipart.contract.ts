/**
 * The multipart half of the storage contract, run by `describeStorageContract`: S3's rules (parts
 * 1..10000, every part but the last at least 5 MiB, re-upload replaces, ETags checked at complete)
 * hold for every store.
 */
import { createHash, randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { DropgateError } from '../shared/errors.js';
import { KiB, MiB } from '../shared/sizes.js';
import type { SentResponse, StorageUnderTest } from './storage.contract.js';
import type { Storage } from './types.js';

export interface ContractKit {
  t: StorageUnderTest;
  storage: Storage;
  newKey(ext?: string): string;
  expectRefused(response: SentResponse, what: string): void;
  expectAbsent(key: string): Promise<void>;
}

const md5Base64 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('base64');
const md5Hex = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const bare = (etag: string) => etag.replace(/^(?:W\/)?"(.*)"$/, '$1');

/** `kit` is read in a beforeAll: the store exists only once the outer suite has set it up. */
export function describeMultipartContract(kit: () => ContractKit): void {
  describe('multipart', () => {
    let t: StorageUnderTest;
    let storage: Storage;
    let newKey: ContractKit['newKey'];
    let expectRefused: ContractKit['expectRefused'];
    let expectAbsent: ContractKit['expectAbsent'];
    beforeAll(() => {
      ({ t, storage, newKey, expectRefused, expectAbsent } = kit());
    });
    const signPart = (key: string, multipartId: string, partNumber: number, size: number, md5?: string) =>
      storage.presignPart({ key, multipartId, partNumber, size, expiresIn: 600, ...(md5 && { md5 }) });
    const uploadPart = async (key: string, multipartId: string, partNumber: number, bytes: Uint8Array, withMd5 = false) => {
      const response = await t.send(signPart(key, multipartId, partNumber, bytes.length, withMd5 ? md5Base64(bytes) : undefined), bytes);
      expect(response.status, `part ${partNumber}`).toBe(200);
      const etag = response.headers.get('etag');
      expect(etag && bare(etag)).toBe(md5Hex(bytes));
      return { partNumber, etag: etag as string };
    };

    it('uploads parts, lists them and assembles them in order', async () => {
      const key = newKey('mp4');
      const { multipartId } = await storage.createMultipart(key, 'video/mp4');
      const chunks = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(KiB)];
      const parts = [];
      for (const [index, bytes] of chunks.entries()) parts.push(await uploadPart(key, multipartId, index + 1, bytes, index === 1));
      await expectAbsent(key);

      const listed = await storage.listParts(key, multipartId);
      expect(listed.map((p) => [p.partNumber, p.size, bare(p.etag)])).toEqual(chunks.map((c, i) => [i + 1, c.length, md5Hex(c)]));

      const { etag } = await storage.completeMultipart(key, multipartId, parts);
      const whole = Buffer.concat(chunks);
      const info = await storage.head(key);
      expect(info).toMatchObject({ size: whole.length, contentType: 'video/mp4' });
      if (etag !== '') expect(bare(etag)).toMatch(/-3$/);
      const download = await t.send(storage.presignGet(key, { expiresIn: 600 }));
      expect(download.status).toBe(200);
      expect(sha256(download.body)).toBe(sha256(whole));
      const seam = await storage.readRange(key, 5 * MiB - 2, 5 * MiB + 1);
      expect(Buffer.from(seam).equals(whole.subarray(5 * MiB - 2, 5 * MiB + 2))).toBe(true);
    });

    it('takes the plan part size (a store may write each part straight into its place): out of order, re-uploaded, the last short', async () => {
      const key = newKey('mp4');
      const { multipartId } = await storage.createMultipart(key, 'video/mp4');
      const partSize = 5 * MiB;
      const send = async (partNumber: number, bytes: Uint8Array) => {
        const signed = storage.presignPart({ key, multipartId, partNumber, size: bytes.length, partSize, expiresIn: 600 });
        const response = await t.send(signed, bytes);
        expect(response.status, `part ${partNumber}`).toBe(200);
        return { partNumber, etag: response.headers.get('etag') as string };
      };
      const chunks = [randomBytes(partSize), randomBytes(partSize), randomBytes(3 * KiB)];
      await send(2, randomBytes(partSize));
      const parts = [await send(3, chunks[2] as Buffer), await send(1, chunks[0] as Buffer), await send(2, chunks[1] as Buffer)];
      parts.sort((a, b) => a.partNumber - b.partNumber);
      const listed = await storage.listParts(key, multipartId);
      expect(listed.map((p) => [p.partNumber, p.size, bare(p.etag)])).toEqual(chunks.map((c, i) => [i + 1, c.length, md5Hex(c)]));
      await storage.completeMultipart(key, multipartId, parts);
      const download = await t.send(storage.presignGet(key, { expiresIn: 600 }));
      expect(sha256(download.body)).toBe(sha256(Buffer.concat(chunks)));
    });

    it('binds each part URL to its exact length', async () => {
      const key = newKey();
      const { multipartId } = await storage.createMultipart(key, 'video/mp4');
      expectRefused(await t.send(signPart(key, multipartId, 1, KiB), randomBytes(KiB + 1)), 'a part of size+1');
      expectRefused(await t.send(signPart(key, multipartId, 1, KiB), randomBytes(KiB - 1)), 'a part of size-1');
      expect(await storage.listParts(key, multipartId)).toEqual([]);
      await storage.abortMultipart(key, multipartId);
    });

    it('replaces a part uploaded again under the same number', async () => {
      const key = newKey();
      const { multipartId } = await storage.createMultipart(key, 'video/mp4');
      await uploadPart(key, multipartId, 1, randomBytes(KiB));
      const second = randomBytes(2 * KiB);
      const part = await uploadPart(key, multipartId, 1, second);
      const listed = await storage.listParts(key, multipartId);
      expect(listed.map((p) => [p.partNumber, p.size, bare(p.etag)])).toEqual([[1, 2 * KiB, md5Hex(second)]]);
      await storage.completeMultipart(key, multipartId, [part]);
      expect(Buffer.from(await storage.readRange(key, 0, 2 * KiB)).equals(second)).toBe(true);
    });

    it('aborts: parts and upload are gone, and aborting again is fine', async () => {
      const key = newKey();
      const { multipartId } = await storage.createMultipart(key, 'video/mp4');
      await uploadPart(key, multipartId, 1, randomBytes(KiB));
      await storage.abortMultipart(key, multipartId);
      const listed = await storage.listParts(key, multipartId).catch((error: unknown) => error);
      if (Array.isArray(listed)) expect(listed).toEqual([]);
      else expect(listed).toMatchObject({ code: 'NOT_FOUND' });
      expectRefused(await t.send(signPart(key, multipartId, 2, KiB), randomBytes(KiB)), 'a part for an aborted upload');
      await storage.abortMultipart(key, multipartId);
      await expectAbsent(key);
    });

    it('refuses to complete with a wrong ETag', async () => {
      const key = newKey();
      const { multipartId } = await storage.createMultipart(key, 'video/mp4');
      await uploadPart(key, multipartId, 1, randomBytes(KiB));
      const wrong = storage.completeMultipart(key, multipartId, [{ partNumber: 1, etag: `"${'0'.repeat(32)}"` }]);
      await expect(wrong).rejects.toBeInstanceOf(DropgateError);
      await expect(wrong).rejects.toMatchObject({ code: 'UPLOAD_INTEGRITY_FAILED' });
      await expectAbsent(key);
      await storage.abortMultipart(key, multipartId);
    });

    it('refuses to complete when a part but the last is under 5 MiB', async () => {
      const key = newKey();
      const { multipartId } = await storage.createMultipart(key, 'video/mp4');
      const parts = [await uploadPart(key, multipartId, 1, randomBytes(KiB)), await uploadPart(key, multipartId, 2, randomBytes(KiB))];
      await expect(storage.completeMultipart(key, multipartId, parts)).rejects.toMatchObject({ code: 'UPLOAD_INTEGRITY_FAILED' });
      await expectAbsent(key);
      await storage.abortMultipart(key, multipartId);
    });
  });
}
