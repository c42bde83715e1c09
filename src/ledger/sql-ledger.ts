/**
 * The ledger as one set of Postgres queries over a `SqlDriver`: PGlite embedded, PostgreSQL when
 * several gateways share it. Every change to counters is a conditional UPDATE that the database
 * evaluates under the row lock, never a read followed by a write, so concurrent gateways on
 * PostgreSQL (READ COMMITTED) cannot oversell an allowance. What runs on every upload is one
 * statement each, a function of migrations 3 and 4: a reservation (`dropgate_reserve`, and
 * concurrent ones share a statement, reserve-batch.ts), a parts call (`dropgate_parts_signed`),
 * complete (`dropgate_complete`) and release (`dropgate_release`). One round trip each, and no
 * transaction held open between round trips.
 *
 * Lock order, to keep PostgreSQL free of deadlocks: an upload row, then `pending_counts`, then
 * `allowance_usage`. `reserve` touches no existing upload row (migration 4 says why that is safe).
 */
import { DropgateError } from '../shared/errors.js';
import { migrate } from './migrations.js';
import { createReserveBatcher, type ReserveBatching } from './reserve-batch.js';
import { isConnectionError, type SqlDriver, type SqlExecutor, toDate, toNumber } from './sql.js';
import { decodeCursor, encodeCursor, toRecord, UPLOAD_COLUMNS, type UploadRow, uploadColumns } from './sql-rows.js';
import type { Ledger, UploadRecord, Usage } from './types.js';

/**
 * A `Ledger` over any Postgres driver. Call `migrate()` once at start-up before anything else.
 * @example
 * const ledger = createSqlLedger(pgliteDriver(await PGlite.create()));
 * await ledger.migrate();
 * const r = await ledger.reserve({ ...upload, allowanceBytes: 10 * GiB, pendingCap: 200 });
 */
