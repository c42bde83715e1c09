/**
 * Issue 6, attack 8: a burst of ten times the sign limit, all at once. Exactly the limit gets
 * through, every other request hears 429 RATE_LIMITED with a usable Retry-After, and nothing is
 * reserved for them. Forged X-Forwarded-For headers buy no fresh budget.
 *
 * The same bursts run on in-memory counters and on Redis (each stack a namespace of its own);
 * with Redis, a burst split over two gateway instances still lets exactly the limit through. Two
 * processes sharing them is test/multi-instance's job.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { RateLimiterFactory } from '../../src/server/config.js';
import { createDropgate } from '../../src/server/gateway.js';
import { memoryRateLimiter } from '../../src/server/rate-limit.js';
import { createRedisClient, redisRateLimiter } from '../../src/server/rate-limit-redis.js';
import { gatewayRequest } from '../helpers/requests.js';
import { redisProblem, requireService, TEST_REDIS_URL } from '../helpers/services.js';
import { type Live, send, startLive } from './live.js';
import { codeOf, expectLedger, newUser, STACKS } from './stack.js';

const LIMIT = 5;
const clients: Redis[] = [];
afterAll(() => Promise.all(clients.map((c) => c.quit())));
/** Redis counters in a namespace of their own, on a client of their own (one per gateway instance). */
const redisIn = async (namespace: string): Promise<RateLimiterFactory> => {
  const client = createRedisClient(TEST_REDIS_URL);
  clients.push(client);
  // The limiter refuses (503) until its client is connected: a fresh instance waits for that.
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  return redisRateLimiter(client, { namespace });
};
/** `make(namespace)` gives a gateway its counters; instances given the same namespace share them. */
const LIMITERS: { name: string; shared: boolean; make: (namespace: string) => Promise<RateLimiterFactory> | RateLimiterFactory }[] = [
  { name: 'memory', shared: false, make: () => memoryRateLimiter },
  ...((await requireService('Redis', redisProblem)) ? [{ name: 'Redis', shared: true, make: redisIn }] : []),
];
const png = { size: 100, contentType: 'image/png' };

