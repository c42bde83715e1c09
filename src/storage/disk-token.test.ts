import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DropgateError } from '../shared/errors.js';
import { createTokenSigner, newNonce, type TokenClaims } from './disk-token.js';

const secret = randomBytes(32);
const signer = createTokenSigner(secret);
const NOW = Date.UTC(2026, 10, 24, 12);
const md5 = 'XrY7u+Ae7tCTyyK7j1rNww==';

const samples: TokenClaims[] = [
  {
    op: 'put',
    key: 'uploads/a.mp4',
    size: 1000,
    contentType: 'video/mp4',
    checksum: { algorithm: 'md5', value: md5 },
    exp: NOW + 60_000,
    nonce: newNonce(),
  },
  {
    op: 'part',
    key: 'uploads/a.mp4',
    multipartId: 'abcdefghijklmnopqrstuvwx',
    partNumber: 3,
    size: 5_242_880,
    md5,
    partSize: 16_777_216,
    exp: NOW + 60_000,
    nonce: newNonce(),
  },
  { op: 'get', key: 'uploads/a.mp4', fileName: 'clip.mp4', exp: NOW + 60_000, nonce: newNonce() },
  { op: 'read-public', key: 'uploads/a.mp4' },
];

/** Re-encodes the payload after `change`, keeping the original signature. */
function forge(token: string, change: (claims: Record<string, unknown>) => void): string {
  const [payload, signature] = token.split('.') as [string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  change(claims);
  return `${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

function refusal(token: string, now = NOW): DropgateError {
  try {
    signer.verify(token, now);
  } catch (error) {
    if (error instanceof DropgateError) return error;
    throw error;
  }
  throw new Error('The token was accepted.');
}

describe('disk tokens', () => {
  it.each(samples)('round-trips $op claims', (claims) => {
    expect(signer.verify(signer.sign(claims), NOW)).toEqual(claims);
  });

  it('signs an HMAC-SHA256 over the payload that an independent HMAC reproduces', () => {
    const token = signer.sign(samples[0] as TokenClaims);
    const [payload, signature] = token.split('.') as [string, string];
    const expected = createHmac('sha256', secret).update(`dropgate-disk-token-v1\n${payload}`).digest('base64url');
    expect(signature).toBe(expected);
  });

  const changes: [string, (claims: Record<string, unknown>) => void][] = [
    ['op', (c) => (c.op = c.op === 'get' ? 'read-public' : 'get')],
    ['key', (c) => (c.key = 'uploads/b.mp4')],
    ['size', (c) => (c.size = Number(c.size ?? 0) + 1)],
    ['contentType', (c) => (c.contentType = 'text/html')],
    ['checksum', (c) => (c.checksum = { algorithm: 'md5', value: '1B2M2Y8AsgTpgAmY7PhCfg==' })],
    ['multipartId', (c) => (c.multipartId = 'xxxxxxxxxxxxxxxxxxxxxxxx')],
    ['partNumber', (c) => (c.partNumber = 4)],
    ['md5', (c) => (c.md5 = '1B2M2Y8AsgTpgAmY7PhCfg==')],
    ['partSize', (c) => (c.partSize = 5_242_880)],
    ['fileName', (c) => (c.fileName = 'evil.html')],
    ['exp', (c) => (c.exp = Number(c.exp ?? NOW) + 3_600_000)],
    ['nonce', (c) => (c.nonce = newNonce())],
    ['ifNoneMatch', (c) => (c.ifNoneMatch = true)],
  ];
  it.each(changes)('refuses a token whose %s was changed', (_field, change) => {
    for (const claims of samples) {
      const forged = forge(signer.sign(claims), change);
      expect(refusal(forged)).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    }
  });

  it('refuses tampered, truncated, extended and foreign signatures', () => {
    const token = signer.sign(samples[0] as TokenClaims);
    const dot = token.indexOf('.');
    const flip = (at: number) => token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
    const bad = [
      flip(dot + 1),
      flip(token.length - 1),
      flip(5),
      token.slice(0, -1),
      `${token}A`,
      token.slice(0, dot),
      `${token.slice(0, dot)}.`,
      createTokenSigner(randomBytes(32)).sign(samples[0] as TokenClaims),
      '',
      'not a token',
      `${'A'.repeat(10_000)}.${token.slice(dot + 1)}`,
    ];
    for (const candidate of bad) expect(refusal(candidate), candidate.slice(0, 40)).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('expires: works until its expiry, then answers UPLOAD_EXPIRED', () => {
    const claims = samples[0] as TokenClaims & { exp: number };
    const token = signer.sign(claims);
    expect(signer.verify(token, claims.exp - 1).op).toBe('put');
    expect(refusal(token, claims.exp)).toMatchObject({ code: 'UPLOAD_EXPIRED', status: 410, details: { reason: 'url-expired' } });
  });

  it('opens an expired token without judging its age, and refuses a forged one', () => {
    const claims = samples[0] as TokenClaims;
    expect(signer.open(signer.sign(claims))).toEqual(claims);
    expect(() => signer.open(forge(signer.sign(claims), (c) => (c.size = 1)))).toThrow(DropgateError);
  });

  it('checks the signature before the expiry, so a forged token never learns it is expired', () => {
    const forged = forge(signer.sign(samples[2] as TokenClaims), (c) => (c.key = 'uploads/other.mp4'));
    expect(refusal(forged, NOW + 3_600_000)).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('gives public tokens no expiry and the same value every time', () => {
    const claims: TokenClaims = { op: 'read-public', key: 'uploads/a.mp4' };
    expect(signer.sign(claims)).toBe(createTokenSigner(secret).sign(claims));
    expect(signer.verify(signer.sign(claims), Number.MAX_SAFE_INTEGER)).toEqual(claims);
  });

  it('refuses a payload of a version it does not know, even when signed', () => {
    const payload = Buffer.from(JSON.stringify({ v: 2, op: 'read-public', key: 'a' })).toString('base64url');
    const signature = createHmac('sha256', secret).update(`dropgate-disk-token-v1\n${payload}`).digest('base64url');
    expect(refusal(`${payload}.${signature}`)).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('needs a secret of at least 32 bytes', () => {
    expect(() => createTokenSigner('x'.repeat(31))).toThrow(/at least 32 bytes/);
    expect(() => createTokenSigner(new Uint8Array(31))).toThrow(DropgateError);
    expect(() => createTokenSigner('x'.repeat(32))).not.toThrow();
    // UTF-8 bytes count, not characters: 16 two-byte characters are 32 bytes.
    expect(() => createTokenSigner('é'.repeat(16))).not.toThrow();
  });
});
