/**
 * Reservations that arrive while earlier ones are still in the database go together, as one
 * statement, once a slot frees up; so do those that arrive in one turn of the event loop. An idle
 * ledger sends a reservation at the end of the turn it came in, alone; under load, K concurrent
 * sign requests cost one round trip, one commit and one statement instead of K. (Sending at once
 * instead of at the turn's end made more than half of the statements single reservations under
 * the endpoint bench's load: a slot that freed up took the first request of the next turn alone.)
 * Measured (BENCHMARKS.md, endpoint): on a 2-core machine a socket write that wakes a PostgreSQL
 * backend cost ~200 µs of the gateway's CPU, and one statement ~0.35 ms of PostgreSQL's; on
 * PGlite each statement costs its fixed overhead on the event loop.
 *
 * Each reservation in a batch is still one call of `dropgate_reserve`, checked and counted on its
 * own against the counters as the calls before it left them, so quotas stay exact. A batch is one
 * transaction: calls run in (user, route) order, so that two batches in flight (here or on
 * another instance) take their row locks in the same order and cannot deadlock. A batch that
 * fails for any reason but an unreachable database is retried one reservation at a time, so one
 * bad reservation fails alone.
 */
import { isConnectionError, type SqlExecutor } from './sql.js';
import { RESERVE, type ReserveRow, reserveBatchSql, reserveParams } from './sql-rows.js';
import type { ReserveInput } from './types.js';

export interface ReserveBatching {
  /** Statements in flight at once; more reservations wait and go in the next batch. Default 2. */
  inFlight?: number;
  /** Most reservations in one statement. Default 64. */
  maxBatch?: number;
}

interface Waiting {
  input: ReserveInput;
  resolve(row: ReserveRow): void;
  reject(error: unknown): void;
}

/**
 * A function that reserves through `db`, batching as described above.
 * @example const reserveRow = createReserveBatcher(driver); const row = await reserveRow(input);
 */
export function createReserveBatcher(db: SqlExecutor, options: ReserveBatching = {}): (input: ReserveInput) => Promise<ReserveRow> {
  const inFlight = options.inFlight ?? 2;
  const maxBatch = options.maxBatch ?? 64;
  const queue: Waiting[] = [];
  let running = 0;
  let scheduled = false;

  const one = async (input: ReserveInput): Promise<ReserveRow> => {
    const row = (await db.query<ReserveRow>(RESERVE, reserveParams(input))).rows[0];
    if (!row) throw new Error('dropgate_reserve returned no row');
    return row;
  };

  const send = async (batch: Waiting[]): Promise<void> => {
    if (batch.length === 1) {
      const [w] = batch as [Waiting];
      await one(w.input).then(w.resolve, w.reject);
      return;
    }
    batch.sort((a, b) => compare(a.input.userId, b.input.userId) || compare(a.input.route, b.input.route));
    let rows: (ReserveRow & { i: unknown })[];
    try {
      rows = (
        await db.query<ReserveRow & { i: unknown }>(
          reserveBatchSql(batch.length),
          batch.flatMap((w) => reserveParams(w.input)),
        )
      ).rows;
    } catch (error) {
      if (isConnectionError(error)) {
        for (const w of batch) w.reject(error);
        return;
      }
      await Promise.all(batch.map((w) => one(w.input).then(w.resolve, w.reject)));
      return;
    }
    const byIndex = new Map(rows.map((row) => [Number(row.i), row]));
    batch.forEach((w, i) => {
      const row = byIndex.get(i);
      if (row) w.resolve(row);
      else w.reject(new Error('dropgate_reserve returned no row'));
    });
  };

  const pump = () => {
    while (queue.length > 0 && running < inFlight) {
      running++;
      send(queue.splice(0, maxBatch)).finally(() => {
        running--;
        pump();
      });
    }
  };

  return (input) =>
    new Promise<ReserveRow>((resolve, reject) => {
      queue.push({ input, resolve, reject });
      if (scheduled) return;
      scheduled = true;
      // After the sockets this turn read: their sign requests reach this queue first.
      setImmediate(() => {
        scheduled = false;
        pump();
      });
    });
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
