/**
 * Routes and gateway options: plain objects, validated once at construction, with every default in
 * one place (DEFAULT_ROUTE). A bad option fails at start-up with a message naming it.
 */
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Ledger } from '../ledger/types.js';
import type { GatewayRequest } from '../shared/http.js';
import { GiB, MiB, parseSize } from '../shared/sizes.js';
import type { Storage } from '../storage/types.js';
import type { Hooks } from './hooks.js';

export type Visibility = 'public' | 'private';
export type AllowancePeriod = 'day' | 'month' | 'total';

/** One kind of upload: what it may be, who may send how much, and where it lands. */
export interface RouteConfig {
  /** Largest file, bytes or units (`'200MiB'`). Default 200 MiB, the seed's limit. */
  maxSize?: number | string;
  /** Allowed types, wildcards allowed (`'video/*'`). HTML, SVG and XML pass only when named exactly. */
  allowedTypes?: readonly string[];
  /** `public`: permanent read URL. `private`: read through the gateway, which checks access. */
  visibility?: Visibility;
  /** Seconds one presigned URL works. Default 600; at most 7 days. */
  urlLifetime?: number;
  /** Seconds an unfinished upload and its reservation live. Default 24 h. */
  uploadLifetime?: number;
  /** Key prefix; `{userId}` is replaced by the (sanitised) user id. Default: the route name. */
  keyPrefix?: string;
  /** Bytes a user may upload on this route per period. Default 10 GiB per day. */
  allowance?: { bytes: number | string; period?: AllowancePeriod };
  /** Sign requests per minute, per user and per client IP. Defaults 120 and 600. */
  rateLimit?: { perUserPerMinute?: number; perIpPerMinute?: number };
  /** Most unfinished uploads a user may hold on this route. Default 200. */
  maxPendingUploads?: number;
  /** Check the first bytes of the object against the declared type at completion. Default true. */
  checkMagicBytes?: boolean;
}

export interface ResolvedRoute {
  name: string;
  maxSize: number;
  allowedTypes: readonly string[];
  visibility: Visibility;
  urlLifetime: number;
  uploadLifetime: number;
  keyPrefix: string;
  allowanceBytes: number;
  allowancePeriod: AllowancePeriod;
  perUserPerMinute: number;
  perIpPerMinute: number;
  maxPendingUploads: number;
  checkMagicBytes: boolean;
}

export const DEFAULT_ALLOWED_TYPES = ['video/*', 'image/*', 'audio/*', 'application/pdf'] as const;
const SEVEN_DAYS = 7 * 24 * 3600;

export const DEFAULT_ROUTE: Omit<ResolvedRoute, 'name' | 'keyPrefix'> = {
  maxSize: 200 * MiB,
  allowedTypes: DEFAULT_ALLOWED_TYPES,
  visibility: 'private',
  urlLifetime: 600,
  uploadLifetime: 24 * 3600,
  allowanceBytes: 10 * GiB,
  allowancePeriod: 'day',
  perUserPerMinute: 120,
  perIpPerMinute: 600,
  maxPendingUploads: 200,
  checkMagicBytes: true,
};

/** Who is asking, as `authenticate` decides. */
export interface Identity {
  userId: string;
}

/** What `authenticate` sees of a request. */
export interface AuthContext {
  header(name: string): string | undefined;
  clientIp: string;
  method: string;
  path: string;
  /** The runtime's own request object (IncomingMessage or Request). */
  raw: unknown;
}

export type Authenticate = (request: AuthContext) => Promise<Identity | null | undefined> | Identity | null | undefined;

/** Creates a rate limiter; the default keeps counters in memory, the production server in Redis. */
export type RateLimiterFactory = (options: { keyPrefix: string; points: number; duration: number }) => RateLimiterAbstract;

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  msg: string;
  [field: string]: unknown;
}

/**
 * Receives the gateway's log entries. `request` is the request being served when the entry was
 * made (absent for the sweeper's), so a server can tie the entry to its own log of that request.
 */
export type Logger = (entry: LogEntry, request?: GatewayRequest) => void;

export interface DropgateOptions {
  storage: Storage;
  ledger: Ledger;
  /** Routes by name; a sign request without `route` uses `default`, or the only route. */
  routes?: Record<string, RouteConfig>;
  /** Path the API is mounted at. Default `/api/upload`. */
  basePath?: string;
  /** The gateway's public origin (`https://app.example`), for absolute URLs. Never taken from `Host`. */
  publicUrl?: string;
  /** Decides who is asking. Without it, `allowAnonymous` must be set. */
  authenticate?: Authenticate;
  /** Without `authenticate`, treat each client IP as a user. Meant for local development. */
  allowAnonymous?: boolean;
  /** Take the client IP from `X-Forwarded-For` (set by your load balancer). */
  trustProxy?: boolean;
  /** Other origins allowed to call the API from browsers (CORS, CSRF). */
  allowedOrigins?: readonly string[];
  rateLimiter?: RateLimiterFactory;
  hooks?: Hooks;
  log?: Logger;
  /** Clock, for tests. */
  now?: () => Date;
}

