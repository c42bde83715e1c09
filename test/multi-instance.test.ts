/**
 * Several stateless gateway processes on one PostgreSQL and one Redis, on loopback ports: quotas
 * and rate limits hold across them, an upload moves freely between them, a `kill -9` loses nothing,
 * and a ledger that cannot be reached answers 503 and comes back by itself.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteConfig } from '../src/server/config.js';
import { fileOf } from './helpers/harness.js';
import { type Instance, type InstanceEnv, startInstance } from './helpers/instance.js';
import { killMidTraffic, type LedgerTotals, ledgerTotals, sweepAsOf } from './helpers/multi-instance-checks.js';
import { createTestSchema, postgresProblem, redisProblem, requireService, TEST_REDIS_URL, type TestSchema } from './helpers/services.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { type ApiClient, apiClient, sha256, uploadThrough } from './helpers/traffic.js';

const available = (await requireService('PostgreSQL', postgresProblem)) && (await requireService('Redis', redisProblem));

const K = 37; // uploads of 1000 bytes the quota route's allowance fits
const N = 7; // signs per minute on the limited route
const open = { perUserPerMinute: 100_000, perIpPerMinute: 100_000 };
const ROUTES: Record<string, RouteConfig> = {
  default: { allowedTypes: ['video/*'], allowance: { bytes: '1GiB' }, rateLimit: open, maxPendingUploads: 1000 },
  quota: { allowedTypes: ['video/*'], allowance: { bytes: K * 1000 + 999 }, rateLimit: open, maxPendingUploads: 1000 },
  // Per IP stays open: every test call comes from 127.0.0.1, and reruns within the minute share Redis.
  limited: { allowedTypes: ['video/*'], rateLimit: { perUserPerMinute: N, perIpPerMinute: 100_000 } },
};

describe.skipIf(!available)('several gateway instances on one PostgreSQL and one Redis', () => {
  let schema: TestSchema;
  let env: InstanceEnv;
  let a: Instance;
  let b: Instance;
  const started: Instance[] = [];
  let proxy: TcpProxy | undefined;
  // Fresh user ids per run: Redis counters of an earlier run within the minute never interfere.
  const run = randomBytes(4).toString('hex');
  const users = ['quota', 'limited', 'mover', 'traffic', 'offline'] as const;
  const keys = Object.fromEntries(users.map((u) => [u, `key_${u}_${randomBytes(12).toString('hex')}`])) as Record<
    (typeof users)[number],
    string
  >;
  const userId = (u: (typeof users)[number]) => `${u}-${run}`;
  const api = (u: (typeof users)[number], targets: Instance[] = [a, b]): ApiClient => apiClient(targets, keys[u]);
  const totals = (u: (typeof users)[number]): Promise<LedgerTotals> => ledgerTotals(schema.url, userId(u));
  const launch = async (overrides: Partial<InstanceEnv> = {}) => {
    const instance = await startInstance({ env: { ...env, ...overrides } as InstanceEnv, routes: ROUTES });
    started.push(instance);
    return instance;
  };

  beforeAll(async () => {
    schema = await createTestSchema();
    env = {
      DATABASE_URL: schema.url,
      REDIS_URL: TEST_REDIS_URL,
      DROPGATE_API_KEYS: users.map((u) => `${keys[u]}:${userId(u)}`).join(','),
      DROPGATE_SECRET: randomBytes(32).toString('base64url'),
      DROPGATE_DATA_DIR: await mkdtemp(join(tmpdir(), 'dropgate-multi-')),
    };
    [a, b] = await Promise.all([launch(), launch()]); // both migrate at once: the advisory lock's case
  });
  afterAll(async () => {
    await Promise.allSettled(started.map((i) => i.stop()));
    await proxy?.close();
    await schema?.drop();
    if (env?.DROPGATE_DATA_DIR) await rm(env.DROPGATE_DATA_DIR, { recursive: true, force: true });
  });

  it(`grants exactly ${K} of 200 concurrent signs spread over both against one allowance`, async () => {
    const client = api('quota');
    const body = { size: 1000, contentType: 'video/mp4', route: 'quota' };
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => client.call(i % 2, 'POST', '/api/upload', { json: body })));
    const granted = answers.filter((r) => r.status === 200);
    expect(granted).toHaveLength(K);
    expect(
      answers.filter((r) => r.status !== 200 && (r.json.error as { code: string }).code !== 'QUOTA_EXCEEDED').map((r) => r.json),
    ).toEqual([]);
    // Each process answered its half. Which one wins how many is up to the race (usually both win
    // some); either way one process's refusals count the other's grants, or the total would be off.
    expect(answers.filter((r) => r.by === 0)).toHaveLength(100);
    expect(await totals('quota')).toMatchObject({ reservedBytes: K * 1000, pendingBytes: K * 1000, pending: K, pendingRows: K });
  });

  it(`holds a rate limit of ${N} per minute across both`, async () => {
    const client = api('limited');
    const body = { size: 1000, contentType: 'video/mp4', route: 'limited' };
    const answers = [];
    for (let i = 0; i < 3 * N; i++) answers.push(await client.call(i % 2, 'POST', '/api/upload', { json: body }));
    expect(answers.map((r) => r.status)).toEqual([...Array(N).fill(200), ...Array(2 * N).fill(429)]);
    expect(new Set(answers.slice(N).map((r) => r.by))).toEqual(new Set([0, 1]));
    for (const refused of answers.slice(N)) {
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
    expect((await totals('limited')).pendingRows).toBe(N);
  });

  it('completes on one instance an upload signed on the other, and reads it back from either', async () => {
    const client = api('mover');
    const bytes = fileOf('video/mp4', 4096);
    const upload = await uploadThrough(client, 0, bytes);
    expect(upload).toMatchObject({ result: 'completed', path: [0, 1, 0] });
    const again = await client.call(1, 'POST', `/api/upload/${upload.id}/complete`, { json: {} });
    expect(again).toMatchObject({ status: 200, by: 1, json: { file: { id: upload.id, size: 4096 } } });
    const listed = await client.call(1, 'GET', '/api/upload');
    expect((listed.json.files as { id: string }[]).map((f) => f.id)).toEqual([upload.id]);
    for (const via of [0, 1]) {
      const read = await client.call(via, 'GET', `/api/upload/files/${upload.id}`);
      expect(read.status).toBe(302);
      const object = await client.call(1 - via, 'GET', String(read.headers.get('location')));
      expect(object.status).toBe(200);
    }
    expect(await totals('mover')).toMatchObject({ usedBytes: 4096, completedBytes: 4096, reservedBytes: 0, pending: 0 });
  });

  it('answers 503 LEDGER_UNAVAILABLE while PostgreSQL is unreachable, signs nothing, and recovers by itself', async () => {
    const pgUrl = new URL(schema.url);
    proxy = await startTcpProxy(Number(pgUrl.port || 5432));
    pgUrl.hostname = '127.0.0.1';
    pgUrl.port = String(proxy.port);
    const c = await launch({ DATABASE_URL: pgUrl.toString() });
    const client = api('offline', [c]);
    const body = { size: 1000, contentType: 'video/mp4' };
    expect((await client.call(0, 'POST', '/api/upload', { json: body })).status).toBe(200);

    await proxy.set('down');
    for (let i = 0; i < 3; i++) {
      const startedAt = performance.now();
      const refused = await client.call(0, 'POST', '/api/upload', { json: body });
      expect(refused).toMatchObject({ status: 503, json: { error: { code: 'LEDGER_UNAVAILABLE' } } });
      expect(refused.json).not.toHaveProperty('presignedUrl');
      expect(performance.now() - startedAt).toBeLessThan(2000);
    }
    expect((await totals('offline')).pendingRows).toBe(1);

    await proxy.set('up');
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (status !== 200 && Date.now() < deadline) {
      status = (await client.call(0, 'POST', '/api/upload', { json: body })).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status).toBe(200);
    expect(await totals('offline')).toMatchObject({ pendingRows: 2, reservedBytes: 2000, pending: 2 });
    expect(c.output()).not.toMatch(/uncaught|unhandled/i);
  });

  it('keeps serving through a kill -9 of one instance, losing nothing, with exact quotas', { timeout: 90_000 }, async () => {
    const client = api('traffic');
    const report = await killMidTraffic({ client, victim: a, killAfter: 20, uploadsAfterKill: 40, workers: 8 });
    expect(report.errors).toEqual([]);
    expect(report.completedAfterKill).toBeGreaterThanOrEqual(40);
    expect(client.unreachable[1]).toBe(0); // the survivor never failed to answer
    expect(client.unreachable[0]).toBeGreaterThan(0); // and traffic did hit the dead one

    // Every upload the client saw completed is there, byte for byte, read through the survivor.
    const completed = report.outcomes.filter((o) => o.result === 'completed');
    for (const upload of completed) {
      const read = await client.call(1, 'GET', `/api/upload/files/${upload.id}`);
      const object = await fetch(String(read.headers.get('location')), { signal: AbortSignal.timeout(10_000) });
      expect(sha256(new Uint8Array(await object.arrayBuffer()))).toBe(upload.sha256);
    }
    // Right after the kill the counters already match the rows, in-flight casualties included.
    const after = await totals('traffic');
    const completedBytes = completed.reduce((sum, o) => sum + o.size, 0);
    expect(after).toMatchObject({
      usedBytes: completedBytes,
      completedBytes,
      reservedBytes: after.pendingBytes,
      pending: after.pendingRows,
    });

    // The killed instance restarts and serves; the sweeper releases what the kill left pending.
    const restarted = await launch();
    expect((await uploadThrough(apiClient([restarted], keys.traffic), 0, fileOf('video/mp4', 777))).result).toBe('completed');
    expect((await sweepAsOf(schema, env, new Date(Date.now() + 2 * 86_400_000), ROUTES)).failed).toBe(0);
    expect(await totals('traffic')).toEqual({
      usedBytes: completedBytes + 777,
      completedBytes: completedBytes + 777,
      reservedBytes: 0,
      pendingBytes: 0,
      pending: 0,
      pendingRows: 0,
    });
  });
});
