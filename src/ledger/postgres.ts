/**
 * PostgreSQL (node-postgres) as a `SqlDriver`: the ledger several gateway instances share. It runs
 * the very queries and migrations PGlite runs; only the plumbing of connections lives here.
 */
import pg from 'pg';
import { isConnectionError, type SqlDriver, type SqlExecutor } from './sql.js';
import { createSqlLedger } from './sql-ledger.js';
import type { Ledger } from './types.js';

export interface PostgresLedgerOptions {
  /** `postgres://user:pass@host:5432/db?sslmode=require`, as in `DATABASE_URL`. */
  connectionString: string;
  /** Most connections this instance opens. Default 10. */
  max?: number;
  /**
   * How long one attempt to open a connection may take before answering LEDGER_UNAVAILABLE.
   * Default 3000 ms: a database that is down should cost a sign request seconds, never a hang.
   */
  connectionTimeoutMillis?: number;
  /**
   * How long a call may wait for a free pooled connection. Default 10 000 ms. Kept apart from the
   * connect timeout because a burst from one user queues on that user's allowance row: a busy
   * database is not an unavailable one, and should not answer 503 after a few seconds of queueing.
   */
  acquireTimeoutMillis?: number;
  /**
   * How long one statement may wait for an answer before the connection is given up on. Default
   * 5000 ms: the ledger's statements are point queries that take milliseconds, so this only fires
   * when the database stops answering without closing the socket (hung, or a half-open link).
   */
  queryTimeoutMillis?: number;
  /**
   * How long an unused connection stays open. Default 60 000 ms (node-postgres's own is 10 s): an
   * upload signs, then sends its bytes for seconds to minutes before its next call, and with 10 s
   * every burst of signs or completes after such a pause opened its connections again — a new
   * backend and a startup handshake each, on the gateway's CPU and PostgreSQL's (BENCHMARKS.md, load).
   */
  idleTimeoutMillis?: number;
  /** Schema for the ledger's tables (its `search_path`); it must exist. Default: the server's. */
  schema?: string;
  /**
   * Prepare each statement once per connection (a named statement) rather than have PostgreSQL
   * parse and plan it at every call. Default true: a reservation then costs PostgreSQL about a
   * quarter less CPU (BENCHMARKS.md, endpoint). Set false behind a pooler that cannot carry named
   * statements across its connections (PgBouncer in transaction mode before 1.21).
   */
  prepareStatements?: boolean;
  /**
   * Told about errors on idle connections (the server restarted, a proxy cut the line). The pool
   * drops such a connection and opens a new one when needed, so nothing else has to happen.
   */
  onIdleError?: (error: Error) => void;
}

// node-postgres reports its own timeouts (a statement, a connection attempt) without a code.
const CLIENT_TIMEOUT = /^(Query read timeout|timeout expired)$/;

/** Our side gave up waiting for the database: to the ledger, that is "unavailable". */
function translate(error: unknown): unknown {
  if (error instanceof Error && CLIENT_TIMEOUT.test(error.message)) {
    return Object.assign(new Error('PostgreSQL did not answer in time', { cause: error }), { code: 'ETIMEDOUT' });
  }
  return error;
}

/** Most statement texts named; the ledger has a few dozen, so this bound is never reached by it. */
const MAX_NAMED = 256;
const names = new Map<string, string>();

/** One name per statement text, for every pool of the process: a connection prepares it on first use. */
function nameOf(sql: string): string | undefined {
  let name = names.get(sql);
  if (name === undefined && names.size < MAX_NAMED) {
    name = `dropgate_q${names.size + 1}`;
    names.set(sql, name);
  }
  return name;
}

// PostgreSQL refuses to run a prepared statement whose result columns a schema change altered
// (another instance migrated while this one ran): the call is sent again, unprepared.
const isStalePlan = (error: unknown) =>
  (error as { code?: unknown }).code === '0A000' && /cached plan must not change result type/.test(String((error as Error).message));

function executor(db: pg.Pool | pg.PoolClient, prepare: boolean): SqlExecutor {
  const run = (config: pg.QueryConfig) => db.query(config);
  return {
    query: async <T>(sql: string, params?: readonly unknown[]) => {
      // Without values node-postgres sends the statement on its own (the simple protocol).
      const values = params ? [...params] : [];
      const name = prepare && values.length > 0 ? nameOf(sql) : undefined;
      try {
        const result = await run(name ? { name, text: sql, values } : { text: sql, values }).catch((error: unknown) => {
          if (name && isStalePlan(error)) return run({ text: sql, values });
          throw error;
        });
        return { rows: result.rows as T[] };
      } catch (error) {
        throw translate(error);
      }
    },
    exec: async (sql) => {
      try {
        // Without parameters node-postgres uses the simple protocol, which runs a whole script.
        await db.query(sql);
      } catch (error) {
        throw translate(error);
      }
    },
  };
}

