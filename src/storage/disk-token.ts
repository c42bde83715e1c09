/**
 * The disk store's "presigned URLs": `{baseUrl}/{token}`, where the token is a base64url JSON
 * payload and an HMAC-SHA256 over it. Everything the receiver must enforce travels in the payload,
 * so the gateway stays stateless: any instance with the secret can check any token.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DropgateError } from '../shared/errors.js';
import type { Checksum } from '../shared/protocol.js';

/** A one-shot upload of a whole object. */
export interface PutClaims {
  op: 'put';
  key: string;
  size: number;
  contentType: string;
  checksum?: Checksum;
  ifNoneMatch?: boolean;
  /** Expiry, milliseconds since the epoch. */
  exp: number;
  /** Random; names the marker that makes the token single-use. */
  nonce: string;
}

/** A one-shot upload of one part of a multipart upload. */
export interface PartClaims {
  op: 'part';
  key: string;
  multipartId: string;
  partNumber: number;
  size: number;
  md5?: string;
  /** The plan's part size: the part is written at (partNumber-1)·partSize, so the client cannot pick where. */
  partSize?: number;
  exp: number;
  nonce: string;
}

/** A short-lived read. */
export interface GetClaims {
  op: 'get';
  key: string;
  fileName?: string;
  exp: number;
  nonce: string;
}

/** A permanent read: no expiry and no nonce, so the same key always gets the same URL. */
export interface PublicClaims {
  op: 'read-public';
  key: string;
}

export type TokenClaims = PutClaims | PartClaims | GetClaims | PublicClaims;

export interface TokenSigner {
  sign(claims: TokenClaims): string;
  /** The claims of a genuine token, expired or not; throws FORBIDDEN otherwise. */
  open(token: string): TokenClaims;
  /** The claims of a genuine, unexpired token; throws FORBIDDEN or UPLOAD_EXPIRED otherwise. */
  verify(token: string, nowMs: number): TokenClaims;
}

const MIN_SECRET_BYTES = 32;
const MAX_TOKEN_CHARS = 8192;
// Domain separation: the same secret may sign other things (the dev secret file is shared).
const CONTEXT = 'dropgate-disk-token-v1\n';
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/;
const OPS = new Set(['put', 'part', 'get', 'read-public']);

/** A fresh 128-bit nonce for a token. */
export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

/** The secret as bytes, refusing short ones: an HMAC is only as strong as its key. */
export function secretBytes(secret: string | Uint8Array): Buffer {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new DropgateError(
      'INVALID_REQUEST',
      `The disk store secret must be at least ${MIN_SECRET_BYTES} bytes (got ${bytes.length}); generate one with \`openssl rand -base64 48\`.`,
      { option: 'secret' },
    );
  }
  return bytes;
}

/**
 * An HMAC-SHA256 token signer for the disk store.
 * @example
 * const signer = createTokenSigner(process.env.DROPGATE_SECRET!);
 * const token = signer.sign({ op: 'read-public', key: 'uploads/a.mp4' });
 * signer.verify(token, Date.now()); // { op: 'read-public', key: 'uploads/a.mp4' }
 */
export function createTokenSigner(secret: string | Uint8Array): TokenSigner {
  const key = secretBytes(secret);
  const mac = (payload: string) => createHmac('sha256', key).update(CONTEXT).update(payload).digest('base64url');

  const open = (token: string): TokenClaims => {
    if (token.length > MAX_TOKEN_CHARS || !TOKEN_SHAPE.test(token)) throw forbidden();
    const dot = token.indexOf('.');
    const payload = token.slice(0, dot);
    // Compare the strings, not decoded bytes: base64url decoding is lenient, the signature is not.
    const given = Buffer.from(token.slice(dot + 1), 'latin1');
    const expected = Buffer.from(mac(payload), 'latin1');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw forbidden();
    return parseClaims(payload);
  };

  return {
    sign(claims) {
      const payload = Buffer.from(JSON.stringify({ v: 1, ...claims }), 'utf8').toString('base64url');
      return `${payload}.${mac(payload)}`;
    },
    open,
    verify(token, nowMs) {
      const claims = open(token);
      assertFresh(claims, nowMs);
      return claims;
    },
  };
}

/** Throws UPLOAD_EXPIRED when the claims are past their expiry; public claims never expire. */
export function assertFresh(claims: TokenClaims, nowMs: number): void {
  if (claims.op !== 'read-public' && claims.exp <= nowMs) {
    throw new DropgateError('UPLOAD_EXPIRED', `This URL expired at ${new Date(claims.exp).toISOString()}; ask for a new one.`, {
      reason: 'url-expired',
      expiredAt: new Date(claims.exp).toISOString(),
    });
  }
}

function forbidden(): DropgateError {
  return new DropgateError('FORBIDDEN', 'The URL signature is not valid.', { reason: 'bad-signature' });
}

// The signature is already checked, so the payload is ours; this only guards against a token from
// a future version whose shape this code does not know.
function parseClaims(payload: string): TokenClaims {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw forbidden();
  }
  const claims = value as { v?: unknown; op?: unknown; key?: unknown; exp?: unknown } & Record<string, unknown>;
  if (claims === null || typeof claims !== 'object' || claims.v !== 1 || !OPS.has(claims.op as string) || typeof claims.key !== 'string') {
    throw forbidden();
  }
  if (claims.op !== 'read-public' && typeof claims.exp !== 'number') throw forbidden();
  const { v: _version, ...rest } = claims;
  return rest as unknown as TokenClaims;
}