export function createSqlLedger(driver: SqlDriver, options: { reserveBatching?: ReserveBatching } = {}): Ledger {
  const reserveRow = createReserveBatcher(driver, options.reserveBatching);
  // Fail closed: a database that cannot be reached is LEDGER_UNAVAILABLE (503), nothing is signed.
  const run = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      throw new DropgateError('LEDGER_UNAVAILABLE', `The upload ledger cannot be reached (${operation}).`, {}, { cause: error });
    }
  };

  return {
    migrate: () => run('migrate', async () => void (await migrate(driver))),

    reserve: (input) =>
      run('reserve', async () => {
        // One statement (migration 3), batched with concurrent ones (reserve-batch.ts).
        const row = await reserveRow(input);
        if (row.r_outcome === 'pending') return { ok: false, reason: 'pending', pending: toNumber(row.r_amount) };
        if (row.r_outcome === 'quota') return { ok: false, reason: 'quota', remainingBytes: toNumber(row.r_amount) };
        // Field by field: a rest pattern and a spread take V8's slow copy path (~5 µs per call on Node 20).
        const upload: UploadRecord = {
          id: input.id,
          userId: input.userId,
          route: input.route,
          key: input.key,
          size: input.size,
          contentType: input.contentType,
          name: input.name,
          checksum: input.checksum,
          metadata: input.metadata,
          visibility: input.visibility,
          status: 'pending',
          period: input.period,
          multipartId: input.multipartId,
          partSize: input.partSize,
          partCount: input.partCount,
          etag: null,
          createdAt: toDate(row.r_created_at),
          expiresAt: input.expiresAt,
          completedAt: null,
        };
        return { ok: true, upload };
      }),

    getUpload: (id) => run('getUpload', () => readUpload(driver, id)),

    complete: (id, result) =>
      run('complete', async () => {
        // One statement (migration 4): the upload, its pending slot and its allowance settled.
        const { rows } = await driver.query<UploadRow & { changed: boolean }>(
          `SELECT c.r_changed AS changed, ${uploadColumns('(c.r_upload)')} FROM dropgate_complete($1, $2::bigint, $3) AS c`,
          [id, result.size, result.etag],
        );
        const row = rows[0];
        if (!row) throw new DropgateError('NOT_FOUND', 'No such upload.', { uploadId: id });
        return { changed: row.changed, upload: toRecord(row) };
      }),

    release: (id, status) =>
      run('release', async () => {
        // One statement (migration 4), like complete.
        const { rows } = await driver.query<{ released: boolean }>('SELECT dropgate_release($1, $2) AS released', [id, status]);
        return rows[0]?.released === true;
      }),

    deleteFile: (id, userId) =>
      run('deleteFile', () =>
        driver.transaction(async (tx) => {
          const { rows } = await tx.query<UploadRow>(
            `UPDATE uploads SET deleted_at = now()
             WHERE id = $1 AND user_id = $2 AND status = 'completed' AND deleted_at IS NULL
             RETURNING ${UPLOAD_COLUMNS}`,
            [id, userId],
          );
          const row = rows[0];
          if (!row) return undefined;
          // GREATEST: a refund never drives usage negative, even if the period was reset by hand.
          await tx.query(
            `UPDATE allowance_usage SET used_bytes = GREATEST(used_bytes - $4::bigint, 0)
             WHERE user_id = $1 AND route = $2 AND period = $3`,
            [row.user_id, row.route, row.period, toNumber(row.size)],
          );
          return toRecord(row);
        }),
      ),

    listFiles: (userId, { cursor, limit }) =>
      run('listFiles', async () => {
        if (!Number.isSafeInteger(limit) || limit < 1) {
          throw new DropgateError('INVALID_REQUEST', 'The page size must be a whole number of at least 1.', { field: 'limit' });
        }
        const after = cursor === undefined ? undefined : decodeCursor(cursor);
        // One row past the page tells whether another page exists.
        const { rows } = await driver.query<UploadRow>(
          `SELECT ${UPLOAD_COLUMNS} FROM uploads
           WHERE user_id = $1 AND status = 'completed' AND deleted_at IS NULL ${after ? 'AND (created_at, id) < ($3, $4)' : ''}
           ORDER BY created_at DESC, id DESC LIMIT $2`,
          after ? [userId, limit + 1, after.createdAt, after.id] : [userId, limit + 1],
        );
        const files = rows.slice(0, limit).map(toRecord);
        const last = files.at(-1);
        return { files, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
      }),

    usage: (userId, route, period) => run('usage', () => usageOf(driver, userId, route, period)),

    pendingCount: (userId, route) => run('pendingCount', () => pendingOf(driver, userId, route)),

    claimExpired: (now, limit, leaseSeconds) =>
      run('claimExpired', async () => {
        // SKIP LOCKED: a row another sweeper is claiming right now is left to it, not waited for;
        // once that sweeper commits, its lease keeps the row out of everyone else's claim.
        const { rows } = await driver.query<UploadRow>(
          `WITH due AS (
             SELECT id FROM uploads
             WHERE status = 'pending' AND expires_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
             ORDER BY expires_at, id LIMIT $2
             FOR UPDATE SKIP LOCKED
           )
           UPDATE uploads AS u SET claimed_until = $1::timestamptz + make_interval(secs => $3::double precision)
           FROM due WHERE u.id = due.id
           RETURNING ${uploadColumns('u')}`,
          [now, limit, leaseSeconds],
        );
        return rows.map(toRecord).sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime() || (a.id < b.id ? -1 : 1));
      }),

    ping: () => run('ping', async () => void (await driver.query('SELECT 1'))),

    recordPartChecksums: (uploadId, parts) =>
      run('recordPartChecksums', async () => {
        if (parts.length === 0) return;
        // One multi-row upsert ($1 is the upload, then number/md5 pairs): a batch is at most 100 parts.
        const values = parts.map((_, i) => `($1, $${2 * i + 2}::integer, $${2 * i + 3})`).join(', ');
        await driver.query(
          `INSERT INTO upload_part_checksums (upload_id, part_number, md5) VALUES ${values}
           ON CONFLICT (upload_id, part_number) DO UPDATE SET md5 = EXCLUDED.md5`,
          [uploadId, ...parts.flatMap((p) => [p.partNumber, p.md5])],
        );
      }),

    partsSigned: (uploadId, checksums, expiresAt) =>
      run('partsSigned', async () => {
        // One statement (migration 4); the checksums go as two parallel arrays, however many there are.
        await driver.query('SELECT dropgate_parts_signed($1, $2::timestamptz, $3::integer[], $4::text[])', [
          uploadId,
          expiresAt,
          checksums.map((c) => c.partNumber),
          checksums.map((c) => c.md5),
        ]);
      }),

    partChecksums: (uploadId) =>
      run('partChecksums', async () => {
        const { rows } = await driver.query<{ part_number: unknown; md5: string }>(
          'SELECT part_number, md5 FROM upload_part_checksums WHERE upload_id = $1 ORDER BY part_number',
          [uploadId],
        );
        return rows.map((row) => ({ partNumber: toNumber(row.part_number), md5: row.md5 }));
      }),

    close: () => run('close', () => driver.close()),
  };
}

async function readUpload(db: SqlExecutor, id: string) {
  const { rows } = await db.query<UploadRow>(`SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE id = $1 AND deleted_at IS NULL`, [id]);
  return rows[0] ? toRecord(rows[0]) : undefined;
}

async function usageOf(db: SqlExecutor, userId: string, route: string, period: string): Promise<Usage> {
  const { rows } = await db.query<{ used_bytes: unknown; reserved_bytes: unknown }>(
    'SELECT used_bytes, reserved_bytes FROM allowance_usage WHERE user_id = $1 AND route = $2 AND period = $3',
    [userId, route, period],
  );
  const row = rows[0];
  return row ? { usedBytes: toNumber(row.used_bytes), reservedBytes: toNumber(row.reserved_bytes) } : { usedBytes: 0, reservedBytes: 0 };
}

async function pendingOf(db: SqlExecutor, userId: string, route: string): Promise<number> {
  const { rows } = await db.query<{ pending: unknown }>('SELECT pending FROM pending_counts WHERE user_id = $1 AND route = $2', [
    userId,
    route,
  ]);
  return rows[0] ? toNumber(rows[0].pending) : 0;
}
