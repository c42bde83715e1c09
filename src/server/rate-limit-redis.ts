/**
 * Sign-rate limits in Redis, so that N gateway instances share one budget per user and per IP.
 *
 * Fails closed: when Redis cannot be reached, `consume()` (rate-limit.ts) turns the store's error
 * into 503 SERVICE_UNAVAILABLE and nothing is signed. A per-instance memory fallback was rejected
 * on purpose: each instance would grant the full limit, so N instances would let N times the limit
 * through exactly when nobody is watching. To make "fails closed" also mean "answers fast", the
 * client never queues commands while disconnected and gives up on a command after a second, and it
 * keeps reconnecting in the background, so limits work again as soon as Redis is back.
 *
 * Under load, the points of many requests go to Redis in one script call (see `ConsumeBatcher`):
 * two commands per sign request, each with its own write to Redis and its own reply to parse, cost
 * the gateway more CPU than the rest of the request.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { RateLimiterRedis, type RateLimiterRes } from 'rate-limiter-flexible';
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

/** The script command the limiters' batches go out as (see `ConsumeBatcher`). */
const CONSUME_COMMAND = 'dropgateConsumeMany';

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
  // Auto-pipelining sends the commands made in one event-loop turn as one write. The limiters'
  // batch call is left out: it is one command already, and going through a pipeline would cost
  // a pipeline object and wait for setImmediate before it is written.
  const client = new Redis(url, {
    ...FAIL_FAST_REDIS_OPTIONS,
    enableAutoPipelining: true,
    ...rest,
    autoPipeliningIgnoredCommands: [CONSUME_COMMAND, ...(rest.autoPipeliningIgnoredCommands ?? [])],
  });
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
 * `enableOfflineQueue: false` yourself or requests wait while Redis is away. The points taken
 * while a call is in flight go together in one script call over several keys, so the client
 * must talk to one Redis (a primary, or Sentinel), not a Redis Cluster.
 * @example
 * const gateway = createDropgate({ storage, ledger, authenticate, rateLimiter: redisRateLimiter(createRedisClient(url)) });
 */
export function redisRateLimiter(client: Redis, options: RedisRateLimiterOptions = {}): RateLimiterFactory {
  const namespace = options.namespace ? `${options.namespace}:` : '';
  const shared = batchers.get(client) ?? new ConsumeBatcher(client);
  batchers.set(client, shared);
  return ({ keyPrefix, points, duration }) =>
    new BatchedRateLimiterRedis(
      {
        storeClient: client,
        keyPrefix: `${namespace}${keyPrefix}`,
        points,
        duration,
        // Not connected: refuse at once (→ 503) rather than send a command into a dead connection.
        rejectIfRedisNotReady: true,
      },
      shared,
    );
}

/**
 * rate-limiter-flexible's own script (RateLimiterRedis), run for each key of a batch in turn:
 * the same counters, the same expiry, so instances that batch and instances that do not share
 * budgets. ARGV holds the points and the window in seconds of each key, in pairs; or one pair for
 * all keys, when they share it (the usual batch: one point each, one window), which spares the
 * gateway writing two numbers per key.
 */
const CONSUME_MANY = `local out = {}
local shared = #ARGV == 2
for i = 1, #KEYS do
  local points, seconds = ARGV[1], ARGV[2]
  if not shared then points, seconds = ARGV[2 * i - 1], ARGV[2 * i] end
  redis.call('set', KEYS[i], 0, 'EX', seconds, 'NX')
  local consumed = redis.call('incrby', KEYS[i], points)
  local ttl = redis.call('pttl', KEYS[i])
  if ttl == -1 then
    redis.call('expire', KEYS[i], seconds)
    ttl = 1000 * seconds
  end
  out[2 * i - 1] = consumed
  out[2 * i] = ttl
end
return out`;
/** Keys per script call: bounds how long one call holds Redis (four commands per key). */
const MAX_BATCH = 128;

interface Waiting {
  key: string;
  points: number;
  seconds: number;
  resolve: (result: [consumed: number, ttlMs: number]) => void;
  reject: (error: unknown) => void;
}

/**
 * Sends the points taken during one event-loop turn as one script call. While a call is in flight,
 * the points that arrive wait and go together in the next, as the ledger batches reservations
 * (reserve-batch.ts): an idle gateway waits for nothing, a busy one sends one command per batch
 * instead of one per limit and request. A failed call fails every point in it (each request
 * answers 503, as it did when its own command failed).
 */
class ConsumeBatcher {
  readonly #client: Redis;
  #waiting: Waiting[] = [];
  #inFlight = false;
  #scheduled = false;

