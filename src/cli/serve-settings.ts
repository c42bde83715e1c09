/**
 * `dropgate serve`'s settings from its flags, the environment (DESIGN.md's names) and the config
 * file, in that order of precedence. Pure: every mistake is a ConfigError naming the setting.
 */
import { resolve } from 'node:path';
import { type Authenticate, type RouteConfig, resolveRoutes } from '../server/config.js';
import type { Hooks } from '../server/hooks.js';
import { parseSize } from '../shared/sizes.js';
import { ConfigError, type ServeConfig } from './config-file.js';
import { envFlag, serveAuth } from './serve-auth.js';

export interface ServeFlags {
  port?: string | undefined;
}

export interface ServeSettings {
  port: number;
  /** Disk store files, the PGlite ledger (without DATABASE_URL) and the generated disk secret. */
  dataDir: string;
  storage: 'disk' | 's3';
  /** HMAC secret of the disk store; without it, the one kept in the data folder. */
  secret: string | undefined;
  /** The gateway's public origin; required for the disk store. */
  publicUrl: string | undefined;
  databaseUrl: string | undefined;
  /** Named statements on PostgreSQL (`DROPGATE_PG_PREPARE`, default on). */
  pgPrepare: boolean;
  redisUrl: string | undefined;
  trustProxy: boolean;
  allowedOrigins: string[];
  routes: Record<string, RouteConfig>;
  basePath: string | undefined;
  hooks: Hooks | undefined;
  authenticate: Authenticate;
  authDescription: string;
}

const list = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

function port(value: string | undefined, source: string): number {
  if (value === undefined) return 3000;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65535) throw new ConfigError(`${source} must be a port number (0-65535), got "${value}".`);
  return n;
}

function origin(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} must be an origin like https://uploads.example.com, got "${value}".`);
  }
  if (!/^https?:$/.test(url.protocol) || url.pathname !== '/' || url.search || url.hash || url.username) {
    throw new ConfigError(`${name} must be an origin like https://uploads.example.com (scheme and host, no path), got "${value}".`);
  }
  return url.origin;
}

/** DROPGATE_MAX_SIZE / DROPGATE_ALLOWED_TYPES act on the route that sign requests without `route` get. */
function routesWithEnv(config: ServeConfig, env: NodeJS.ProcessEnv): Record<string, RouteConfig> {
  const routes: Record<string, RouteConfig> = { ...(config.routes ?? { default: {} }) };
  const names = Object.keys(routes);
  const target = 'default' in routes ? 'default' : names.length === 1 ? names[0] : undefined;
  const maxSize = env.DROPGATE_MAX_SIZE?.trim();
  const types = env.DROPGATE_ALLOWED_TYPES?.trim();
  if (!maxSize && !types) return routes;
  if (target === undefined) {
    throw new ConfigError('DROPGATE_MAX_SIZE / DROPGATE_ALLOWED_TYPES apply to the default route; name one route "default".');
  }
  const route: RouteConfig = { ...routes[target] };
  if (maxSize) {
    try {
      route.maxSize = parseSize(maxSize);
    } catch (error) {
      throw new ConfigError(`DROPGATE_MAX_SIZE: ${(error as Error).message}`);
    }
  }
  if (types) route.allowedTypes = list(types);
  routes[target] = route;
  return routes;
}

/**
 * @example
 * serveSettings({ port: '8080' }, process.env, await loadConfigFile(path), process.cwd())
 */
export function serveSettings(flags: ServeFlags, env: NodeJS.ProcessEnv, config: ServeConfig, cwd: string): ServeSettings {
  // Auth first: running open by accident is the mistake that matters most.
  const auth = serveAuth(env, config);
  const storage = env.DROPGATE_STORAGE?.trim() || 'disk';
  if (storage !== 'disk' && storage !== 's3') throw new ConfigError(`DROPGATE_STORAGE must be disk or s3, got "${storage}".`);
  const publicUrl = env.DROPGATE_PUBLIC_URL?.trim() ? origin(env.DROPGATE_PUBLIC_URL.trim(), 'DROPGATE_PUBLIC_URL') : undefined;
  if (storage === 'disk' && !publicUrl) {
    throw new ConfigError(
      "the disk store needs DROPGATE_PUBLIC_URL (e.g. https://uploads.example.com): its upload URLs point back at this gateway and must be absolute, and dropgate never builds URLs from the request's Host.",
    );
  }
  const secret = env.DROPGATE_SECRET || undefined;
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    throw new ConfigError('DROPGATE_SECRET must be at least 32 bytes; generate one with `openssl rand -base64 48`.');
  }
  const routes = routesWithEnv(config, env);
  try {
    // The gateway checks these again; here a mistake stops the start before anything listens.
    resolveRoutes(routes);
    if (Object.keys(routes).length > 1 && !('default' in routes)) throw new Error('with several routes, name one of them "default".');
  } catch (error) {
    throw new ConfigError((error as Error).message.replace(/^dropgate: /, ''));
  }
  return {
    port: flags.port !== undefined ? port(flags.port, '--port') : port(env.PORT?.trim() || undefined, 'PORT'),
    dataDir: resolve(cwd, env.DROPGATE_DATA_DIR?.trim() || '.dropgate'),
    storage,
    secret,
    publicUrl,
    databaseUrl: env.DATABASE_URL?.trim() || undefined,
    pgPrepare: env.DROPGATE_PG_PREPARE?.trim() ? envFlag(env, 'DROPGATE_PG_PREPARE') : true,
    redisUrl: env.REDIS_URL?.trim() || undefined,
    trustProxy: envFlag(env, 'DROPGATE_TRUST_PROXY'),
    allowedOrigins: list(env.DROPGATE_ALLOWED_ORIGINS ?? '').map((o) => origin(o, 'DROPGATE_ALLOWED_ORIGINS')),
    routes,
    basePath: config.basePath,
    hooks: config.hooks,
    authenticate: auth.authenticate,
    authDescription: auth.description,
  };
}
