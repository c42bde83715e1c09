import { cp, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeLedgerContract } from './ledger.contract.js';
import { expectOk, uploadInput } from './ledger-fixtures.contract.js';
import { MIGRATIONS, migrate } from './migrations.js';
import { createPGliteLedger, pgliteDriver } from './pglite.js';
import { createSqlLedger } from './sql-ledger.js';
import type { Ledger } from './types.js';

// Starting PGlite takes seconds; cloning a started one or copying a data folder takes a fraction.
let memoryTemplate: PGlite;
let diskTemplate: string;
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'dropgate-ledger-'));
  memoryTemplate = await PGlite.create(); // not migrated: each test's migrate() builds the schema
  diskTemplate = join(scratch, 'template');
  const ledger = await createPGliteLedger({ dataDir: diskTemplate });
  await ledger.migrate(); // migrated: each test's migrate() finds nothing to do
  await ledger.close();
});

afterAll(async () => {
  await memoryTemplate?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describeLedgerContract('PGlite in memory', async () => createSqlLedger(pgliteDriver(await memoryTemplate.clone())));

describeLedgerContract('PGlite on disk', async () => {
  const dataDir = await mkdtemp(join(scratch, 'db-'));
  await cp(diskTemplate, dataDir, { recursive: true });
  const ledger = await createPGliteLedger({ dataDir });
  return { ...ledger, close: () => ledger.close().finally(() => rm(dataDir, { recursive: true, force: true })) } satisfies Ledger;
});

describe('createPGliteLedger', () => {
  it('persists in its data folder, creating it, and does not migrate again on reopen', async () => {
    const dataDir = join(scratch, 'nested', 'ledger');
    const first = await createPGliteLedger({ dataDir });
    await first.migrate();
    const upload = expectOk(await first.reserve(uploadInput({ size: 1234 })));
    await first.complete(upload.id, { size: 1234, etag: '"p"' });
    await first.close();
    expect((await stat(dataDir)).isDirectory()).toBe(true);

    const db = await PGlite.create(dataDir);
    const before = (await db.query('SELECT version, applied_at FROM schema_migrations ORDER BY version')).rows;
    expect(before).toHaveLength(MIGRATIONS.length);
    expect(await migrate(pgliteDriver(db))).toEqual([]);
    expect((await db.query('SELECT version, applied_at FROM schema_migrations ORDER BY version')).rows).toEqual(before);
    await db.close();

    const second = await createPGliteLedger({ dataDir });
    await second.migrate();
    expect(await second.getUpload(upload.id)).toMatchObject({ status: 'completed', size: 1234, etag: '"p"' });
    expect(await second.usage('alice', 'videos', upload.period)).toEqual({ usedBytes: 1234, reservedBytes: 0 });
    await second.close();
  });

  it('keeps nothing between in-memory instances', async () => {
    const first = await createPGliteLedger();
    await first.migrate();
    const upload = expectOk(await first.reserve(uploadInput()));
    await first.close();
    const second = await createPGliteLedger();
    await second.migrate();
    expect(await second.getUpload(upload.id)).toBeUndefined();
    await second.close();
  });
});

describe('createSqlLedger', () => {
  it('completes, releases and records signed parts in one statement each, outside any transaction', async () => {
    const driver = pgliteDriver(await memoryTemplate.clone());
    const ledger = createSqlLedger(driver);
    await ledger.migrate();
    const [a, b] = [expectOk(await ledger.reserve(uploadInput())), expectOk(await ledger.reserve(uploadInput()))];
    const sent: string[] = [];
    const counted = createSqlLedger({
      ...driver,
      query: (sql, params) => {
        sent.push(sql);
        return driver.query(sql, params);
      },
      transaction: () => Promise.reject(new Error('no transaction expected')),
    });
    await counted.partsSigned(a.id, [{ partNumber: 1, md5: 'a' }], new Date(Date.now() + 7_200_000));
    await counted.complete(a.id, { size: 900, etag: '"a"' });
    await counted.complete(a.id, { size: 900, etag: '"again"' });
    await counted.release(b.id, 'aborted');
    expect(sent).toHaveLength(4);
    expect(await ledger.usage('alice', 'videos', a.period)).toEqual({ usedBytes: 900, reservedBytes: 0 });
    await driver.close();
  });
});

describe('reservations', () => {
  it('go as one statement when made in one turn of the event loop; alone when made alone', async () => {
    const driver = pgliteDriver(await memoryTemplate.clone());
    await createSqlLedger(driver).migrate();
    const sent: number[] = [];
    const counted = createSqlLedger({
      ...driver,
      query: (sql, params) => {
        if (sql.includes('dropgate_reserve')) sent.push(params?.length ?? 0);
        return driver.query(sql, params);
      },
    });
    const inputs = Array.from({ length: 6 }, (_, i) => uploadInput({ userId: `user${i % 3}` }));
    const results = await Promise.all(inputs.map((input) => counted.reserve(input)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(sent).toHaveLength(1);
    expectOk(await counted.reserve(uploadInput()));
    expect(sent).toHaveLength(2);
    // The first statement carried all six: six times the parameters of the single one.
    expect(sent[0]).toBe(6 * (sent[1] as number));
    await driver.close();
  });
});

describe('migrate', () => {
  const steps = [
    { version: 2, name: 'b', sql: 'ALTER TABLE t ADD COLUMN b int' },
    { version: 1, name: 'a', sql: 'CREATE TABLE t (a int); INSERT INTO t (a) VALUES (1);' },
  ];

  it('applies pending migrations in version order, once, even when started concurrently', async () => {
    const driver = pgliteDriver(await memoryTemplate.clone());
    const runs = await Promise.all([migrate(driver, steps), migrate(driver, steps)]);
    expect(runs.sort((x, y) => y.length - x.length)).toEqual([[1, 2], []]);
    expect(await migrate(driver, [...steps, { version: 3, name: 'c', sql: 'UPDATE t SET b = 2' }])).toEqual([3]);
    expect((await driver.query('SELECT a, b FROM t')).rows).toEqual([{ a: 1, b: 2 }]);
    expect((await driver.query('SELECT version, name FROM schema_migrations ORDER BY version')).rows).toEqual([
      { version: 1, name: 'a' },
      { version: 2, name: 'b' },
      { version: 3, name: 'c' },
    ]);
    await driver.close();
  });

  it('applies nothing when one migration fails', async () => {
    const driver = pgliteDriver(await memoryTemplate.clone());
    await expect(migrate(driver, [...steps, { version: 3, name: 'bad', sql: 'ALTER TABLE nope ADD COLUMN x int' }])).rejects.toThrow(
      /nope/,
    );
    expect((await driver.query("SELECT to_regclass('t') AS t, to_regclass('schema_migrations') AS m")).rows).toEqual([
      { t: null, m: null },
    ]);
    await driver.close();
  });
});
