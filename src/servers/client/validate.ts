// The public entry to ID-token validation; jose loads on the first call.
import type { JWTPayload } from 'jose';
import type { IdTokenExpectations, KeySource } from './id-token.ts';

/**
 * Validate an ID token: signature against the provider's keys (refetched once
 * for an unknown `kid`), `iss`, `aud`, `azp`, `exp`, `iat`, `nbf`, `nonce`,
 * `auth_time` against `max_age`, the first token's `iss` and `sub` on refresh;
 * never `alg: none`. Resolves to the claims; throws `AuthError` `invalid_id_token`.
 */
export async function validateIdToken(idToken: string, keys: KeySource, expected: IdTokenExpectations): Promise<JWTPayload> {
  const { validateIdToken: validate } = await import('./id-token.ts');
  return validate(idToken, keys, expected);
}
