/**
 * PGlite (Postgres compiled to WebAssembly, in-process) as a `SqlDriver`: the embedded default
 * ledger, persisted in the data folder, so `dropgate dev` needs no database server.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PGlite, type PGliteInterface, type Transaction } from '@electric-sql/pglite';
import type { SqlDriver, SqlExecutor } from './sql.js';
import { createSqlLedger } from './sql-ledger.js';
import type { Ledger } from './types.js';

function executor(db: PGliteInterface | Transaction): SqlExecutor {
  return {
    query: async (sql, params) => db.query(sql, params ? [...params] : undefined),
    exec: async (sql) => void (await db.exec(sql)),
  };
}

/**
 * Wraps a PGlite instance. PGlite runs one statement at a time and queues transactions, so
 * concurrent callers are safe; the same SQL is also correct under PostgreSQL's real concurrency.
 * @example const driver = pgliteDriver(await PGlite.create());
 */
export function pgliteDriver(db: PGliteInterface): SqlDriver {
  return {
    ...executor(db),
    transaction: (fn) => db.transaction((tx) => fn(executor(tx))),
    close: async () => {
      if (!db.closed) await db.close();
    },
  };
}

export interface PGliteLedgerOptions {
  /** Folder PGlite keeps its files in (created if missing). Omitted: in memory, gone on close. */
  dataDir?: string;
}

/**
 * The embedded ledger. Call `migrate()` on it before use, as with every ledger.
 * @example
 * const ledger = await createPGliteLedger({ dataDir: '.dropgate/ledger' });
 * await ledger.migrate();
 */
export async function createPGliteLedger(options: PGliteLedgerOptions = {}): Promise<Ledger> {
  let db: PGlite;
  if (options.dataDir === undefined) {
    db = await PGlite.create();
  } else {
    const dir = resolve(options.dataDir);
    await mkdir(dir, { recursive: true });
    db = await PGlite.create(dir);
  }
  return createSqlLedger(pgliteDriver(db));
}
