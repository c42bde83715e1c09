/**
 * Who may use `dropgate serve`: API keys, JWTs, a config file's `authenticate`, or — only when
 * the operator says so — anyone, one user per client IP. Never nobody-configured-so-anyone.
 */

import { apiKeyAuth, apiKeysFromEnv, bearerToken, missingCredentials } from '../server/auth.js';
import { jwtAuth, looksLikeJwt } from '../server/auth-jwt.js';
import type { Authenticate } from '../server/config.js';
import { ConfigError, type ServeConfig } from './config-file.js';

export interface ServeAuth {
  authenticate: Authenticate;
  /** For the start-up log line: which kind, never a key or secret. */
  description: string;
}

const TRUE = /^(1|true|yes|on)$/i;
const FALSE = /^(|0|false|no|off)$/i;

/** A boolean environment variable; anything but the usual spellings is a mistake worth stopping for. */
export function envFlag(env: NodeJS.ProcessEnv, name: string): boolean {
  const value = env[name]?.trim();
  if (value === undefined || FALSE.test(value)) return false;
  if (TRUE.test(value)) return true;
  throw new ConfigError(`${name} must be 1/true/yes/on or 0/false/no/off, got "${value}".`);
}

/** Runs a factory whose TypeErrors describe a bad setting, as a ConfigError. */
function configured<T>(make: () => T): T {
  try {
    return make();
  } catch (error) {
    throw new ConfigError((error as Error).message.replace(/^dropgate: /, ''));
  }
}

/** The anonymous rule of `createDropgate`, made explicit so that request logs can name the user. */
const anonymous: Authenticate = ({ clientIp }) => ({ userId: `ip:${clientIp}` });

const NO_AUTH = `refusing to start without auth. Set DROPGATE_API_KEYS=key:userId,… or DROPGATE_JWT_SECRET / DROPGATE_JWKS_URL
(with DROPGATE_JWT_ISSUER and DROPGATE_JWT_AUDIENCE), export \`authenticate\` from dropgate.config.js, or set
DROPGATE_ALLOW_ANONYMOUS=1 to let anyone upload (each client IP is a user).`;

/**
 * The one auth rule the settings describe; conflicting settings are refused rather than ranked.
 * @example serveAuth({ DROPGATE_API_KEYS: 'k_0123456789abcdef:alice' }, {}).description // 'API keys (1)'
 */
export function serveAuth(env: NodeJS.ProcessEnv, config: ServeConfig): ServeAuth {
  const apiKeys = env.DROPGATE_API_KEYS?.trim() || undefined;
  const secret = env.DROPGATE_JWT_SECRET || undefined;
  const jwksUrl = env.DROPGATE_JWKS_URL?.trim() || undefined;
  const issuer = env.DROPGATE_JWT_ISSUER?.trim() || undefined;
  const audience = env.DROPGATE_JWT_AUDIENCE?.trim() || undefined;
  const allowAnonymous = envFlag(env, 'DROPGATE_ALLOW_ANONYMOUS');

  if (secret && jwksUrl) throw new ConfigError('set DROPGATE_JWT_SECRET or DROPGATE_JWKS_URL, not both.');
  if ((issuer || audience) && !secret && !jwksUrl) {
    throw new ConfigError('DROPGATE_JWT_ISSUER / DROPGATE_JWT_AUDIENCE need DROPGATE_JWT_SECRET or DROPGATE_JWKS_URL.');
  }
  const fromEnv = Boolean(apiKeys || secret || jwksUrl);
  if (config.authenticate && fromEnv) {
    throw new ConfigError('the config file exports `authenticate` and DROPGATE_API_KEYS / DROPGATE_JWT_* are set too; keep one.');
  }
  if (allowAnonymous && (fromEnv || config.authenticate)) {
    throw new ConfigError('DROPGATE_ALLOW_ANONYMOUS is set together with auth settings; unset one of them.');
  }
  if (config.authenticate) return { authenticate: config.authenticate, description: 'authenticate() from the config file' };
  if (allowAnonymous) return { authenticate: anonymous, description: 'anonymous (DROPGATE_ALLOW_ANONYMOUS): one user per client IP' };
  if (!fromEnv) throw new ConfigError(NO_AUTH);

  const keys = apiKeys ? configured(() => apiKeyAuth(apiKeysFromEnv(apiKeys))) : undefined;
  const claims = { ...(issuer ? { issuer } : {}), ...(audience ? { audience } : {}) };
  const jwt = secret ? configured(() => jwtAuth({ secret }, claims)) : jwksUrl ? configured(() => jwtAuth({ jwksUrl }, claims)) : undefined;
  const kinds = [keys && `API keys (${apiKeysFromEnv(apiKeys ?? '').size})`, jwt && (secret ? 'JWT (HS256)' : `JWT (JWKS ${jwksUrl})`)];
  const description = kinds.filter(Boolean).join(' + ');
  if (keys && jwt) {
    // Both configured: the token's shape says which one to ask, so each answers with its own reason.
    const both: Authenticate = (request) => {
      const token = bearerToken(request);
      if (token === undefined) throw missingCredentials('API key or JWT');
      return looksLikeJwt(token) ? jwt(request) : keys(request);
    };
    return { authenticate: both, description };
  }
  return { authenticate: (keys ?? jwt) as Authenticate, description };
}
