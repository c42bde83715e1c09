/**
 * API keys: parsing `DROPGATE_API_KEYS`, the 401s, and the gateway answering them on sign.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BASE, createHarness, type Harness } from '../../test/helpers/harness.js';
import { refusal } from '../../test/helpers/refusal.js';
import { jsonOf } from '../../test/helpers/requests.js';
import { apiKeyAuth, apiKeysFromEnv, bearerToken } from './auth.js';
import type { AuthContext } from './config.js';

const ALICE_KEY = 'k_alice_0123456789abcdef';
const BOB_KEY = 'k_bob_fedcba9876543210xyz';

function request(authorization?: string): AuthContext {
  return {
    header: (name) => (name === 'authorization' ? authorization : undefined),
    clientIp: '203.0.113.9',
    method: 'POST',
    path: BASE,
    raw: undefined,
  };
}

describe('apiKeysFromEnv', () => {
  it('reads key:userId pairs; the user id keeps any further colons', () => {
    const keys = apiKeysFromEnv(` ${ALICE_KEY}:alice , ${BOB_KEY}:team:bob,`);
    expect([...keys]).toEqual([
      [ALICE_KEY, 'alice'],
      [BOB_KEY, 'team:bob'],
    ]);
  });

  it('refuses malformed lists without echoing the keys', () => {
    for (const bad of ['', ' , ', 'nocolon', ':alice', `${ALICE_KEY}:`, `${ALICE_KEY}:a,${ALICE_KEY}:b`]) {
      let message = '';
      try {
        apiKeysFromEnv(bad);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message, bad).toMatch(/DROPGATE_API_KEYS/);
      expect(message).not.toContain(ALICE_KEY);
    }
  });
});

describe('apiKeyAuth', () => {
  const auth = apiKeyAuth(
    new Map([
      [ALICE_KEY, 'alice'],
      [BOB_KEY, 'bob'],
    ]),
  );

  it('names the user of a known key', async () => {
    expect(await auth(request(`Bearer ${ALICE_KEY}`))).toEqual({ userId: 'alice' });
    expect(await auth(request(`bearer  ${BOB_KEY}`))).toEqual({ userId: 'bob' });
  });

  it('refuses a missing header, another scheme, an unknown key and a prefix of a real key with 401', async () => {
    const missing = await refusal(auth(request()));
    expect([missing.code, missing.status]).toEqual(['UNAUTHENTICATED', 401]);
    expect(missing.message).toMatch(/Authorization: Bearer <API key>/);
    expect((await refusal(auth(request(`Basic ${ALICE_KEY}`)))).message).toMatch(/Missing credentials/);
    for (const wrong of ['k_nobody_0123456789abcdef', ALICE_KEY.slice(0, -1), `${ALICE_KEY}x`]) {
      const error = await refusal(auth(request(`Bearer ${wrong}`)));
      expect([error.code, error.message]).toEqual(['UNAUTHENTICATED', 'The API key is not valid.']);
    }
  });

  it('finds each of many keys by its digest, whatever its place, and no key that is not one', async () => {
    const many = Array.from({ length: 500 }, (_, i) => [`k_user_${String(i).padStart(4, '0')}_0123456789abcdef`, `user-${i}`] as const);
    const lookup = apiKeyAuth(Object.fromEntries(many));
    for (const i of [0, 1, 250, 498, 499]) {
      const [key, userId] = many[i]!;
      expect(await lookup(request(`Bearer ${key}`))).toEqual({ userId });
      // The same length and all but one character of a real key.
      const near = `${key.slice(0, -1)}${key.endsWith('f') ? 'e' : 'f'}`;
      expect((await refusal(lookup(request(`Bearer ${near}`)))).message).toBe('The API key is not valid.');
    }
  });

  it('refuses weak or empty configuration at construction', () => {
    expect(() => apiKeyAuth({})).toThrow(/at least one key/);
    expect(() => apiKeyAuth({ short: 'alice' })).toThrow(/at least 16 characters/);
    expect(() => apiKeyAuth({ 'has spaces in the key!': 'alice' })).toThrow(/#1/);
    expect(() => apiKeyAuth({ [ALICE_KEY]: ' ' })).toThrow(/no user id/);
  });

  it('parses RFC 6750 bearer tokens only', () => {
    expect(bearerToken(request('Bearer abc.def-ghi_jkl~+/=='))).toBe('abc.def-ghi_jkl~+/==');
    expect(bearerToken(request('Bearer two words'))).toBeUndefined();
    expect(bearerToken(request('Bearer'))).toBeUndefined();
  });
});

describe('the gateway behind API keys', () => {
  let h: Harness;
  afterEach(() => h?.close());

  it('signs for a valid key and answers 401 UNAUTHENTICATED otherwise, signing nothing', async () => {
    h = await createHarness({ authenticate: apiKeyAuth({ [ALICE_KEY]: 'alice' }) });
    const body = { json: { size: 10, contentType: 'image/png' } };
    const ok = await h.call('POST', BASE, { ...body, headers: { authorization: `Bearer ${ALICE_KEY}` } });
    expect(ok.status).toBe(200);
    for (const headers of [{}, { authorization: `Bearer ${BOB_KEY}` }]) {
      const refused = await h.call('POST', BASE, { ...body, headers });
      expect(refused.status).toBe(401);
      expect((await jsonOf<{ error: { code: string } }>(refused)).error.code).toBe('UNAUTHENTICATED');
    }
    expect(await h.ledger.pendingCount('alice', 'default')).toBe(1);
  });
});
