/**
 * The contract every ledger passes: the same tests run against PGlite (in memory and on disk) and,
 * with its driver, PostgreSQL. Allowance arithmetic, refusals, concurrency and idempotence here;
 * files, sweeping and failures in `ledger-files.contract.ts`.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeFileContract } from './ledger-files.contract.js';
import { expectOk, type LedgerContext, type MakeLedger, uploadInput } from './ledger-fixtures.contract.js';
import type { Ledger } from './types.js';

export type { MakeLedger } from './ledger-fixtures.contract.js';

/**
 * Registers the ledger contract suite.
 * @example describeLedgerContract('PGlite in memory', async () => createSqlLedger(pgliteDriver(await PGlite.create())));
 */
export function describeLedgerContract(name: string, makeLedger: MakeLedger): void {
  describe(`Ledger contract: ${name}`, () => {
    let ledger: Ledger;
    let open = false;
    const ctx: LedgerContext = {
      ledger: () => ledger,
      closed: () => {
        open = false;
      },
    };

    beforeEach(async () => {
      ledger = await makeLedger();
      open = true;
      await ledger.migrate();
    });
    afterEach(async () => {
      if (open) await ledger.close();
    });

    const expectState = async (usedBytes: number, reservedBytes: number, pending: number, user = 'alice', period = '2026-11-24') => {
      expect(await ledger.usage(user, 'videos', period)).toEqual({ usedBytes, reservedBytes });
      expect(await ledger.pendingCount(user, 'videos')).toBe(pending);
    };

    it('records a pending upload with every field, BIGINT sizes as numbers', async () => {
      const input = uploadInput({
        size: 6 * 1024 ** 3,
        allowanceBytes: 100 * 1024 ** 3,
        name: null,
        checksum: { algorithm: 'sha256', value: Buffer.alloc(32, 7).toString('base64') },
        metadata: { project: 'x', take: 3, final: true, note: null },
        visibility: 'public',
        multipartId: 'mp-1',
        partSize: 64 * 1024 ** 2,
        partCount: 96,
      });
      const upload = expectOk(await ledger.reserve(input));
      const { allowanceBytes: _a, pendingCap: _p, ...fields } = input;
      expect(upload).toEqual({ ...fields, status: 'pending', etag: null, completedAt: null, createdAt: expect.any(Date) });
      expect(Math.abs(upload.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
      expect(await ledger.getUpload(input.id)).toEqual(upload);
      expect(await ledger.getUpload(randomUUID())).toBeUndefined();
      await expectState(0, 6 * 1024 ** 3, 1);
    });

    it('settles a reservation to the actual size at complete, and releases on abort', async () => {
      const a = expectOk(await ledger.reserve(uploadInput({ size: 1000 })));
      const b = expectOk(await ledger.reserve(uploadInput({ size: 500 })));
      await expectState(0, 1500, 2);

      const done = await ledger.complete(a.id, { size: 900, etag: '"abc"' });
      expect(done.changed).toBe(true);
      expect(done.upload).toMatchObject({ id: a.id, status: 'completed', size: 900, etag: '"abc"', completedAt: expect.any(Date) });
      await expectState(900, 500, 1);

      expect(await ledger.release(b.id, 'aborted')).toBe(true);
      expect((await ledger.getUpload(b.id))?.status).toBe('aborted');
      await expectState(900, 0, 0);

      expect(await ledger.release(b.id, 'expired')).toBe(false);
      expect(await ledger.release(a.id, 'failed')).toBe(false);
      expect((await ledger.getUpload(a.id))?.status).toBe('completed');
      await expectState(900, 0, 0);

      const late = await ledger.complete(b.id, { size: 500, etag: '"late"' });
      expect(late).toMatchObject({ changed: false, upload: { status: 'aborted', etag: null } });
      await expectState(900, 0, 0);
      await expect(ledger.complete(randomUUID(), { size: 1, etag: '"x"' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('grants a reservation that exactly fits and refuses one byte more, changing nothing', async () => {
      const first = expectOk(await ledger.reserve(uploadInput({ size: 4000 })));
      await ledger.complete(first.id, { size: 4000, etag: '"1"' });
      const fits = expectOk(await ledger.reserve(uploadInput({ size: 6000 })));
      await expectState(4000, 6000, 1);

      const over = uploadInput({ size: 1 });
      expect(await ledger.reserve(over)).toEqual({ ok: false, reason: 'quota', remainingBytes: 0 });
      expect(await ledger.getUpload(over.id)).toBeUndefined();
      await expectState(4000, 6000, 1);

      await ledger.release(fits.id, 'aborted');
      expect(await ledger.reserve(uploadInput({ size: 6001 }))).toEqual({ ok: false, reason: 'quota', remainingBytes: 6000 });
      await expectState(4000, 0, 0);
      expectOk(await ledger.reserve(uploadInput({ size: 6000 })));
      await expectState(4000, 6000, 1);

      // Each period is its own bucket.
      expectOk(await ledger.reserve(uploadInput({ size: 10_000, period: '2026-11-25' })));
      await expectState(0, 10_000, 2, 'alice', '2026-11-25');
    });

    it('caps pending uploads per user and route', async () => {
      const cap = { pendingCap: 2 };
      const a = expectOk(await ledger.reserve(uploadInput(cap)));
      expectOk(await ledger.reserve(uploadInput(cap)));
      expect(await ledger.reserve(uploadInput(cap))).toEqual({ ok: false, reason: 'pending', pending: 2 });
      await expectState(0, 2000, 2);

      expectOk(await ledger.reserve(uploadInput({ ...cap, route: 'images' })));
      expectOk(await ledger.reserve(uploadInput({ ...cap, userId: 'bob' })));
      await ledger.complete(a.id, { size: 1000, etag: '"a"' });
      expectOk(await ledger.reserve(uploadInput(cap)));
      await expectState(1000, 2000, 2);
    });

    it('grants exactly what fits to 200 concurrent reservations', async () => {
      const fits = 37;
      const results = await Promise.all(
        Array.from({ length: 200 }, () => ledger.reserve(uploadInput({ size: 1000, allowanceBytes: fits * 1000 + 999, pendingCap: 1000 }))),
      );
      const granted = results.filter((r) => r.ok);
      expect(granted).toHaveLength(fits);
      expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'quota' && r.remainingBytes === 999)).toBe(true);
      await expectState(0, fits * 1000, fits);
    });

    it('fails only the bad reservation when concurrent ones share a statement', async () => {
      const taken = expectOk(await ledger.reserve(uploadInput()));
      // The first two go at once; the rest wait and go together, one of them reusing a key.
      const inputs = Array.from({ length: 8 }, (_, i) => uploadInput(i === 5 ? { key: taken.key } : { userId: i % 2 ? 'alice' : 'bob' }));
      const results = await Promise.allSettled(inputs.map((input) => ledger.reserve(input)));
      expect(results.map((r) => r.status)).toEqual(inputs.map((_, i) => (i === 5 ? 'rejected' : 'fulfilled')));
      for (const [i, r] of results.entries()) if (r.status === 'fulfilled') expect(expectOk(r.value).id).toBe(inputs[i]?.id);
      expect(await ledger.getUpload(inputs[5]!.id)).toBeUndefined();
      await expectState(0, 4000, 4);
      await expectState(0, 4000, 4, 'bob');
    });

    it('completes once under 10 parallel calls, charging once', async () => {
      const upload = expectOk(await ledger.reserve(uploadInput({ size: 1000 })));
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => ledger.complete(upload.id, { size: 1000, etag: `"e${i}"` })));
      expect(results.filter((r) => r.changed)).toHaveLength(1);
      const etag = results.find((r) => r.changed)?.upload.etag;
      for (const r of results) expect(r.upload).toMatchObject({ status: 'completed', size: 1000, etag });
      await expectState(1000, 0, 0);
    });

    it('settles each upload once when completes, releases and new reservations of one user race', async () => {
      const big = { allowanceBytes: 1e9, pendingCap: 1000 };
      const uploads = await Promise.all(Array.from({ length: 6 }, (_, i) => ledger.reserve(uploadInput({ ...big, size: 1000 + i }))));
      // Per upload, 8 completes (of a smaller actual size) and 4 releases at once; new reservations
      // of the same user, route and period take the counter rows at the same time.
      const calls = uploads
        .map(expectOk)
        .flatMap((u) => [
          ...Array.from({ length: 8 }, (_, i) => ledger.complete(u.id, { size: u.size - 100, etag: `"${i}"` }).then((r) => ({ u, r }))),
          ...Array.from({ length: 4 }, (_, i) => ledger.release(u.id, i % 2 ? 'aborted' : 'expired').then((released) => ({ u, released }))),
          ledger.reserve(uploadInput({ ...big, size: 10 })),
        ]);
      const results = await Promise.all(calls);
      let used = 0;
      for (const u of uploads.map(expectOk)) {
        const mine = results.filter((x) => 'u' in x && x.u.id === u.id);
        const completes = mine.flatMap((x) => ('r' in x ? [x.r] : []));
        const releases = mine.flatMap((x) => ('released' in x ? [x.released] : []));
        const winners = completes.filter((r) => r.changed).length + releases.filter(Boolean).length;
        expect(winners).toBe(1);
        const final = await ledger.getUpload(u.id);
        for (const r of completes) expect(r.upload).toEqual(final);
        if (final?.status === 'completed') used += u.size - 100;
        else expect(final?.status).toMatch(/^(aborted|expired)$/);
      }
      expect(results.filter((x) => !('u' in x)).every((x) => 'ok' in x && x.ok)).toBe(true);
      await expectState(used, 6 * 10, 6);
      expect(await ledger.release(randomUUID(), 'aborted')).toBe(false);
    });

    it('survives migrate being called again, even concurrently', async () => {
      const upload = expectOk(await ledger.reserve(uploadInput()));
      await Promise.all([ledger.migrate(), ledger.migrate(), ledger.migrate()]);
      expect(await ledger.getUpload(upload.id)).toEqual(upload);
      await expectState(0, 1000, 1);
    });

    describeFileContract(ctx);
  });
}
