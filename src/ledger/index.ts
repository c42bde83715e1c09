export { MIGRATIONS, type Migration, migrate } from './migrations.js';
export { createPGliteLedger, type PGliteLedgerOptions, pgliteDriver } from './pglite.js';
export { isConnectionError, type SqlDriver, type SqlExecutor } from './sql.js';
export { createSqlLedger } from './sql-ledger.js';
export type * from './types.js';
