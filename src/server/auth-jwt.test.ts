/**
 * JWTs: HS256 with a shared secret, and a real JWKS fetched over HTTP from a loopback server that
 * publishes a freshly generated key pair, as an identity provider would.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusal } from '../../test/helpers/refusal.js';
import { jwtAuth, looksLikeJwt } from './auth-jwt.js';
import type { AuthContext } from './config.js';

const SECRET = 'an-hs256-secret-of-at-least-32-bytes!';
const ISSUER = 'https://id.example';
const AUDIENCE = 'https://uploads.example';

const request = (token?: string): AuthContext => ({
  header: (name) => (name === 'authorization' && token !== undefined ? `Bearer ${token}` : undefined),
  clientIp: '203.0.113.9',
  method: 'POST',
  path: '/api/upload',
  raw: undefined,
});

interface TokenInit {
  alg?: string;
  kid?: string;
  sub?: string | undefined;
  iss?: string;
  aud?: string;
  exp?: number | string;
}

function token(key: CryptoKey | Uint8Array, init: TokenInit = {}): Promise<string> {
  const payload: JWTPayload = {};
  const jwt = new SignJWT(payload)
    .setProtectedHeader({ alg: init.alg ?? 'HS256', ...(init.kid ? { kid: init.kid } : {}) })
    .setIssuedAt()
    .setExpirationTime(init.exp ?? '5m');
  if (init.sub !== undefined) jwt.setSubject(init.sub);
  if (init.iss) jwt.setIssuer(init.iss);
  if (init.aud) jwt.setAudience(init.aud);
  return jwt.sign(key);
}

describe('jwtAuth with an HS256 secret', () => {
  const key = new TextEncoder().encode(SECRET);
  const auth = jwtAuth({ secret: SECRET }, { issuer: ISSUER });

  it('takes the user id from sub', async () => {
    const jwt = await token(key, { sub: 'user-42', iss: ISSUER });
    expect(looksLikeJwt(jwt)).toBe(true);
    expect(await auth(request(jwt))).toEqual({ userId: 'user-42' });
  });

  it('answers 401 with a reason for missing, expired, forged, foreign and subject-less tokens', async () => {
    const cases: [string | undefined, RegExp][] = [
      [undefined, /Authorization: Bearer <JWT>/],
      ['not-a-jwt', /malformed/],
      [await token(key, { sub: 'u', iss: ISSUER, exp: Math.floor(Date.now() / 1000) - 60 }), /expired/],
      [await token(new TextEncoder().encode(`${SECRET}?`), { sub: 'u', iss: ISSUER }), /signature/],
      [await token(key, { sub: 'u', iss: 'https://evil.example' }), /issuer/],
      [await token(key, { iss: ISSUER }), /"sub"/],
    ];
    for (const [jwt, reason] of cases) {
      const error = await refusal(auth(request(jwt)));
      expect([error.code, error.status], String(reason)).toEqual(['UNAUTHENTICATED', 401]);
      expect(error.message).toMatch(reason);
      if (jwt) expect(error.message).not.toContain(jwt);
    }
  });

  it('checks the audience when one is configured', async () => {
    const withAudience = jwtAuth({ secret: SECRET }, { audience: AUDIENCE });
    expect(await withAudience(request(await token(key, { sub: 'u', aud: AUDIENCE })))).toEqual({ userId: 'u' });
    const error = await refusal(withAudience(request(await token(key, { sub: 'u', aud: 'https://other.example' }))));
    expect([error.status, error.message]).toEqual([401, 'The token is meant for another audience.']);
  });

  it('refuses a short secret and a JWKS without issuer and audience', () => {
    expect(() => jwtAuth({ secret: 'short' })).toThrow(/at least 32 bytes/);
    expect(() => jwtAuth({ jwksUrl: 'https://id.example/jwks.json' }, { issuer: ISSUER })).toThrow(/issuer.*audience/);
    expect(() => jwtAuth({ jwksUrl: 'http://id.example/jwks.json' }, { issuer: ISSUER, audience: AUDIENCE })).toThrow(/https/);
  });
});

describe('jwtAuth with a remote JWKS', () => {
  let server: Server;
  let jwksUrl: string;
  let fetches = 0;
  let privateKey: CryptoKey;
  let strangerKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    strangerKey = (await generateKeyPair('ES256')).privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    server = createServer((req, res) => {
      fetches += 1;
      if (req.url !== '/.well-known/jwks.json') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => server?.close(() => resolve())));

  it('fetches the keys over HTTP and verifies issuer and audience', async () => {
    const auth = jwtAuth({ jwksUrl }, { issuer: ISSUER, audience: AUDIENCE });
    const good = await token(privateKey, { alg: 'ES256', kid: 'k1', sub: 'alice', iss: ISSUER, aud: AUDIENCE });
    expect(await auth(request(good))).toEqual({ userId: 'alice' });
    expect(fetches).toBeGreaterThanOrEqual(1);

    const cases: [string, RegExp][] = [
      [await token(privateKey, { alg: 'ES256', kid: 'k1', sub: 'alice', iss: 'https://other-idp.example', aud: AUDIENCE }), /issuer/],
      [await token(privateKey, { alg: 'ES256', kid: 'k1', sub: 'alice', iss: ISSUER, aud: 'https://other-api.example' }), /audience/],
      [await token(privateKey, { alg: 'ES256', kid: 'k1', sub: 'alice', iss: ISSUER, aud: AUDIENCE, exp: '-1m' }), /expired/],
      [await token(strangerKey, { alg: 'ES256', kid: 'k1', sub: 'alice', iss: ISSUER, aud: AUDIENCE }), /signature/],
      // An HMAC token must not pass, whatever the secret: a JWKS accepts asymmetric algorithms only.
      [await token(new TextEncoder().encode(SECRET), { sub: 'alice', iss: ISSUER, aud: AUDIENCE }), /algorithm/],
    ];
    for (const [jwt, reason] of cases) {
      const error = await refusal(auth(request(jwt)));
      expect([error.code, error.status], String(reason)).toEqual(['UNAUTHENTICATED', 401]);
      expect(error.message).toMatch(reason);
    }
  });

  it('fails closed with 503 when the keys cannot be fetched', async () => {
    const auth = jwtAuth({ jwksUrl: jwksUrl.replace('/.well-known/jwks.json', '/missing') }, { issuer: ISSUER, audience: AUDIENCE });
    const jwt = await token(privateKey, { alg: 'ES256', kid: 'k1', sub: 'alice', iss: ISSUER, aud: AUDIENCE });
    const error = await refusal(auth(request(jwt)));
    expect([error.code, error.status]).toEqual(['SERVICE_UNAVAILABLE', 503]);
  });
});
