/**
 * Rate limits on the real Redis: one budget across instances (each with its own client, as two
 * processes would have), a sane Retry-After, and a fast 503 with nothing signed while Redis cannot
 * be reached, recovering by itself.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../test/helpers/harness.js';
import { redisProblem, requireService, TEST_REDIS_URL } from '../../test/helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../../test/helpers/tcp-proxy.js';
import { DropgateError } from '../shared/errors.js';
import type { RateLimiterFactory } from './config.js';
import { consume, consumeBoth } from './rate-limit.js';
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

  it('sends the points of concurrent requests in one command, exactly as many as asked', async () => {
    const redis = await ready(client());
    const commands: string[] = [];
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
      commands.push(command.name);
      return (send as (...args: unknown[]) => unknown)(command, ...rest);
    }) as typeof redis.sendCommand;
    const factory = redisRateLimiter(redis, { namespace: namespace() });
    const limiters = {
      perIp: factory({ keyPrefix: 'dropgate:sign:ip:default', points: 30, duration: 60 }),
      perUser: factory({ keyPrefix: 'dropgate:sign:user:default', points: 1000, duration: 60 }),
    };
    // 40 requests from one IP at once, each user's first: the IP's budget of 30 lets 30 through.
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        consumeBoth(limiters, '203.0.113.9', `user-${i}`).then(
          () => 'ok',
          (e: DropgateError) => e.code,
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(30);
    expect(outcomes.filter((o) => o === 'RATE_LIMITED')).toHaveLength(10);
    // 80 points (40 IP, 40 user) in one or two script calls, where there were 80 commands.
    expect(commands.length).toBeGreaterThanOrEqual(1);
    expect(commands.length).toBeLessThanOrEqual(2);
    expect(await limiters.perIp.get('203.0.113.9')).toMatchObject({ consumedPoints: 40 });
    expect(await limiters.perUser.get('user-7')).toMatchObject({ consumedPoints: 1 });

    // More than one call holds (128 keys): 300 at once against 250 points, over three calls.
    commands.length = 0;
    const many = await Promise.all(Array.from({ length: 300 }, () => attempt(factory, 'mallory', 250)));
    expect(many.filter((o) => o.error === undefined)).toHaveLength(250);
    expect(many.filter((o) => o.error?.code === 'RATE_LIMITED')).toHaveLength(50);
    expect(commands.length).toBeGreaterThanOrEqual(3);
    expect(commands.length).toBeLessThanOrEqual(4);
  });

  it('gives each key of one batch its own window, whether the batch shares one or not', async () => {
    const redis = await ready(client());
    const ns = namespace();
    const factory = redisRateLimiter(redis, { namespace: ns });
    const minute = factory({ keyPrefix: 'minute', points: 5, duration: 60 });
    const hour = factory({ keyPrefix: 'hour', points: 5, duration: 3600 });
    // Mixed windows in one batch (one event-loop turn): each counter gets the expiry of its own.
    await Promise.all([minute.consume('a'), hour.consume('a'), minute.consume('b'), hour.consume('a')]);
    // One window for the whole batch.
    await Promise.all([minute.consume('c'), minute.consume('c'), minute.consume('d')]);
    const ttl = async (key: string) => redis.pttl(`${ns}:${key}`);
    for (const key of ['minute:a', 'minute:b', 'minute:c', 'minute:d']) {
      expect(await ttl(key), key).toBeGreaterThan(55_000);
      expect(await ttl(key), key).toBeLessThanOrEqual(60_000);
    }
    expect(await ttl('hour:a')).toBeGreaterThan(3_590_000);
    expect(await minute.get('a')).toMatchObject({ consumedPoints: 1 });
    expect(await hour.get('a')).toMatchObject({ consumedPoints: 2 });
    expect(await minute.get('c')).toMatchObject({ consumedPoints: 2 });
    expect(await minute.get('d')).toMatchObject({ consumedPoints: 1 });
  });

  it("counts in the same counters as rate-limiter-flexible's own RateLimiterRedis", async () => {
    const redis = await ready(client());
    const ns = namespace();
    const options = { storeClient: redis, keyPrefix: `${ns}:dropgate:sign:user:default`, points: 5, duration: 60 };
    const plain = new RateLimiterRedis(options);
    for (let i = 0; i < 3; i++) await plain.consume('alice');
    const factory = redisRateLimiter(redis, { namespace: ns });
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push(await attempt(factory, 'alice', 5));
    expect(outcomes.map((o) => o.error?.code ?? 'ok')).toEqual(['ok', 'ok', 'RATE_LIMITED']);
    expect(outcomes[2]?.error?.details.retryAfter).toBeGreaterThanOrEqual(55);
    // And the other way round: the library reads what the batches counted, expiry included.
    const res = await plain.get('alice');
    expect(res?.consumedPoints).toBe(6);
    expect(res?.msBeforeNext).toBeGreaterThan(55_000);
    expect(res?.msBeforeNext).toBeLessThanOrEqual(60_000);
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
    // The limiters' batch call is written at once, not held for the next auto-pipeline.
    expect(redis?.options.autoPipeliningIgnoredCommands).toEqual(['dropgateConsumeMany']);
    redis?.disconnect();
    const own = createRedisClient('redis://127.0.0.1:1', { lazyConnect: true, autoPipeliningIgnoredCommands: ['get'] });
    expect(own.options.autoPipeliningIgnoredCommands).toEqual(['dropgateConsumeMany', 'get']);
    own.disconnect();
  });
});
