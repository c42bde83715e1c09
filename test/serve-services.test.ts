/**
 * `dropgate serve` on the real PostgreSQL and Redis of DESIGN.md: the ledger and the limits are
 * wired from DATABASE_URL and REDIS_URL, `/healthz` names the dependency that is down (Redis
 * behind a TCP proxy that the test switches off), and SIGTERM still closes both pools and exits 0.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, type ServeProcess, startServeProcess } from './helpers/serve-process.js';
import {
  adminQuery,
  createTestSchema,
  postgresProblem,
  redisProblem,
  requireService,
  TEST_REDIS_URL,
  type TestSchema,
} from './helpers/services.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

const available = (await requireService('PostgreSQL', postgresProblem)) && (await requireService('Redis', redisProblem));
const KEY = 'k_services_5Tq0wLx2Mv8Rb3Nc';
// Redis counters outlive a run (and another run may share the server): a user of this run's own.
const USER = `services-user-${randomUUID().slice(0, 8)}`;

describe.skipIf(!available)('dropgate serve on PostgreSQL and Redis', () => {
  let schema: TestSchema;
  let redisProxy: TcpProxy;
  let serve: ServeProcess;
  let dataDir: string;

  beforeAll(async () => {
    await ensureBuilt();
    schema = await createTestSchema();
    redisProxy = await startTcpProxy(Number(new URL(TEST_REDIS_URL).port || 6379), new URL(TEST_REDIS_URL).hostname);
    dataDir = await mkdtemp(join(tmpdir(), 'dropgate-serve-services-'));
    serve = await startServeProcess({
      cwd: dataDir,
      env: {
        DATABASE_URL: schema.url,
        REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
        DROPGATE_API_KEYS: `${KEY}:${USER}`,
        DROPGATE_DATA_DIR: join(dataDir, 'data'),
      },
    });
  }, 120_000);
  afterAll(async () => {
    await serve?.stop();
    await redisProxy?.close();
    await schema?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const health = async () => {
    const response = await fetch(`${serve.url}/healthz`);
    return { status: response.status, body: (await response.json()) as { checks: Record<string, { ok: boolean; error?: string }> } };
  };
  const sign = () =>
    fetch(`${serve.url}/api/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ size: 100, contentType: 'video/mp4' }),
    });

  it('keeps its uploads in PostgreSQL and reports ledger, storage and Redis healthy', async () => {
    const { status, body } = await health();
    expect(status).toBe(200);
    expect(Object.keys(body.checks).sort()).toEqual(['ledger', 'redis', 'storage']);
    const signed = await sign();
    expect(signed.status).toBe(200);
    const { uploadId } = (await signed.json()) as { uploadId: string };
    const rows = await adminQuery(schema.url, 'SELECT user_id, status FROM uploads WHERE id = $1', [uploadId]);
    expect(rows).toEqual([{ user_id: USER, status: 'pending' }]);
    expect(serve.stdout()).toMatch(/"ledger":"postgresql","rateLimits":"redis"/);
  });

  it('answers 503 naming Redis while it is away, and 200 again once it is back', async () => {
    await redisProxy.set('down');
    const down = await health();
    expect(down.status).toBe(503);
    expect(down.body.checks.redis?.ok).toBe(false);
    expect(down.body.checks.ledger?.ok).toBe(true);
    expect((await sign()).status).toBe(503); // fail closed: nothing signed without the shared limits
    expect((await fetch(`${serve.url}/readyz`)).status).toBe(200); // alive and migrated: not a reason to restart

    await redisProxy.set('up');
    const deadline = Date.now() + 10_000;
    while ((await health()).status !== 200 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await health()).status).toBe(200);
    expect((await sign()).status).toBe(200);
  }, 30_000);

  it('closes the PostgreSQL pool and the Redis client on SIGTERM and exits 0', async () => {
    expect(await serve.stop(10_000)).toBe(0);
    expect(serve.stdout()).toMatch(/"msg":"stopped"/);
  });
});
