// Store keys: a normalised host for py-oidc-auth servers (the Python
// client's key), or a provider key naming issuer, client id and scopes.
import { normalizeHost } from './host.ts';

/** Prefix of store keys that name a standard-provider login instead of a host. */
export const PROVIDER_KEY_PREFIX = 'oidc:';

/** The scopes asked of a provider when none are given. */
export const DEFAULT_PROVIDER_SCOPE: readonly string[] = Object.freeze(['openid', 'offline_access']);

/** `"a b"` or `["a", "b"]` -> `["a", "b"]` (no empties, no duplicates, order kept). */
export function scopeList(scope: string | readonly string[] | undefined): string[] {
  const items = typeof scope === 'string' ? scope.split(/\s+/) : scope ?? [];
  return [...new Set(items.filter((item) => item !== ''))];
}

/**
 * The store key of a provider login: everything that identifies the
 * credential (issuer, client id, scopes in any order), so that two clients or
 * scope sets never overwrite each other. It cannot collide with a host key.
 */
export function providerKey(issuer: string, clientId: string, scope: readonly string[]): string {
  return `${PROVIDER_KEY_PREFIX}${issuer}#client_id=${encodeURIComponent(clientId)}&scope=${encodeURIComponent([...scope].sort().join(' '))}`;
}

/** The store key for `hostOrKey`: a provider key as it is, else the normalised host. */
export function storeKey(hostOrKey: string): string {
  return hostOrKey.startsWith(PROVIDER_KEY_PREFIX) ? hostOrKey : normalizeHost(hostOrKey);
}
