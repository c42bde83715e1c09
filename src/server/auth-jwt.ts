/**
 * JWT bearer tokens verified with `jose`: an HS256 shared secret, or the public keys an identity
 * provider publishes as a JWKS (Auth0, Clerk, Keycloak, Cognito, Supabase, …). The user id is the
 * token's `sub`. Tokens never appear in errors or logs.
 */
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { DropgateError } from '../shared/errors.js';
import { bearerToken, missingCredentials } from './auth.js';
import type { Authenticate } from './config.js';

export type JwtKey = { secret: string | Uint8Array } | { jwksUrl: string | URL };

export interface JwtClaims {
  /** Required `iss`. Optional with a secret, required with a JWKS (any tenant of a provider shares its keys). */
  issuer?: string;
  /** Required `aud`. Optional with a secret, required with a JWKS. */
  audience?: string;
  /** Seconds of clock skew allowed on `exp` and `nbf`. Default 5. */
  clockTolerance?: number;
}

// Asymmetric only for a JWKS: a public key must never be usable as an HMAC secret.
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const MIN_SECRET_BYTES = 32;
const LOOPBACK_HOST = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

const unauthenticated = (message: string, cause: unknown) => new DropgateError('UNAUTHENTICATED', message, {}, { cause });

/** A rejected token as a 401 that says why, or a 503 when the keys themselves cannot be had. */
function translate(error: unknown): DropgateError {
  if (error instanceof errors.JWTExpired) return unauthenticated('The token has expired.', error);
  if (error instanceof errors.JWTClaimValidationFailed) {
    const messages: Record<string, string> = {
      iss: 'The token was issued by an issuer this server does not accept.',
      aud: 'The token is meant for another audience.',
      nbf: 'The token is not valid yet.',
      iat: 'The token was issued in the future.',
    };
    return unauthenticated(messages[error.claim] ?? `The token's "${error.claim}" claim is not valid.`, error);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return unauthenticated("The token's signature is not valid.", error);
  if (error instanceof errors.JOSEAlgNotAllowed) return unauthenticated("The token's algorithm is not accepted.", error);
  if (error instanceof errors.JWKSNoMatchingKey) return unauthenticated('No published key matches the token.', error);
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JOSENotSupported) {
    return unauthenticated('The token is malformed.', error);
  }
  // What is left is the JWKS fetch (timeout, refused connection, not 200, not JSON): not the
  // caller's fault, and failing closed means nobody is let in until the keys can be read.
  return new DropgateError('SERVICE_UNAVAILABLE', 'The keys to verify tokens cannot be fetched right now.', {}, { cause: error });
}

function checkJwksUrl(value: string | URL): URL {
  const url = new URL(value);
  // Keys fetched over plain HTTP could be swapped by anyone on the path; loopback is for tests.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOST.test(url.hostname))) {
    throw new TypeError(`dropgate: the JWKS URL must use https (got ${url.protocol}//${url.host}).`);
  }
  return url;
}

/**
 * Authenticates `Authorization: Bearer <JWT>`; the user id is the token's `sub`.
 * @example
 * // HS256 with a shared secret (your app signs the tokens):
 * authenticate: jwtAuth({ secret: process.env.JWT_SECRET! }, { issuer: 'https://app.example' })
 * @example
 * // An identity provider's published keys:
 * authenticate: jwtAuth(
 *   { jwksUrl: 'https://tenant.auth0.com/.well-known/jwks.json' },
 *   { issuer: 'https://tenant.auth0.com/', audience: 'https://api.app.example' },
 * )
 */
export function jwtAuth(key: JwtKey, claims: JwtClaims = {}): Authenticate {
  let verifyKey: Uint8Array | JWTVerifyGetKey;
  let algorithms: string[];
  if ('jwksUrl' in key) {
    if (!claims.issuer || !claims.audience) {
      throw new TypeError('dropgate: with a JWKS URL, give both `issuer` and `audience`: a provider signs the tokens of all its tenants.');
    }
    verifyKey = createRemoteJWKSet(checkJwksUrl(key.jwksUrl));
    algorithms = JWKS_ALGORITHMS;
  } else {
    verifyKey = typeof key.secret === 'string' ? new TextEncoder().encode(key.secret) : key.secret;
    if (verifyKey.length < MIN_SECRET_BYTES) throw new TypeError(`dropgate: the JWT secret must be at least ${MIN_SECRET_BYTES} bytes.`);
    algorithms = ['HS256'];
  }
  const options = {
    algorithms,
    clockTolerance: claims.clockTolerance ?? 5,
    requiredClaims: ['sub', 'exp'],
    ...(claims.issuer ? { issuer: claims.issuer } : {}),
    ...(claims.audience ? { audience: claims.audience } : {}),
  };
  return async (request) => {
    const token = bearerToken(request);
    if (token === undefined) throw missingCredentials('JWT');
    let subject: string | undefined;
    try {
      // Two call shapes, because jose's overloads differ for a key and a key-getter.
      const { payload } =
        verifyKey instanceof Uint8Array ? await jwtVerify(token, verifyKey, options) : await jwtVerify(token, verifyKey, options);
      subject = payload.sub;
    } catch (error) {
      throw translate(error);
    }
    if (!subject) throw new DropgateError('UNAUTHENTICATED', 'The token names no user (its "sub" claim is empty).');
    return { userId: subject };
  };
}

/** Whether a bearer token has the shape of a compact JWS (`header.payload.signature`). */
export function looksLikeJwt(token: string): boolean {
  return /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}
