/**
 * Second half of the ledger contract (registered by `describeLedgerContract`): completed files,
 * listing, deletion, sweeping expired uploads, signed parts, and failing closed.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectOk, type LedgerContext, uploadInput } from './ledger-fixtures.contract.js';
import type { PartChecksum, ReserveInput, UploadRecord } from './types.js';

const T = new Date('2030-01-01T00:00:00.000Z').getTime();
const at = (seconds: number) => new Date(T + seconds * 1000);
const ids = (uploads: UploadRecord[]) => uploads.map((u) => u.id);
const md5 = (partNumber: number, md5: string): PartChecksum => ({ partNumber, md5 });

export function describeFileContract(ctx: LedgerContext): void {
  const completed = async (overrides: Partial<ReserveInput> = {}) => {
    const upload = expectOk(await ctx.ledger().reserve(uploadInput(overrides)));
    return (await ctx.ledger().complete(upload.id, { size: upload.size, etag: '"e"' })).upload;
  };

  describe('files', () => {
    it('deletes a completed file for its owner only, refunding its period once and hiding it', async () => {
      const ledger = ctx.ledger();
      const keep = await completed({ size: 300 });
      const file = await completed({ size: 700, period: '2026-10' });
      const pending = expectOk(await ledger.reserve(uploadInput({ size: 50, period: '2026-10' })));

      expect(await ledger.deleteFile(file.id, 'mallory')).toBeUndefined();
      expect(await ledger.deleteFile(pending.id, 'alice')).toBeUndefined();
      expect(await ledger.usage('alice', 'videos', '2026-10')).toEqual({ usedBytes: 700, reservedBytes: 50 });

      expect(await ledger.deleteFile(file.id, 'alice')).toMatchObject({ id: file.id, key: file.key, size: 700 });
      expect(await ledger.usage('alice', 'videos', '2026-10')).toEqual({ usedBytes: 0, reservedBytes: 50 });
      expect(await ledger.usage('alice', 'videos', '2026-11-24')).toEqual({ usedBytes: 300, reservedBytes: 0 });
      expect(await ledger.getUpload(file.id)).toBeUndefined();
      expect(ids((await ledger.listFiles('alice', { limit: 10 })).files)).toEqual([keep.id]);

      expect(await ledger.deleteFile(file.id, 'alice')).toBeUndefined();
      expect(await ledger.usage('alice', 'videos', '2026-10')).toEqual({ usedBytes: 0, reservedBytes: 50 });
      await expect(ledger.complete(file.id, { size: 700, etag: '"again"' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('lists completed files newest first, page by page, with an opaque cursor', async () => {
      const ledger = ctx.ledger();
      const big = { allowanceBytes: 1e9 };
      // Some in parallel, so that several share a created_at and the id has to break the tie.
      const mine = await Promise.all(Array.from({ length: 4 }, () => completed(big)));
      for (let i = 0; i < 3; i++) mine.push(await completed(big));
      expectOk(await ledger.reserve(uploadInput(big)));
      await ledger.deleteFile((await completed(big)).id, 'alice');
      await completed({ ...big, userId: 'bob' });

      const expected = [...mine].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1)).map((u) => u.id);
      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await ledger.listFiles('alice', cursor === undefined ? { limit: 3 } : { cursor, limit: 3 });
        expect(page.files.every((f) => f.status === 'completed' && f.userId === 'alice')).toBe(true);
        pages.push(ids(page.files));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined && pages.length < 10);
      expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
      expect(pages.flat()).toEqual(expected);

      expect(await ledger.listFiles('nobody', { limit: 3 })).toEqual({ files: [], nextCursor: null });
      expect((await ledger.listFiles('alice', { limit: 7 })).nextCursor).toBeNull();
      await expect(ledger.listFiles('alice', { cursor: 'not-a-cursor', limit: 3 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
      await expect(ledger.listFiles('alice', { limit: 0 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    });
  });

  describe('expiry', () => {
    it('claims each expired upload once across concurrent sweepers, and again after the lease', async () => {
      const ledger = ctx.ledger();
      const reserve = async (expiresIn: number) => expectOk(await ledger.reserve(uploadInput({ expiresAt: at(expiresIn), size: 1 })));
      const expired = await Promise.all([-3600, -7200, -1, 0].map(reserve));
      const soon = await reserve(1);
      await reserve(7200);
      await ledger.release((await reserve(-60)).id, 'aborted');
      const done = await reserve(-60);
      await ledger.complete(done.id, { size: 1, etag: '"d"' });

      const claims = await Promise.all(Array.from({ length: 4 }, () => ledger.claimExpired(at(0), 2, 60)));
      for (const claim of claims) {
        expect(claim.length).toBeLessThanOrEqual(2);
        expect(claim.map((u) => u.expiresAt.getTime())).toEqual([...claim.map((u) => u.expiresAt.getTime())].sort((a, b) => a - b));
      }
      const claimed = claims.flatMap(ids);
      expect(new Set(claimed).size).toBe(claimed.length);
      expect(claimed.sort()).toEqual(ids(expired).sort());

      // Leases run to 60 s; by 59 s only the upload that expired at 1 s is free to claim.
      expect(ids(await ledger.claimExpired(at(59), 10, 60))).toEqual([soon.id]);
      const again = await ledger.claimExpired(at(60), 10, 60);
      expect(ids(again).sort()).toEqual(ids(expired).sort());
      expect(again.every((u) => u.status === 'pending')).toBe(true);
    });
  });

  describe('signed parts', () => {
    it('records part MD5s, the latest signature winning, and pushes a pending lifetime forward in one call', async () => {
      const ledger = ctx.ledger();
      const upload = expectOk(await ledger.reserve(uploadInput({ expiresAt: at(-10) })));
      const expiresAt = async () => (await ledger.getUpload(upload.id))?.expiresAt;
      await ledger.partsSigned(upload.id, [md5(3, 'c'), md5(1, 'a')], at(3600));
      expect(await ledger.partChecksums(upload.id)).toEqual([md5(1, 'a'), md5(3, 'c')]);
      expect(await expiresAt()).toEqual(at(3600));

      await ledger.partsSigned(upload.id, [md5(1, 'A'), md5(2, 'b')], at(60));
      expect(await ledger.partChecksums(upload.id)).toEqual([md5(1, 'A'), md5(2, 'b'), md5(3, 'c')]);
      expect(await expiresAt()).toEqual(at(3600));
      await ledger.partsSigned(upload.id, [], at(7200));
      expect(await expiresAt()).toEqual(at(7200));
      expect(await ledger.partChecksums(upload.id)).toHaveLength(3);

      await ledger.complete(upload.id, { size: upload.size, etag: '"x"' });
      await ledger.partsSigned(upload.id, [], at(9000));
      expect(await expiresAt()).toEqual(at(7200));
      await ledger.partsSigned(randomUUID(), [], at(9000));
    });

    it('keeps the latest lifetime and one MD5 per part when parts calls of one upload race', async () => {
      const ledger = ctx.ledger();
      const upload = expectOk(await ledger.reserve(uploadInput({ expiresAt: at(0) })));
      // Overlapping parts, listed in different orders, and lifetimes arriving out of order.
      await Promise.all(
        Array.from({ length: 8 }, (_, i) => {
          const parts = [1, 2, 3, 4, 5].map((n) => md5(n, `call${i}`));
          return ledger.partsSigned(upload.id, i % 2 ? parts.reverse() : parts, at(((i * 5) % 8) * 60));
        }),
      );
      expect((await ledger.getUpload(upload.id))?.expiresAt).toEqual(at(7 * 60));
      const recorded = await ledger.partChecksums(upload.id);
      expect(recorded.map((p) => p.partNumber)).toEqual([1, 2, 3, 4, 5]);
      expect(recorded.every((p) => /^call[0-7]$/.test(p.md5))).toBe(true);
    });
  });

  describe('failures', () => {
    it('fails closed with LEDGER_UNAVAILABLE once the database is gone', async () => {
      const ledger = ctx.ledger();
      await ledger.close();
      ctx.closed();
      const unavailable = { code: 'LEDGER_UNAVAILABLE', status: 503 };
      await expect(ledger.reserve(uploadInput())).rejects.toMatchObject(unavailable);
      await expect(ledger.usage('alice', 'videos', '2026-11-24')).rejects.toMatchObject(unavailable);
      await expect(ledger.claimExpired(new Date(), 10, 60)).rejects.toMatchObject(unavailable);
    });
  });
}
