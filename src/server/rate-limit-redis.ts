/**
 * Sign-rate limits in Redis, so that N gateway instances share one budget per user and per IP.
 *
 * Fails closed: when Redis cannot be reached, `consume()` (rate-limit.ts) turns the store's error
 * into 503 SERVICE_UNAVAILABLE and nothing is signed. A per-instance memory fallback was rejected
 * on purpose: each instance would grant the full limit, so N instances would let N times the limit
 * through exactly when nobody is watching. To make "fails closed" also mean "answers fast", the
 * client never queues commands while disconnected and gives up on a command after a second, and it
 * keeps reconnecting in the background, so limits work again as soon as Redis is back.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { RateLimiterFactory } from './config.js';

/** Client settings that make a Redis outage a fast 503 instead of a hanging request. */
export const FAIL_FAST_REDIS_OPTIONS: RedisOptions = {
  // Without a connection a command fails at once instead of waiting in a queue for a reconnect.
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  // A Redis that accepts the connection but does not answer (overloaded, half-open link).
  commandTimeout: 1000,
  connectTimeout: 2000,
  // Reconnect forever, at most a second apart, so service resumes soon after Redis returns.
  retryStrategy: (times) => Math.min(times * 100, 1000),
};

/**
 * A Redis client for rate limits (`redis://[:password@]host:6379[/db]`, `rediss://` for TLS), with
 * `FAIL_FAST_REDIS_OPTIONS` and auto-pipelining. Its 'error' events are passed to `onError` (default: ignored), since
 * each failed command already answers 503 and the client reconnects by itself.
 * @example
 * const redis = createRedisClient(process.env.REDIS_URL!);
 * createDropgate({ ...options, rateLimiter: redisRateLimiter(redis) });
 * // on shutdown: await redis.quit();
 */
export function createRedisClient(url: string, options: RedisOptions & { onError?: (error: Error) => void } = {}): Redis {
  const { onError, ...rest } = options;
  // Auto-pipelining sends the commands made in one event-loop turn as one write: under load the
  // limiter's round trips of many concurrent sign requests share a write and a read.
  const client = new Redis(url, { ...FAIL_FAST_REDIS_OPTIONS, enableAutoPipelining: true, ...rest });
  // ioredis emits 'error' on every failed reconnect; a listener keeps them from being printed as unhandled.
  client.on('error', onError ?? (() => {}));
  return client;
}

/**
 * The Redis client the environment asks for (`REDIS_URL`), or undefined for in-memory limits.
 * @example const redis = redisFromEnv(process.env); const rateLimiter = redis && redisRateLimiter(redis);
 */
export function redisFromEnv(env: Record<string, string | undefined>, options: Parameters<typeof createRedisClient>[1] = {}) {
  const url = env.REDIS_URL?.trim();
  return url ? createRedisClient(url, options) : undefined;
}

export interface RedisRateLimiterOptions {
  /**
   * Prepended to every counter key, to keep apart deployments or environments sharing one Redis.
   * Instances that must share limits must use the same namespace. Default: none.
   */
  namespace?: string;
}

/**
 * A `RateLimiterFactory` keeping counters in Redis. Give every instance its own client on the
 * same Redis; counters are updated atomically by a Lua script, so limits hold across instances.
 * Prefer a client from `createRedisClient` (fast failure); with another client, set
 * `enableOfflineQueue: false` yourself or requests wait while Redis is away.
 * @example
 * const gateway = createDropgate({ storage, ledger, authenticate, rateLimiter: redisRateLimiter(createRedisClient(url)) });
 */
export function redisRateLimiter(client: Redis, options: RedisRateLimiterOptions = {}): RateLimiterFactory {
  const namespace = options.namespace ? `${options.namespace}:` : '';
  return ({ keyPrefix, points, duration }) =>
    new RateLimiterRedis({
      storeClient: client,
      keyPrefix: `${namespace}${keyPrefix}`,
      points,
      duration,
      // Not connected: refuse at once (→ 503) rather than send a command into a dead connection.
      rejectIfRedisNotReady: true,
    });
}