describe.each(STACKS)('rate-limit bursts on $name', (stackFactory) => {
  describe.each(LIMITERS)('with $name counters', ({ make, shared }) => {
    let namespace = '';
    const create = async (perUserPerMinute: number, perIpPerMinute: number, trustProxy = false) => {
      namespace = `dropgate-test-${randomUUID()}`;
      return stackFactory.create({
        rateLimiter: await make(namespace),
        trustProxy,
        routes: { default: { rateLimit: { perUserPerMinute, perIpPerMinute } } },
      });
    };

    // Only shared counters can hold a limit across instances; in-memory ones are per instance by design.
    const itShared = shared ? it : () => undefined;
    itShared('lets exactly the per-user limit through a burst split over two gateway instances', async () => {
      const s = await create(LIMIT, 1000);
      try {
        // A second instance: same storage and ledger, its own Redis client, the same counters.
        const other = createDropgate({
          storage: s.storage,
          ledger: s.ledger,
          publicUrl: 'http://localhost:3000',
          authenticate: (req) => ({ userId: req.header('x-test-user') ?? '' }),
          rateLimiter: await make(namespace),
          routes: { default: { rateLimit: { perUserPerMinute: LIMIT, perIpPerMinute: 1000 } } },
          now: () => s.clock.now,
          log: () => {},
        });
        const user = newUser();
        const answers = await Promise.all(
          Array.from({ length: 10 * LIMIT }, (_, i) =>
            (i % 2 ? other : s.gateway).handle(gatewayRequest('POST', '/api/upload', { json: png, headers: { 'x-test-user': user } })),
          ),
        );
        expect(answers.filter((a) => a.status === 200)).toHaveLength(LIMIT);
        expect(answers.filter((a) => a.status === 429)).toHaveLength(9 * LIMIT);
        await expectLedger(s, user, { usedBytes: 0, reservedBytes: LIMIT * png.size, pending: LIMIT });
      } finally {
        await s.close();
      }
    });

    it('lets exactly the per-user limit through a burst of 10x, with Retry-After on every refusal', async () => {
      const s = await create(LIMIT, 1000);
      try {
        const user = newUser();
        const answers = await Promise.all(Array.from({ length: 10 * LIMIT }, () => s.call('POST', '/api/upload', { json: png, user })));
        expect(answers.filter((a) => a.status === 200)).toHaveLength(LIMIT);
        for (const refused of answers.filter((a) => a.status !== 200)) {
          expect(refused.status).toBe(429);
          const error = JSON.parse(String(refused.body)).error;
          expect(error.code).toBe('RATE_LIMITED');
          const retryAfter = Number(refused.headers['retry-after']);
          expect(retryAfter).toBeGreaterThanOrEqual(1);
          expect(retryAfter).toBeLessThanOrEqual(60);
          expect(error.retryAfter).toBe(retryAfter);
        }
        await expectLedger(s, user, { usedBytes: 0, reservedBytes: LIMIT * png.size, pending: LIMIT });
        // Another user is not held back by this one's burst.
        expect((await s.sign(png, newUser())).status).toBe(200);
      } finally {
        await s.close();
      }
    });

    it('holds the per-IP limit across many users from one address', async () => {
      const s = await create(1000, LIMIT);
      try {
        const users = Array.from({ length: 10 * LIMIT }, () => newUser());
        const answers = await Promise.all(users.map((user) => s.call('POST', '/api/upload', { json: png, user, ip: '203.0.113.7' })));
        expect(answers.filter((a) => a.status === 200)).toHaveLength(LIMIT);
        expect(answers.filter((a) => a.status === 429)).toHaveLength(9 * LIMIT);
        expect((await s.call('POST', '/api/upload', { json: png, user: newUser(), ip: '203.0.113.8' })).status).toBe(200);
      } finally {
        await s.close();
      }
    });

    it.each([
      ['not trusted', false],
      ['trusted (only the entry the proxy appended counts)', true],
    ])('gives no fresh budget for forged X-Forwarded-For when the proxy is %s', async (_, trustProxy) => {
      const s = await create(1000, LIMIT, trustProxy);
      try {
        const answers = await Promise.all(
          Array.from({ length: 10 * LIMIT }, (_, i) =>
            s.call('POST', '/api/upload', {
              json: png,
              user: newUser(),
              ip: '10.0.0.2',
              // A client writes anything it likes here; a trusted proxy appends the real address last.
              headers: { 'x-forwarded-for': trustProxy ? `198.51.100.${i}, 203.0.113.9` : `198.51.100.${i}` },
            }),
          ),
        );
        expect(answers.filter((a) => a.status === 200)).toHaveLength(LIMIT);
      } finally {
        await s.close();
      }
    });
  });
});

describe('rate limits over real HTTP on `dropgate dev`', () => {
  it('answers a burst with 429 and a Retry-After header a browser on an allowed origin can read', async () => {
    const live: Live = await startLive({ routes: { default: { visibility: 'public', rateLimit: { perUserPerMinute: 3 } } } });
    try {
      const origin = live.url;
      const answers = await Promise.all(Array.from({ length: 30 }, () => live.sign(png, { origin })));
      expect(answers.filter((a) => a.status === 200)).toHaveLength(3);
      const refused = answers.filter((a) => a.status === 429);
      expect(refused).toHaveLength(27);
      for (const answer of refused) {
        expect(codeOf(answer.json)).toBe('RATE_LIMITED');
        expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(answer.headers['access-control-expose-headers']).toContain('retry-after');
      }
      expect(await live.ledgerOf()).toEqual({ usedBytes: 0, reservedBytes: 300, pending: 3 });
      // The refusals cost the server nothing lasting: it still answers.
      expect((await send(live.endpoint, 'GET')).status).toBe(200);
    } finally {
      await live.stop();
    }
  });
});
