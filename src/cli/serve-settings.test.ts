/**
 * `dropgate serve` configuration: config files found and loaded, env vars read with flags over
 * env over file, and every refusal (no auth, conflicting auth, bad values) a ConfigError.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuthContext } from '../server/config.js';
import { ConfigError, findConfigFile, loadConfigFile } from './config-file.js';
import { serveAuth } from './serve-auth.js';
import { serveSettings } from './serve-settings.js';

const KEY = 'k_test_0123456789abcdef';
const BASE_ENV = { DROPGATE_API_KEYS: `${KEY}:alice`, DROPGATE_PUBLIC_URL: 'https://uploads.example.com' };

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dropgate-config-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const settings = (env: NodeJS.ProcessEnv, config = {}, flags = {}) => serveSettings(flags, env, config, dir);

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const asks = (authorization?: string): AuthContext => ({
  header: (name) => (name === 'authorization' ? authorization : undefined),
  clientIp: '198.51.100.7',
  method: 'POST',
  path: '/api/upload',
  raw: undefined,
});

describe('config files', () => {
  it('finds dropgate.config.json, loads .mjs with functions, and takes --config over the working directory', async () => {
    expect(await findConfigFile(undefined, dir)).toBeUndefined();
    await writeFile(join(dir, 'dropgate.config.json'), JSON.stringify({ routes: { default: { maxSize: '1GiB' } } }));
    const found = await findConfigFile(undefined, dir);
    expect(found).toBe(join(dir, 'dropgate.config.json'));
    expect(await loadConfigFile(found!)).toEqual({ routes: { default: { maxSize: '1GiB' } } });

    await writeFile(
      join(dir, 'other.mjs'),
      `export default { routes: { clips: { allowedTypes: ['video/*'] } }, authenticate: () => ({ userId: 'x' }) };`,
    );
    const explicit = await findConfigFile('other.mjs', dir);
    const config = await loadConfigFile(explicit!);
    expect(Object.keys(config.routes ?? {})).toEqual(['clips']);
    expect(typeof config.authenticate).toBe('function');
  });

  // Loading .ts is tested on a real `node` in test/serve.test.ts: vitest would compile it for us.
  it('refuses two candidates, a missing --config, unknown settings, and bad JSON', async () => {
    await writeFile(join(dir, 'dropgate.config.json'), '{"rutes": {}}');
    await expect(loadConfigFile(join(dir, 'dropgate.config.json'))).rejects.toThrow(/unknown setting rutes/);
    await writeFile(join(dir, 'dropgate.config.js'), 'export default {};');
    await expect(findConfigFile(undefined, dir)).rejects.toThrow(/found dropgate.config.js and dropgate.config.json/);
    await expect(findConfigFile('nope.json', dir)).rejects.toThrow(ConfigError);
    await writeFile(join(dir, 'broken.json'), '{ routes: ');
    await expect(loadConfigFile(join(dir, 'broken.json'))).rejects.toThrow(ConfigError);
  });
});

describe('serveSettings', () => {
  it('reads DESIGN.md env vars, with --port over PORT and env over the config file', () => {
    const s = settings(
      {
        ...BASE_ENV,
        PORT: '8080',
        DROPGATE_DATA_DIR: 'data',
        DROPGATE_TRUST_PROXY: 'true',
        DROPGATE_ALLOWED_ORIGINS: 'https://app.example.com, https://admin.example.com',
        DROPGATE_MAX_SIZE: '2GiB',
        DROPGATE_ALLOWED_TYPES: 'video/mp4,video/webm',
        DATABASE_URL: 'postgres://db/dropgate',
        REDIS_URL: 'redis://cache:6379',
        DROPGATE_SECRET: 's'.repeat(32),
      },
      { routes: { default: { maxSize: '10MiB', visibility: 'public' }, avatars: {} } },
    );
    expect(s).toMatchObject({
      port: 8080,
      dataDir: join(dir, 'data'),
      storage: 'disk',
      publicUrl: 'https://uploads.example.com',
      trustProxy: true,
      allowedOrigins: ['https://app.example.com', 'https://admin.example.com'],
      databaseUrl: 'postgres://db/dropgate',
      redisUrl: 'redis://cache:6379',
      routes: { default: { maxSize: 2 * 1024 ** 3, allowedTypes: ['video/mp4', 'video/webm'], visibility: 'public' }, avatars: {} },
    });
    expect(settings({ ...BASE_ENV, PORT: '8080' }, {}, { port: '9090' }).port).toBe(9090);
    const defaults = settings(BASE_ENV);
    expect(defaults).toMatchObject({
      port: 3000,
      dataDir: join(dir, '.dropgate'),
      trustProxy: false,
      pgPrepare: true,
      routes: { default: {} },
    });
    expect(settings({ ...BASE_ENV, DROPGATE_PG_PREPARE: 'off' }).pgPrepare).toBe(false);
    expect(defaults.secret).toBeUndefined();
  });

  it('refuses without auth, and names the setting for each bad value', () => {
    expect(configError(() => settings({ DROPGATE_PUBLIC_URL: 'https://u.example' }))).toMatch(/refusing to start without auth/);
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{ DROPGATE_API_KEYS: `${KEY}:alice` }, /needs DROPGATE_PUBLIC_URL/],
      [{ ...BASE_ENV, DROPGATE_PUBLIC_URL: 'https://u.example/app' }, /DROPGATE_PUBLIC_URL must be an origin/],
      [{ ...BASE_ENV, PORT: 'eighty' }, /PORT must be a port number/],
      [{ ...BASE_ENV, DROPGATE_TRUST_PROXY: 'maybe' }, /DROPGATE_TRUST_PROXY must be/],
      [{ ...BASE_ENV, DROPGATE_PG_PREPARE: 'sometimes' }, /DROPGATE_PG_PREPARE must be/],
      [{ ...BASE_ENV, DROPGATE_MAX_SIZE: 'big' }, /DROPGATE_MAX_SIZE/],
      [{ ...BASE_ENV, DROPGATE_STORAGE: 'tape' }, /DROPGATE_STORAGE must be disk or s3/],
      [{ ...BASE_ENV, DROPGATE_SECRET: 'short' }, /DROPGATE_SECRET must be at least 32 bytes/],
      [{ ...BASE_ENV, DROPGATE_ALLOWED_ORIGINS: 'app.example.com' }, /DROPGATE_ALLOWED_ORIGINS/],
    ];
    for (const [env, message] of cases)
      expect(
        configError(() => settings(env)),
        String(message),
      ).toMatch(message);
    expect(configError(() => settings(BASE_ENV, { routes: { default: { maxSize: 0 } } }))).toMatch(/routes.default.maxSize/);
    expect(configError(() => settings(BASE_ENV, { routes: { a: {}, b: {} } }))).toMatch(/name one of them "default"/);
  });

  it('leaves the public URL optional for s3, whose URLs do not point back at the gateway', () => {
    expect(settings({ DROPGATE_API_KEYS: `${KEY}:alice`, DROPGATE_STORAGE: 's3' }).publicUrl).toBeUndefined();
  });
});

describe('serveAuth', () => {
  it('refuses conflicting settings rather than ranking them', () => {
    const jwt = { DROPGATE_JWT_SECRET: 'j'.repeat(32) };
    const fromFile = { authenticate: () => ({ userId: 'x' }) };
    expect(configError(() => serveAuth({ ...jwt, DROPGATE_JWKS_URL: 'https://id.example/jwks' }, {}))).toMatch(/not both/);
    expect(configError(() => serveAuth({ DROPGATE_JWT_ISSUER: 'https://id.example' }, {}))).toMatch(/need DROPGATE_JWT_SECRET/);
    expect(configError(() => serveAuth(jwt, fromFile))).toMatch(/keep one/);
    expect(configError(() => serveAuth({ ...jwt, DROPGATE_ALLOW_ANONYMOUS: '1' }, {}))).toMatch(/ALLOW_ANONYMOUS/);
    expect(configError(() => serveAuth({ DROPGATE_JWKS_URL: 'https://id.example/jwks' }, {}))).toMatch(/issuer.*audience/);
    expect(configError(() => serveAuth({ DROPGATE_API_KEYS: 'short:alice' }, {}))).toMatch(/at least 16/);
  });

  it('makes the anonymous user the client IP only when asked to', async () => {
    const auth = serveAuth({ DROPGATE_ALLOW_ANONYMOUS: 'yes' }, {});
    expect(await auth.authenticate(asks())).toEqual({ userId: 'ip:198.51.100.7' });
  });

  it('with API keys and a JWT secret, sends each token to the check its shape calls for', async () => {
    const { authenticate, description } = serveAuth({ DROPGATE_API_KEYS: `${KEY}:alice`, DROPGATE_JWT_SECRET: 'j'.repeat(32) }, {});
    expect(description).toBe('API keys (1) + JWT (HS256)');
    expect(await authenticate(asks(`Bearer ${KEY}`))).toEqual({ userId: 'alice' });
    await expect(Promise.resolve().then(() => authenticate(asks('Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln')))).rejects.toThrow(/signature/);
    await expect(Promise.resolve().then(() => authenticate(asks()))).rejects.toThrow(/API key or JWT/);
  });
});
