/**
 * Static API keys: `Authorization: Bearer <key>` names a user. For servers, scripts and the CLI
 * (`dropgate upload --api-key`); browsers of signed-in users are better served by `jwtAuth` or an
 * `authenticate` over the app's own sessions.
 */
import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { DropgateError } from '../shared/errors.js';
import type { AuthContext, Authenticate } from './config.js';

/** Shorter keys could be guessed online; 16 characters of base64 are 96 bits. */
const MIN_KEY_LENGTH = 16;
// RFC 6750 `b64token`.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The token of an `Authorization: Bearer <token>` header, or undefined when there is none.
 * @example bearerToken(req) // 'k_3f9a…' for `Authorization: Bearer k_3f9a…`
 */
export function bearerToken(request: Pick<AuthContext, 'header'>): string | undefined {
  const header = request.header('authorization');
  return header === undefined ? undefined : BEARER.exec(header)?.[1];
}

/** The 401 for a request that carries no credentials, naming what to send. */
export function missingCredentials(what: string): DropgateError {
  return new DropgateError('UNAUTHENTICATED', `Missing credentials: send "Authorization: Bearer <${what}>".`);
}

/**
 * SHA-256 as a one-byte string of 32 characters ('binary' is latin1): a Map key that costs no conversion. One-shot
 * `crypto.hash` (Node ≥ 20.12) skips createHash's object and stream setup.
 */
const digest: (value: string) => string =
  typeof hash === 'function' ? (value) => hash('sha256', value, 'binary') : (value) => createHash('sha256').update(value).digest('binary');

/**
 * Authenticates `Authorization: Bearer <key>` against a fixed set of keys, each naming a user.
 * The presented key is hashed once and looked up by its SHA-256 digest, then the digests are
 * compared once more with `timingSafeEqual` (against a random decoy when nothing matched, so a
 * miss does the same work). Whatever the lookup's timing shows is about digests, which tell
 * nothing about any key, and the work does not grow with the number of keys.
 * @example
 * createDropgate({ ...options, authenticate: apiKeyAuth({ 'k_live_0f8e…': 'ci-bot', 'k_live_77aa…': 'alice' }) });
 */
export function apiKeyAuth(keys: Readonly<Record<string, string>> | ReadonlyMap<string, string>): Authenticate {
  const entries = keys instanceof Map ? [...keys] : Object.entries(keys);
  if (entries.length === 0) throw new TypeError('dropgate: apiKeyAuth needs at least one key.');
  const table = new Map<string, { digest: Buffer; userId: string }>();
  for (const [i, [key, userId]] of entries.entries()) {
    if (key.length < MIN_KEY_LENGTH || !/^[A-Za-z0-9\-._~+/]+=*$/.test(key)) {
      // The key itself is never echoed: error messages end up in logs.
      throw new TypeError(
        `dropgate: API key #${i + 1} must be at least ${MIN_KEY_LENGTH} characters of A-Z a-z 0-9 - . _ ~ + / (e.g. from \`openssl rand -base64 32\`).`,
      );
    }
    if (typeof userId !== 'string' || userId.trim() === '') throw new TypeError(`dropgate: API key #${i + 1} has no user id.`);
    const hashed = digest(key);
    table.set(hashed, { digest: Buffer.from(hashed, 'binary'), userId });
  }
  const decoy = randomBytes(32);
  return async (request) => {
    const token = bearerToken(request);
    if (token === undefined) throw missingCredentials('API key');
    const presented = digest(token);
    const entry = table.get(presented);
    const same = timingSafeEqual(entry?.digest ?? decoy, Buffer.from(presented, 'binary'));
    if (!same || entry === undefined) throw new DropgateError('UNAUTHENTICATED', 'The API key is not valid.');
    return { userId: entry.userId };
  };
}

/**
 * Parses `key:userId,key:userId` (the format of `DROPGATE_API_KEYS`). A key holds no `:`; the user
 * id is everything after the first one. Whitespace around entries is ignored.
 * @example apiKeyAuth(apiKeysFromEnv(process.env.DROPGATE_API_KEYS ?? ''))
 */
export function apiKeysFromEnv(value: string): Map<string, string> {
  const keys = new Map<string, string>();
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const [i, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const key = entry.slice(0, colon).trim();
    const userId = entry.slice(colon + 1).trim();
    if (colon <= 0 || userId === '') throw new TypeError(`dropgate: DROPGATE_API_KEYS entry #${i + 1} must be "key:userId".`);
    if (keys.has(key)) throw new TypeError(`dropgate: DROPGATE_API_KEYS entry #${i + 1} repeats an earlier key.`);
    keys.set(key, userId);
  }
  if (keys.size === 0) throw new TypeError('dropgate: DROPGATE_API_KEYS is set but holds no "key:userId" entry.');
  return keys;
}
