/**
 * The ledger on a real PostgreSQL server: the shared contract suite, then what PGlite cannot show
 * because it runs one statement at a time — reservations racing over many connections and
 * instances, sweepers claiming at once, instances migrating at once — and prepared statements.
 * When the server cannot be reached: postgres-outages.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTestSchema, postgresProblem, requireService, TEST_DATABASE_URL } from '../../test/helpers/services.js';
import { describeLedgerContract } from './ledger.contract.js';
import { expectOk, uploadInput } from './ledger-fixtures.contract.js';
import { MIGRATIONS, migrate } from './migrations.js';
import { createPostgresLedger, ledgerFromEnv, type postgresDriver } from './postgres.js';
import { closeOpened, instance, schema } from './postgres-fixtures.contract.js';
import type { Ledger } from './types.js';

const available = await requireService('PostgreSQL', postgresProblem);

afterEach(closeOpened);

describe.skipIf(!available)('PostgreSQL ledger', () => {
  describeLedgerContract('PostgreSQL', async () => {
    const s = await createTestSchema();
    const ledger = createPostgresLedger({ connectionString: TEST_DATABASE_URL, schema: s.name, max: 8 });
    return { ...ledger, close: () => ledger.close().finally(s.drop) } satisfies Ledger;
  });

  it('grants exactly what fits to 200 reservations racing over two instances of 8 connections each', async () => {
    const s = await schema();
    const a = instance(s, { max: 8 });
    const b = instance(s, { max: 8 });
    await Promise.all([a.ledger.migrate(), b.ledger.migrate()]);
    const fits = 53;
    const input = () => uploadInput({ size: 1000, allowanceBytes: fits * 1000 + 999, pendingCap: 1000 });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).ledger.reserve(input())));
    expect(results.filter((r) => r.ok)).toHaveLength(fits);
    expect(results.every((r) => r.ok || (r.reason === 'quota' && r.remainingBytes === 999))).toBe(true);
    // The race was real: each instance held several connections at once.
    expect(a.pool.totalCount).toBeGreaterThan(1);
    expect(b.pool.totalCount).toBeGreaterThan(1);
    expect(await a.ledger.usage('alice', 'videos', '2026-11-24')).toEqual({ usedBytes: 0, reservedBytes: fits * 1000 });
    expect(await b.ledger.pendingCount('alice', 'videos')).toBe(fits);
  });

  it('queues a burst for a pooled connection for longer than it waits to connect', async () => {
    const s = await schema();
    const hold = (driver: ReturnType<typeof instance>['driver']) =>
      driver.transaction(async (tx) => void (await tx.query('SELECT pg_sleep(0.8)')));
    const patient = instance(s, { max: 1, connectionTimeoutMillis: 200 });
    await patient.ledger.migrate();
    const [, waited] = await Promise.all([hold(patient.driver), patient.ledger.usage('alice', 'videos', '2026-11-24')]);
    expect(waited).toEqual({ usedBytes: 0, reservedBytes: 0 });

    const hasty = instance(s, { max: 1, connectionTimeoutMillis: 200, acquireTimeoutMillis: 300 });
    await hasty.ledger.migrate();
    const held = hold(hasty.driver);
    await expect(hasty.ledger.usage('alice', 'videos', '2026-11-24')).rejects.toMatchObject({ code: 'LEDGER_UNAVAILABLE' });
    await held;
  });

  it('settles an upload while a reservation holds its counters, locking in the same order (no deadlock)', async () => {
    const s = await schema();
    const { ledger, driver } = instance(s, { max: 4 });
    await ledger.migrate();
    const settles = {
      complete: (id: string) => ledger.complete(id, { size: 900, etag: '"e"' }),
      release: (id: string) => ledger.release(id, 'aborted'),
    };
    for (const settle of Object.values(settles)) {
      const upload = expectOk(await ledger.reserve(uploadInput({ size: 1000 })));
      let outcome: Promise<unknown> = Promise.resolve();
      await driver.transaction(async (tx) => {
        // dropgate_reserve's first lock (pending_counts); its second (allowance_usage) only once
        // the settle is queued behind the first. A settle that locked allowance_usage before
        // pending_counts would now wait in a cycle with us, and PostgreSQL would abort one of us.
        await tx.query("UPDATE pending_counts SET pending = pending + 1 WHERE user_id = 'alice' AND route = 'videos'");
        const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        outcome = settle(upload.id).catch((error: unknown) => error);
        await waitUntilBlockedBy(driver, rows[0]!.pid);
        await tx.query(
          "UPDATE allowance_usage SET reserved_bytes = reserved_bytes + 10 WHERE user_id = 'alice' AND route = 'videos' AND period = '2026-11-24'",
        );
      });
      expect(await outcome).not.toBeInstanceOf(Error);
    }
    expect(await ledger.usage('alice', 'videos', '2026-11-24')).toEqual({ usedBytes: 900, reservedBytes: 20 });
    expect(await ledger.pendingCount('alice', 'videos')).toBe(2);
  });

  it('never hands one expired upload to two sweeping instances (FOR UPDATE SKIP LOCKED)', async () => {
    const s = await schema();
    const a = instance(s);
    const b = instance(s);
    await a.ledger.migrate();
    const past = new Date(Date.now() - 60_000);
    const expired = await Promise.all(
      Array.from({ length: 240 }, async () =>
        expectOk(await a.ledger.reserve(uploadInput({ size: 1, expiresAt: past, pendingCap: 1000 }))),
      ),
    );
    // Each instance runs 4 sweepers in small batches until nothing is left to claim.
    const sweeper = async (ledger: Ledger) => {
      const mine: string[] = [];
      for (;;) {
        const batch = await ledger.claimExpired(new Date(), 7, 300);
        if (batch.length === 0) return mine;
        mine.push(...batch.map((u) => u.id));
      }
    };
    const claims = await Promise.all([a, b, a, b, a, b, a, b].map((x) => sweeper(x.ledger)));
    const all = claims.flat();
    expect(all).toHaveLength(expired.length);
    expect(new Set(all)).toEqual(new Set(expired.map((u) => u.id)));
    // Both instances got work: the test exercised contention, not one sweeper doing everything.
    expect(claims.filter((_, i) => i % 2 === 0).flat().length).toBeGreaterThan(0);
    expect(claims.filter((_, i) => i % 2 === 1).flat().length).toBeGreaterThan(0);
  });

  it('prepares a statement once per connection and runs it again by name; never with prepareStatements: false', async () => {
    const s = await schema();
    const preparedAfterTwoReservations = async (prepareStatements: boolean) => {
      // One connection, so the view below is the session's own.
      const { driver, ledger } = instance(s, { max: 1, prepareStatements });
      await ledger.migrate();
      expectOk(await ledger.reserve(uploadInput()));
      expectOk(await ledger.reserve(uploadInput()));
      const { rows } = await driver.query<{ statement: string; runs: number }>(
        'SELECT statement, generic_plans + custom_plans AS runs FROM pg_prepared_statements',
      );
      return rows.filter((row) => row.statement.includes('dropgate_reserve')).map((row) => Number(row.runs));
    };
    expect(await preparedAfterTwoReservations(true)).toEqual([2]);
    expect(await preparedAfterTwoReservations(false)).toEqual([]);
  });

  it('runs a prepared statement unprepared once a schema change altered its result columns', async () => {
    const s = await schema();
    const { driver } = instance(s, { max: 1 });
    await driver.exec("CREATE TABLE t (id integer PRIMARY KEY, a text); INSERT INTO t VALUES (1, 'x')");
    expect((await driver.query('SELECT * FROM t WHERE id = $1', [1])).rows).toEqual([{ id: 1, a: 'x' }]);
    // As another instance's migration would; PostgreSQL then refuses the prepared statement (0A000).
    await driver.exec('ALTER TABLE t ADD COLUMN b text');
    expect((await driver.query('SELECT * FROM t WHERE id = $1', [1])).rows).toEqual([{ id: 1, a: 'x', b: null }]);
  });

  it('migrates once when several instances start together (advisory lock)', async () => {
    const s = await schema();
    const instances = Array.from({ length: 5 }, () => instance(s, { max: 2 }));
    // Not idempotent on purpose: run twice, it would fail on CREATE TABLE or the primary key.
    const steps = [
      { version: 1, name: 'a', sql: 'CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);' },
      { version: 2, name: 'b', sql: 'ALTER TABLE t ADD COLUMN b int; UPDATE t SET b = 2;' },
    ];
    const runs = await Promise.all(instances.map((x) => migrate(x.driver, steps)));
    expect(runs.filter((r) => r.length > 0)).toEqual([[1, 2]]);
    expect((await instances[0]!.driver.query('SELECT id, b FROM t')).rows).toEqual([{ id: 1, b: 2 }]);

    // The real migrations too, through the ledgers, into another schema.
    const other = await schema();
    const ledgers = Array.from({ length: 5 }, () => instance(other, { max: 2 }).ledger);
    await Promise.all(ledgers.map((l) => l.migrate()));
    const { rows } = await instance(other).driver.query<{ n: string }>('SELECT count(*) AS n FROM schema_migrations');
    expect(Number(rows[0]?.n)).toBe(MIGRATIONS.length);
    expectOk(await ledgers[3]!.reserve(uploadInput()));
  });
});

/** Resolves once some backend waits for a lock that backend `pid` holds. */
async function waitUntilBlockedBy(driver: ReturnType<typeof postgresDriver>, pid: number): Promise<void> {
  for (let tries = 0; tries < 500; tries++) {
    const { rows } = await driver.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))',
      [pid],
    );
    if (Number(rows[0]?.n) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`nothing queued behind backend ${pid} within 5 s`);
}

describe('ledgerFromEnv', () => {
  it('is PostgreSQL when DATABASE_URL is set, and nothing otherwise', async () => {
    expect(ledgerFromEnv({})).toBeUndefined();
    expect(ledgerFromEnv({ DATABASE_URL: '  ' })).toBeUndefined();
    const ledger = ledgerFromEnv({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }, { connectionTimeoutMillis: 200 });
    expect(ledger).toBeDefined();
    await expect(ledger?.usage('a', 'b', 'c')).rejects.toMatchObject({ code: 'LEDGER_UNAVAILABLE' });
    await ledger?.close();
    await ledger?.close(); // twice is fine
  });

  it('refuses a schema name that could smuggle SQL', () => {
    expect(() => createPostgresLedger({ connectionString: TEST_DATABASE_URL, schema: 'x; DROP TABLE uploads' })).toThrow(/schema/);
    expect(() => createPostgresLedger({ connectionString: '' })).toThrow(/connectionString/);
  });
});