  constructor(client: Redis) {
    this.#client = client;
    client.defineCommand(CONSUME_COMMAND, { lua: CONSUME_MANY });
  }

  consume(key: string, points: number, seconds: number): Promise<[number, number]> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ key, points, seconds, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight || this.#waiting.length === 0) return;
    this.#scheduled = true;
    // The end of this turn: the IP's and the user's points of one request, and those of every
    // request handled in the same turn, go together.
    process.nextTick(() => {
      this.#scheduled = false;
      this.#send();
    });
  }

  #send(): void {
    const batch = this.#waiting.length <= MAX_BATCH ? this.#waiting : this.#waiting.slice(0, MAX_BATCH);
    this.#waiting = batch === this.#waiting ? [] : this.#waiting.slice(MAX_BATCH);
    const args: (string | number)[] = [batch.length];
    const first = batch[0]!;
    let shared = true;
    for (const w of batch) {
      args.push(w.key);
      if (w.points !== first.points || w.seconds !== first.seconds) shared = false;
    }
    if (shared) args.push(first.points, first.seconds);
    else for (const w of batch) args.push(w.points, w.seconds);
    this.#inFlight = true;
    const call = (this.#client as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown>>)[CONSUME_COMMAND]!;
    call.apply(this.#client, args).then(
      (reply) => {
        const out = reply as number[];
        if (!Array.isArray(out) || out.length !== 2 * batch.length) {
          for (const w of batch) w.reject(new Error('Redis answered the rate-limit script with an unexpected reply'));
        } else {
          for (let i = 0; i < batch.length; i++) batch[i]!.resolve([out[2 * i]!, out[2 * i + 1]!]);
        }
        this.#done();
      },
      (error: unknown) => {
        for (const w of batch) w.reject(error);
        this.#done();
      },
    );
  }

  #done(): void {
    this.#inFlight = false;
    this.#schedule();
  }
}

const batchers = new WeakMap<Redis, ConsumeBatcher>();

/** RateLimiterRedis's store hooks, which its type declarations leave out. */
interface RedisStoreHooks {
  _upsert(rlKey: string, points: number, msDuration: number, forceExpire?: boolean, options?: unknown): Promise<unknown>;
  _isRedisReady(rlKey: string, isReadonly: boolean): boolean;
  _getRateLimiterRes(rlKey: string, changedPoints: number, result: unknown): RateLimiterRes;
}
const base = RateLimiterRedis.prototype as unknown as RedisStoreHooks;

/**
 * RateLimiterRedis whose consumes go through a `ConsumeBatcher`. The store hook that takes points
 * (`_upsert`, rate-limiter-flexible's extension point for stores) sends them into the batch; and
 * one point with the limiter's own window — what the gateway takes — skips the library's three
 * promise layers around that hook: the limiters `redisRateLimiter` makes have no block, no
 * insurance limiter and no even spreading, so all that is left of its consume is "refused past
 * `points`", with the library's own RateLimiterRes.
 */
class BatchedRateLimiterRedis extends RateLimiterRedis {
  readonly #batcher: ConsumeBatcher;

  constructor(options: ConstructorParameters<typeof RateLimiterRedis>[0], batcher: ConsumeBatcher) {
    super(options);
    this.#batcher = batcher;
  }

  override consume(key: string | number, pointsToConsume = 1, options: { [key: string]: unknown } = {}): Promise<RateLimiterRes> {
    const plain = pointsToConsume === 1 && options.customDuration === undefined && this.duration > 0;
    if (!plain || this.blockDuration > 0 || this.execEvenly) {
      return super.consume(key, pointsToConsume, options);
    }
    const rlKey = this.getKey(key);
    if (!base._isRedisReady.call(this, rlKey, false)) return Promise.reject(new Error('Redis connection is not ready'));
    return this.#batcher.consume(rlKey, 1, this.duration).then((result) => {
      const res = base._getRateLimiterRes.call(this, rlKey, 1, result);
      if (res.consumedPoints > this.points) throw res;
      return res;
    });
  }

  /** Resolves with `[consumed, ttlMs]`, what RateLimiterRedis's `_getRateLimiterRes` reads. */
  _upsert(rlKey: string, points: number, msDuration: number, forceExpire = false, options?: unknown): Promise<unknown> {
    const seconds = Math.floor(msDuration / 1000);
    // Setting a counter outright (block, set) or a window without expiry: the library's own way.
    if (forceExpire || seconds <= 0 || !Number.isInteger(points))
      return base._upsert.call(this, rlKey, points, msDuration, forceExpire, options);
    if (!base._isRedisReady.call(this, rlKey, false)) return Promise.reject(new Error('Redis connection is not ready'));
    return this.#batcher.consume(rlKey, points, seconds);
  }
}
