// ID-token validation (OIDC Core 3.1.3.7, 12.2) with jose.
import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { AuthError } from '../../errors.ts';

/** What an ID token must match. */
export interface IdTokenExpectations {
  /** The issuer the token's `iss` must equal. */
  issuer: string;
  /** The client id the token's `aud` must contain (and `azp` name, when there are several audiences). */
  clientId: string;
  /** The nonce of the login that asked for it (absent on refresh). */
  nonce?: string | undefined;
  /** `max_age` of the login: `auth_time` must be recent enough. */
  maxAge?: number | undefined;
  /** Seconds of clock difference tolerated. @default 60 */
  clockTolerance?: number | undefined;
  /** Claims of the first ID token: a refreshed one must have the same `iss` and `sub`. */
  previous?: {
    /** The first ID token's issuer. */
    iss?: unknown;
    /** The first ID token's subject: who logged in. */
    sub?: unknown;
  } | undefined;
  /** Unix seconds (tests). */
  now?: number | undefined;
}

/** Where the provider's keys come from: a cached copy, and a fresh fetch for an unknown `kid`. */
export interface KeySource {
  /** The key set, from the cache when it has one. */
  keys(): Promise<JSONWebKeySet>;
  /** The key set fetched again, when a token names a key the cached set lacks (the provider rotated its keys). */
  refetch(): Promise<JSONWebKeySet>;
}

function invalid(message: string, cause?: unknown): AuthError {
  return new AuthError('invalid_id_token', `The ID token is not valid: ${message}. Log in again; if it persists, the provider or the client's settings (issuer, client id, clock) are wrong.`, { cause });
}

async function verifyWith(idToken: string, jwks: JSONWebKeySet, expected: IdTokenExpectations) {
  return jwtVerify(idToken, createLocalJWKSet(jwks), {
    issuer: expected.issuer,
    audience: expected.clientId,
    clockTolerance: expected.clockTolerance ?? 60,
    requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
    currentDate: expected.now === undefined ? undefined : new Date(expected.now * 1000),
  });
}

/**
 * Verify the signature against the provider's JWKS (refetched once when the
 * `kid` is unknown), then `iss`, `aud`, `azp`, `exp`, `iat`, `nbf`, `nonce`,
 * `auth_time` against `max_age`, and for a refreshed token the first token's
 * `iss` and `sub`. `alg: none` is always refused. Returns the claims.
 */
export async function validateIdToken(idToken: string, keys: KeySource, expected: IdTokenExpectations): Promise<JWTPayload> {
  let header;
  try {
    header = decodeProtectedHeader(idToken);
  } catch (error) {
    throw invalid('it is not a JWS', error);
  }
  if (typeof header.alg !== 'string' || header.alg.toLowerCase() === 'none') throw invalid('it is unsigned (alg "none")');
  if (header.alg.startsWith('HS')) throw invalid(`it is signed with ${header.alg}; only the provider's public keys are accepted`);
  let payload: JWTPayload;
  try {
    try {
      ({ payload } = await verifyWith(idToken, await keys.keys(), expected));
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      ({ payload } = await verifyWith(idToken, await keys.refetch(), expected)); // Keys rotated: fetch them once more.
    }
  } catch (error) {
    if (error instanceof AuthError) throw error;
    const reason = error instanceof errors.JWKSNoMatchingKey ? `no key of the provider matches its kid ${JSON.stringify(header.kid ?? null)}`
      : error instanceof errors.JWTExpired ? 'it has expired (exp)'
        : error instanceof errors.JWTClaimValidationFailed ? `claim ${error.claim} failed: ${error.reason === 'check_failed' ? 'it is not yet valid or was issued in the future' : error.message}`
          : error instanceof errors.JWSSignatureVerificationFailed ? 'its signature does not verify'
            : (error as Error).message;
    throw invalid(reason, error);
  }
  const tolerance = expected.clockTolerance ?? 60;
  const now = expected.now ?? Date.now() / 1000;
  if (typeof payload.iat === 'number' && payload.iat > now + tolerance) throw invalid('it was issued in the future (iat)');
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (audiences.length > 1 && payload.azp === undefined) throw invalid('it has several audiences but no azp');
  if (payload.azp !== undefined && payload.azp !== expected.clientId) throw invalid(`azp is ${JSON.stringify(payload.azp)}, not this client`);
  if (expected.nonce !== undefined && payload.nonce !== expected.nonce) throw invalid('its nonce does not match the login (a replayed token?)');
  if (expected.maxAge !== undefined) {
    if (typeof payload.auth_time !== 'number') throw invalid('max_age was asked for but it has no auth_time');
    if (now - tolerance > payload.auth_time + expected.maxAge) throw invalid(`the sign-in (auth_time) is older than max_age ${expected.maxAge} s`);
  }
  if (expected.previous && (payload.iss !== expected.previous.iss || payload.sub !== expected.previous.sub)) {
    throw invalid('a refreshed ID token must name the same iss and sub as the first one (OIDC Core 12.2)');
  }
  return payload;
}
