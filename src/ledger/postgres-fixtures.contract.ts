/**
 * What the PostgreSQL ledger's test files share: a fresh schema per test, ledgers with pools of
 * their own in it, and everything a test opened closed after it (`afterEach(closeOpened)`).
 */
import { createTestSchema, TEST_DATABASE_URL, type TestSchema } from '../../test/helpers/services.js';
import { createLedgerPool, type PostgresLedgerOptions, postgresDriver } from './postgres.js';
import { createSqlLedger } from './sql-ledger.js';

/** Everything a test opened, closed after it whatever happened. */
export const cleanups: (() => Promise<unknown>)[] = [];

export async function closeOpened(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
}

export async function schema(): Promise<TestSchema> {
  const s = await createTestSchema();
  cleanups.push(s.drop);
  return s;
}

/** A ledger in `s` with its own pool, as one gateway instance would have. */
export function instance(s: TestSchema, options: Partial<PostgresLedgerOptions> = {}) {
  const pool = createLedgerPool({ connectionString: TEST_DATABASE_URL, schema: s.name, ...options });
  const driver = postgresDriver(pool, options);
  const ledger = createSqlLedger(driver);
  cleanups.push(() => ledger.close());
  return { pool, driver, ledger };
}