/**
 * Wraps a node-postgres pool. A transaction holds one pooled connection from BEGIN to COMMIT; a
 * connection that failed mid-way is destroyed rather than handed to the next caller. Statements
 * with parameters outside a transaction are prepared once per connection unless
 * `prepareStatements` is false.
 * @example const driver = postgresDriver(new pg.Pool({ connectionString: process.env.DATABASE_URL }));
 */
export function postgresDriver(pool: pg.Pool, options: Pick<PostgresLedgerOptions, 'prepareStatements'> = {}): SqlDriver {
  const prepare = options.prepareStatements ?? true;
  let closing: Promise<void> | undefined;
  return {
    ...executor(pool, prepare),
    async transaction(fn) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw translate(error);
      }
      // While checked out, the pool's idle listener is off: an 'error' emitted between two of our
      // statements (the server went away) would otherwise be unhandled and end the process.
      let broken: unknown;
      const onError = (error: Error) => {
        broken ??= error;
      };
      client.on('error', onError);
      // Unprepared: a statement PostgreSQL refused as stale could not be sent again inside the
      // transaction it aborted; and the ledger's transactions are the rare calls (deleteFile).
      const tx = executor(client, false);
      try {
        await tx.exec('BEGIN');
        const result = await fn(tx);
        await tx.exec('COMMIT');
        return result;
      } catch (error) {
        // A dead or stuck connection cannot roll back; destroying it ends the transaction.
        if (isConnectionError(error)) broken ??= error;
        broken ??= await tx.exec('ROLLBACK').then(
          () => undefined,
          (rollbackError: unknown) => rollbackError,
        );
        throw error;
      } finally {
        client.off('error', onError);
        // `release(true)` destroys the connection: its state after a failure is unknown.
        client.release(broken === undefined ? undefined : true);
      }
    },
    close() {
      // Pool.end() throws when called twice; every caller gets the one ending.
      closing ??= pool.end();
      return closing;
    },
  };
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * A pool for the ledger: short connect timeout, longer queue wait, TCP keep-alive, and idle-connection errors caught
 * so that a restarted database never crashes the process; the pool reconnects on the next query.
 */
export function createLedgerPool(options: PostgresLedgerOptions): pg.Pool {
  if (!options.connectionString) throw new TypeError('dropgate: `connectionString` is required for the PostgreSQL ledger.');
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
    throw new TypeError(`dropgate: schema "${options.schema}" must be letters, digits and "_" (at most 63).`);
  }
  const connectMs = options.connectionTimeoutMillis ?? 3000;
  // node-postgres has one setting for both waits; the pool's becomes the queue wait, and each
  // client gets the connect timeout of its own.
  class LedgerClient extends pg.Client {
    constructor(config: pg.ClientConfig) {
      super({ ...config, ...(config.password === undefined ? {} : { password: config.password }), connectionTimeoutMillis: connectMs });
    }
  }
  const pool = new pg.Pool({
    // @types/pg declares a constructor without arguments; the pool passes its config.
    Client: LedgerClient as unknown as new () => pg.ClientBase,
    connectionString: options.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: Math.max(options.acquireTimeoutMillis ?? 10_000, connectMs),
    query_timeout: options.queryTimeoutMillis ?? 5000,
    idleTimeoutMillis: options.idleTimeoutMillis ?? 60_000,
    // Idle connections do not hold a process that has nothing else to do (a CLI command) open.
    allowExitOnIdle: true,
    keepAlive: true,
    application_name: 'dropgate',
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  });
  const onIdleError = options.onIdleError ?? (() => {});
  pool.on('error', (error) => onIdleError(error));
  return pool;
}

/**
 * The ledger on PostgreSQL. Connects lazily: `migrate()` is its first round trip, and several
 * instances may call it at once (they queue on an advisory lock; the schema is built once).
 * @example
 * const ledger = createPostgresLedger({ connectionString: process.env.DATABASE_URL! });
 * await ledger.migrate();
 */
export function createPostgresLedger(options: PostgresLedgerOptions): Ledger {
  return createSqlLedger(postgresDriver(createLedgerPool(options), options));
}

/**
 * The ledger the environment asks for: PostgreSQL when `DATABASE_URL` is set, otherwise undefined
 * (the caller falls back to the embedded PGlite ledger).
 * @example const ledger = ledgerFromEnv(process.env) ?? (await createPGliteLedger({ dataDir }));
 */
export function ledgerFromEnv(
  env: Record<string, string | undefined>,
  options: Omit<PostgresLedgerOptions, 'connectionString'> = {},
): Ledger | undefined {
  const connectionString = env.DATABASE_URL?.trim();
  return connectionString ? createPostgresLedger({ ...options, connectionString }) : undefined;
}
