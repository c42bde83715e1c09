/**
 * The little the ledger needs from a Postgres client. PGlite (embedded) and node-postgres both
 * satisfy it with a few lines each, so the ledger runs one set of queries on either.
 */

/** Runs statements, inside or outside a transaction. */
export interface SqlExecutor {
  /**
   * One statement with `$1`-style parameters. Drivers differ in how they return BIGINT (PGlite: a
   * number when it fits, node-postgres: a string); callers convert with `toNumber`.
   */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<{ rows: T[] }>;
  /** A script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface SqlDriver extends SqlExecutor {
  /**
   * Runs `fn` in one transaction (READ COMMITTED, Postgres' default): committed when it resolves,
   * rolled back when it throws. `fn` must use `tx`, never the driver itself, or it deadlocks on a
   * single-connection driver such as PGlite.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

// SQLSTATE classes that mean "the database is not there", not "your query is wrong":
// 08 connection exception, 53 insufficient resources, 57P0x shutdown / cannot connect now.
const UNAVAILABLE_SQLSTATE = /^(08...|53...|57P0[1-4])$/;
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'EPIPE']);
// Thrown without a code by node-postgres (pool and client) and PGlite.
const UNAVAILABLE_MESSAGE =
  /^(PGlite is clos(ed|ing)|Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed|Cannot use a pool after calling end)/;

/**
 * Whether an error from a driver means the database cannot be reached (so the ledger fails closed
 * with LEDGER_UNAVAILABLE) rather than a bug in a query.
 * @example if (isConnectionError(err)) throw new DropgateError('LEDGER_UNAVAILABLE', '…', {}, { cause: err });
 */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof WebAssembly.RuntimeError) return true; // PGlite's Postgres aborted
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code))) return true;
  if (UNAVAILABLE_MESSAGE.test(error.message)) return true;
  // Node reports a refused dual-stack connect as an AggregateError of per-address errors.
  if (error instanceof AggregateError) return error.errors.some(isConnectionError);
  return error.cause !== undefined && isConnectionError(error.cause);
}

/**
 * A BIGINT or INTEGER column as a JS number. Sizes stay far below 2^53, so a value past it is a
 * corrupted row, not something to round silently.
 * @example toNumber('5368709120') // 5368709120 (node-postgres returns BIGINT as a string)
 */
export function toNumber(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'bigint' || typeof value === 'string' ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new Error(`Expected an integer below 2^53 from the database, got ${String(value)}`);
  return n;
}

/** A timestamp column as a Date (both drivers parse TIMESTAMPTZ, but a string is read too). */
export function toDate(value: unknown): Date {
  const date = value instanceof Date ? value : new Date(String(value));
  if (Number.isNaN(date.getTime())) throw new Error(`Expected a timestamp from the database, got ${String(value)}`);
  return date;
}