function fail(message: string): never {
  throw new TypeError(`dropgate: ${message}`);
}

function positiveInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)
    fail(`${name} must be a positive whole number, got ${String(value)}.`);
  return value;
}

/** Validates one route and fills in defaults. */
export function resolveRoute(name: string, route: RouteConfig): ResolvedRoute {
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/i.test(name)) fail(`route name "${name}" must be letters, digits, "-" or "_".`);
  const d = DEFAULT_ROUTE;
  const maxSize = route.maxSize === undefined ? d.maxSize : parseSize(route.maxSize);
  const urlLifetime = positiveInt(route.urlLifetime ?? d.urlLifetime, `routes.${name}.urlLifetime`);
  if (urlLifetime > SEVEN_DAYS) fail(`routes.${name}.urlLifetime may be at most 7 days (${SEVEN_DAYS} s).`);
  const keyPrefix = route.keyPrefix ?? name;
  if (!/^[A-Za-z0-9_.{}/-]*$/.test(keyPrefix) || keyPrefix.includes('..') || keyPrefix.startsWith('/')) {
    fail(`routes.${name}.keyPrefix "${keyPrefix}" may hold letters, digits, "-", "_", "." and "/" only.`);
  }
  const allowedTypes = route.allowedTypes ?? d.allowedTypes;
  if (allowedTypes.length === 0) fail(`routes.${name}.allowedTypes is empty: nothing could be uploaded.`);
  const visibility = route.visibility ?? d.visibility;
  if (visibility !== 'public' && visibility !== 'private') fail(`routes.${name}.visibility must be "public" or "private".`);
  const period = route.allowance?.period ?? d.allowancePeriod;
  if (!['day', 'month', 'total'].includes(period)) fail(`routes.${name}.allowance.period must be day, month or total.`);
  return {
    name,
    maxSize: positiveInt(maxSize, `routes.${name}.maxSize`),
    allowedTypes,
    visibility,
    urlLifetime,
    uploadLifetime: positiveInt(route.uploadLifetime ?? d.uploadLifetime, `routes.${name}.uploadLifetime`),
    keyPrefix: keyPrefix.replace(/\/+$/, ''),
    allowanceBytes: route.allowance ? parseSize(route.allowance.bytes) : d.allowanceBytes,
    allowancePeriod: period,
    perUserPerMinute: positiveInt(route.rateLimit?.perUserPerMinute ?? d.perUserPerMinute, `routes.${name}.rateLimit.perUserPerMinute`),
    perIpPerMinute: positiveInt(route.rateLimit?.perIpPerMinute ?? d.perIpPerMinute, `routes.${name}.rateLimit.perIpPerMinute`),
    maxPendingUploads: positiveInt(route.maxPendingUploads ?? d.maxPendingUploads, `routes.${name}.maxPendingUploads`),
    checkMagicBytes: route.checkMagicBytes ?? d.checkMagicBytes,
  };
}

export function resolveRoutes(routes: Record<string, RouteConfig> | undefined): Map<string, ResolvedRoute> {
  const entries = Object.entries(routes ?? { default: {} });
  if (entries.length === 0) fail('routes is empty.');
  return new Map(entries.map(([name, route]) => [name, resolveRoute(name, route)]));
}

/** Allowance bucket of a moment, with when it ends: see `periodKeyOf`. */
export function periodOf(period: AllowancePeriod, now: Date): { key: string; resetsAt: Date | null } {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  if (period === 'total') return { key: 'total', resetsAt: null };
  if (period === 'month') return { key: periodKeyOf(period, now), resetsAt: new Date(Date.UTC(y, m + 1, 1)) };
  return { key: periodKeyOf(period, now), resetsAt: new Date(Date.UTC(y, m, now.getUTCDate() + 1)) };
}

const DAY_MS = 86_400_000;
let lastDay = Number.NaN;
let lastDayKey = '';

/**
 * Allowance bucket of a moment: "2026-11-24" per day, "2026-11" per month, "total". The day's
 * key is kept until the UTC day changes: every sign asks for it (~1 µs saved per request).
 * @example periodKeyOf('month', new Date('2026-11-24T10:00:00Z')) // '2026-11'
 */
export function periodKeyOf(period: AllowancePeriod, now: Date): string {
  if (period === 'total') return 'total';
  const day = Math.floor(now.getTime() / DAY_MS);
  if (day !== lastDay) {
    lastDayKey = now.toISOString().slice(0, 10);
    lastDay = day;
  }
  return period === 'month' ? lastDayKey.slice(0, 7) : lastDayKey;
}
