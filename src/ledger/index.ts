export { MIGRATIONS, type Migration, migrate } from './migrations.js';
export { createPGliteLedger, type PGliteLedgerOptions, pgliteDriver } from './pglite.js';
export { createLedgerPool, createPostgresLedger, ledgerFromEnv, type PostgresLedgerOptions, postgresDriver } from './postgres.js';
export { isConnectionError, type SqlDriver, type SqlExecutor } from './sql.js';
export { createSqlLedger } from './sql-ledger.js';
export type * from './types.js';
