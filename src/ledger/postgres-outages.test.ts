/**
 * The PostgreSQL ledger when the server cannot be reached: it fails closed fast (nothing listening,
 * a server that hangs, connections cut, a transaction cut midway), then recovers without a restart.
 * The server is reached through a loopback TCP proxy the tests turn down, up or into a black hole.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { postgresProblem, requireService, TEST_DATABASE_URL, type TestSchema } from '../../test/helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../../test/helpers/tcp-proxy.js';
import { expectOk, uploadInput } from './ledger-fixtures.contract.js';
import { createPostgresLedger, type PostgresLedgerOptions } from './postgres.js';
import { cleanups, closeOpened, instance, schema } from './postgres-fixtures.contract.js';

const available = await requireService('PostgreSQL', postgresProblem);

afterEach(closeOpened);

describe.skipIf(!available)('PostgreSQL ledger when the server cannot be reached', () => {
  let proxy: TcpProxy;
  beforeAll(async () => {
    proxy = await startTcpProxy(new URL(TEST_DATABASE_URL).port ? Number(new URL(TEST_DATABASE_URL).port) : 5432);
  });
  afterAll(() => proxy?.close());

  const viaProxy = (s: TestSchema, options: Partial<PostgresLedgerOptions> = {}) => {
    const url = new URL(TEST_DATABASE_URL);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    return instance(s, { connectionString: url.toString(), connectionTimeoutMillis: 1000, ...options });
  };
  /** How a call ended and how long it took. */
  const timed = async (promise: Promise<unknown>): Promise<{ error?: unknown; ms: number }> => {
    const started = performance.now();
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e ?? new Error('rejected without a reason'),
    );
    return error === undefined ? { ms: performance.now() - started } : { error, ms: performance.now() - started };
  };

  it('answers LEDGER_UNAVAILABLE at once when nothing listens', async () => {
    const ledger = createPostgresLedger({ connectionString: 'postgres://postgres@127.0.0.1:1/test' });
    cleanups.push(() => ledger.close());
    const { error, ms } = await timed(ledger.reserve(uploadInput()));
    expect(error).toMatchObject({ code: 'LEDGER_UNAVAILABLE', status: 503 });
    expect(ms).toBeLessThan(1000);
  });

  it('answers LEDGER_UNAVAILABLE within its timeouts when the server hangs', async () => {
    const s = await schema();
    const { ledger, pool } = viaProxy(s, { max: 1, connectionTimeoutMillis: 500, queryTimeoutMillis: 700 });
    await ledger.migrate(); // one open connection, which now stops answering mid-conversation
    await proxy.set('blackhole');
    try {
      const stalled = await timed(ledger.reserve(uploadInput()));
      expect(stalled.error).toMatchObject({ code: 'LEDGER_UNAVAILABLE' });
      expect(stalled.ms).toBeGreaterThanOrEqual(650);
      expect(stalled.ms).toBeLessThan(2500);
      expect(pool.totalCount).toBe(0); // the stalled connection was destroyed, not pooled again
      const connecting = await timed(ledger.usage('alice', 'videos', '2026-11-24'));
      expect(connecting.error).toMatchObject({ code: 'LEDGER_UNAVAILABLE' });
      expect(connecting.ms).toBeGreaterThanOrEqual(450);
      expect(connecting.ms).toBeLessThan(2500);
    } finally {
      await proxy.set('up');
    }
    expectOk(await ledger.reserve(uploadInput()));
  });

  it('survives its connections being cut, fails closed while down, and recovers by itself', async () => {
    const s = await schema();
    const idleErrors: Error[] = [];
    const { ledger, pool } = viaProxy(s, { max: 4, onIdleError: (e) => idleErrors.push(e) });
    await ledger.migrate();
    const before = expectOk(await ledger.reserve(uploadInput()));
    await Promise.all(Array.from({ length: 4 }, () => ledger.usage('alice', 'videos', '2026-11-24')));
    expect(pool.idleCount).toBeGreaterThan(0);

    await proxy.set('down'); // idle connections are cut: the pool must not crash the process
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(idleErrors.length).toBeGreaterThan(0);
    const calls = [
      () => ledger.reserve(uploadInput()),
      () => ledger.getUpload(before.id),
      () => ledger.complete(before.id, { size: 1000, etag: '"x"' }),
    ];
    for (const call of calls) {
      const { error, ms } = await timed(call());
      expect(error).toMatchObject({ code: 'LEDGER_UNAVAILABLE', status: 503 });
      expect(ms).toBeLessThan(1500);
    }

    await proxy.set('up');
    expectOk(await ledger.reserve(uploadInput()));
    expect(await ledger.getUpload(before.id)).toMatchObject({ status: 'pending' });
    expect(await ledger.usage('alice', 'videos', '2026-11-24')).toEqual({ usedBytes: 0, reservedBytes: 2000 });
  });

  it('rolls back and drops a connection cut in the middle of a transaction', async () => {
    const s = await schema();
    const { ledger, driver } = viaProxy(s, { max: 1 });
    await ledger.migrate();
    const attempt = driver.transaction(async (tx) => {
      await tx.query("INSERT INTO pending_counts (user_id, route, pending) VALUES ('zed', 'videos', 5)");
      await proxy.set('down');
      await tx.query('SELECT 1');
    });
    await expect(attempt).rejects.toSatisfy((e: unknown) => e instanceof Error);
    await proxy.set('up');
    // The only connection was destroyed, not reused; nothing of the transaction was kept.
    expect(await ledger.pendingCount('zed', 'videos')).toBe(0);
  });
});
