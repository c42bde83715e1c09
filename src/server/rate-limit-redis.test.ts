/**
 * Rate limits on the real Redis: one budget across instances (each with its own client, as two
 * processes would have), a sane Retry-After, and a fast 503 with nothing signed while Redis cannot
 * be reached, recovering by itself.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../test/helpers/harness.js';
import { redisProblem, requireService, TEST_REDIS_URL } from '../../test/helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../../test/helpers/tcp-proxy.js';
import { DropgateError } from '../shared/errors.js';
import type { RateLimiterFactory } from './config.js';
import { consume } from './rate-limit.js';
import { createRedisClient, redisFromEnv, redisRateLimiter } from './rate-limit-redis.js';

const available = await requireService('Redis', redisProblem);

const opened: { quit(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const x of opened.splice(0)) await x.quit().catch(() => {});
});

function client(url = TEST_REDIS_URL): Redis {
  const redis = createRedisClient(url);
  opened.push({ quit: () => redis.quit().catch(() => redis.disconnect()) });
  return redis;
}

async function ready(redis: Redis): Promise<Redis> {
  if (redis.status !== 'ready') await new Promise((resolve, reject) => redis.once('ready', resolve).once('end', reject));
  return redis;
}

/** Counters under a fresh namespace, so reruns within the minute never see old counts. */
const namespace = () => `dropgate-test-${randomBytes(6).toString('hex')}`;

/** How `consume` ended: passed, or the DropgateError it threw, and how long it took. */
async function attempt(factory: RateLimiterFactory, key: string, points = 5) {
  const limiter = factory({ keyPrefix: 'dropgate:sign:user:default', points, duration: 60 });
  const started = performance.now();
  const error = await consume(limiter, key, 'user').then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error: error as DropgateError | undefined, ms: performance.now() - started };
}

describe.skipIf(!available)('redisRateLimiter on Redis', () => {
  it('holds one limit across two instances, sequentially and under a burst', async () => {
    const ns = namespace();
    const a = redisRateLimiter(await ready(client()), { namespace: ns });
    const b = redisRateLimiter(await ready(client()), { namespace: ns });
    const outcomes = [];
    for (let i = 0; i < 10; i++) outcomes.push(await attempt(i % 2 ? a : b, 'alice', 5));
    expect(outcomes.map((o) => o.error?.code ?? 'ok')).toEqual([...Array(5).fill('ok'), ...Array(5).fill('RATE_LIMITED')]);
    for (const { error } of outcomes.slice(5)) {
      expect(error?.status).toBe(429);
      const retryAfter = error?.details.retryAfter as number;
      expect(retryAfter).toBeGreaterThanOrEqual(55);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }

    // 60 at once over both instances against 17 points: exactly 17 pass.
    const burst = await Promise.all(Array.from({ length: 60 }, (_, i) => attempt(i % 2 ? a : b, 'bob', 17)));
    expect(burst.filter((o) => o.error === undefined)).toHaveLength(17);
    expect(burst.every((o) => o.error === undefined || o.error.code === 'RATE_LIMITED')).toBe(true);

    // Another namespace is another budget; so is another key.
    expect((await attempt(redisRateLimiter(await ready(client()), { namespace: namespace() }), 'alice')).error).toBeUndefined();
    expect((await attempt(a, 'carol')).error).toBeUndefined();
  });

  it('answers 429 with Retry-After through the gateway, signing nothing', async () => {
    const harness: Harness = await createHarness({
      rateLimiter: redisRateLimiter(await ready(client()), { namespace: namespace() }),
      routes: { default: { rateLimit: { perUserPerMinute: 2 } } },
    });
    opened.push({ quit: () => harness.close() });
    const body = { size: 10, contentType: 'video/mp4' };
    expect((await harness.sign(body)).status).toBe(200);
    expect((await harness.sign(body)).status).toBe(200);
    const refused = await harness.call('POST', '/api/upload', { json: body, user: 'alice' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(55);
    expect(await harness.ledger.pendingCount('alice', 'default')).toBe(2);
  });
});

describe.skipIf(!available)('redisRateLimiter when Redis cannot be reached', () => {
  let proxy: TcpProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  it('answers 503 SERVICE_UNAVAILABLE at once when nothing listens', async () => {
    const factory = redisRateLimiter(client('redis://127.0.0.1:1'));
    for (let i = 0; i < 3; i++) {
      const { error, ms } = await attempt(factory, 'alice');
      expect(error).toBeInstanceOf(DropgateError);
      expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
      expect(ms).toBeLessThan(100);
    }
  });

  it('fails closed fast while Redis is down or hung, nothing signed, and recovers by itself', async () => {
    proxy = await startTcpProxy(Number(new URL(TEST_REDIS_URL).port || 6379));
    const redis = await ready(client(`redis://127.0.0.1:${proxy.port}`));
    const harness = await createHarness({ rateLimiter: redisRateLimiter(redis, { namespace: namespace() }) });
    opened.push({ quit: () => harness.close() });
    const body = { size: 10, contentType: 'video/mp4' };
    expect((await harness.sign(body)).status).toBe(200);

    // blackhole first: the open connection stalls (command timeout); down: refused (not ready).
    for (const mode of ['blackhole', 'down'] as const) {
      await proxy.set(mode);
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const refused = await harness.sign(body);
        expect(refused).toMatchObject({ status: 503, json: { error: { code: 'SERVICE_UNAVAILABLE' } } });
        expect(performance.now() - started).toBeLessThan(1500);
      }
    }
    expect(await harness.ledger.pendingCount('alice', 'default')).toBe(1);

    await proxy.set('up');
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = (await harness.sign(body)).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
    expect(await harness.ledger.pendingCount('alice', 'default')).toBe(2);
  });
});

describe('redisFromEnv', () => {
  it('is a client when REDIS_URL is set, and nothing otherwise', async () => {
    expect(redisFromEnv({})).toBeUndefined();
    expect(redisFromEnv({ REDIS_URL: ' ' })).toBeUndefined();
    const redis = redisFromEnv({ REDIS_URL: 'redis://127.0.0.1:1' }, { lazyConnect: true });
    expect(redis?.options).toMatchObject({ port: 1, enableOfflineQueue: false, commandTimeout: 1000, enableAutoPipelining: true });
    redis?.disconnect();
  });
});
