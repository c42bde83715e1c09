/**
 * Sign-rate limits per user and per client IP through rate-limiter-flexible. Counters live in
 * memory unless a factory for a shared store (Redis) is given, so N instances share one budget.
 */

import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { DropgateError } from '../shared/errors.js';
import type { RateLimiterFactory, ResolvedRoute } from './config.js';

export const memoryRateLimiter: RateLimiterFactory = (options) => new RateLimiterMemory(options);

export interface RouteLimiters {
  perUser: RateLimiterAbstract;
  perIp: RateLimiterAbstract;
}

export function createRouteLimiters(route: ResolvedRoute, factory: RateLimiterFactory): RouteLimiters {
  return {
    perUser: factory({ keyPrefix: `dropgate:sign:user:${route.name}`, points: route.perUserPerMinute, duration: 60 }),
    perIp: factory({ keyPrefix: `dropgate:sign:ip:${route.name}`, points: route.perIpPerMinute, duration: 60 }),
  };
}

/** What a limiter's rejection becomes: RATE_LIMITED with the seconds to wait, or 503 if the store failed. */
function refusal(result: unknown, who: 'user' | 'IP address'): DropgateError {
  if (result instanceof RateLimiterRes) {
    const retryAfter = Math.max(1, Math.ceil(result.msBeforeNext / 1000));
    return new DropgateError('RATE_LIMITED', `Too many uploads from this ${who}; try again in ${retryAfter} s.`, { retryAfter });
  }
  return new DropgateError('SERVICE_UNAVAILABLE', 'The rate limiter is unavailable; nothing was signed.', {}, { cause: result });
}

/** Takes one point; refuses with RATE_LIMITED and the seconds to wait when none are left. */
export async function consume(limiter: RateLimiterAbstract, key: string, who: 'user' | 'IP address'): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (result) {
    throw refusal(result, who);
  }
}

const passed = () => undefined;

/** One point, settling with the refusal (or undefined) instead of rejecting. */
function take(limiter: RateLimiterAbstract, key: string, who: 'user' | 'IP address'): Promise<DropgateError | undefined> {
  try {
    return limiter.consume(key).then(passed, (result: unknown) => refusal(result, who));
  } catch (result) {
    return Promise.resolve(refusal(result, who));
  }
}

/**
 * Takes one point from the IP's and the user's budgets at once, so that with Redis both go out in
 * the same script call. Both points are taken even when one budget refuses (as when they were
 * taken one after the other and the user's refused); the IP's refusal is the one reported when
 * both refuse.
 */
export async function consumeBoth(limiters: RouteLimiters, ip: string, userId: string): Promise<void> {
  const perIp = take(limiters.perIp, ip, 'IP address');
  const perUser = take(limiters.perUser, userId, 'user');
  const ipRefusal = await perIp;
  const userRefusal = await perUser;
  if (ipRefusal) throw ipRefusal;
  if (userRefusal) throw userRefusal;
}
