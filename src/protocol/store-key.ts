// Store keys: a normalised host for py-oidc-auth servers (the Python
// client's key), or a provider key naming issuer, client id and scopes; a
// named account or other scopes add a `#...` part that the Python client
// never reads, so its own entry stays where it always was.
import { normalizeHost } from './host.ts';

/** Prefix of store keys that name a standard-provider login instead of a host. */
export const PROVIDER_KEY_PREFIX = 'oidc:';

/** The scopes asked of a provider when none are given. */
export const DEFAULT_PROVIDER_SCOPE: readonly string[] = Object.freeze(['openid', 'offline_access']);

/** The account name that means the unnamed default account (today's entry). */
export const DEFAULT_ACCOUNT = 'default';

/** `"a b"` or `["a", "b"]` -> `["a", "b"]` (no empties, no duplicates, order kept). */
export function scopeList(scope: string | readonly string[] | undefined): string[] {
  const items = typeof scope === 'string' ? scope.split(/\s+/) : scope ?? [];
  return [...new Set(items.filter((item) => item !== ''))];
}

/**
 * Why `name` cannot name an account (letters, digits, `.`, `_`, `-`, at most
 * 64, not only dots), or undefined when it can.
 */
export function accountProblem(name: string): string | undefined {
  if (/^[A-Za-z0-9._-]{1,64}$/.test(name) && !/^\.+$/.test(name)) return undefined;
  return `${JSON.stringify(name)} is not an account name: use 1 to 64 letters, digits, ".", "_" or "-" (not only dots), e.g. work or alice.project`;
}

/** A named account as it goes into a key: undefined for the default account. */
export function namedAccount(account: string | undefined): string | undefined {
  return account === undefined || account === DEFAULT_ACCOUNT ? undefined : account;
}

function suffix(parts: Array<[string, string | undefined]>, joiner: string): string {
  const present = parts.filter((part): part is [string, string] => part[1] !== undefined);
  return present.length === 0 ? '' : `${joiner}${present.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&')}`;
}

/**
 * The store key of a py-oidc-auth server's login: the normalised host (the
 * Python client's key) for the default account with the server's default
 * scopes; `#account=...` and `#scope=...` (sorted) otherwise.
 */
export function hostKey(host: string, options: { account?: string | undefined; scope?: readonly string[] | undefined } = {}): string {
  const scope = options.scope && options.scope.length > 0 ? [...options.scope].sort().join(' ') : undefined;
  return `${normalizeHost(host)}${suffix([['scope', scope], ['account', namedAccount(options.account)]], '#')}`;
}

/**
 * The store key of a provider login: everything that identifies the
 * credential (issuer, client id, scopes in any order, account), so that two
 * clients, scope sets or accounts never overwrite each other. It cannot
 * collide with a host key.
 */
export function providerKey(issuer: string, clientId: string, scope: readonly string[], account?: string, dpop = false): string {
  return `${PROVIDER_KEY_PREFIX}${issuer}#client_id=${encodeURIComponent(clientId)}&scope=${encodeURIComponent([...scope].sort().join(' '))}${suffix([['proof', dpop ? 'dpop' : undefined], ['account', namedAccount(account)]], '&')}`;
}

/** The store key for `hostOrKey`: a provider key as it is, else the normalised host with its `#...` part kept. */
export function storeKey(hostOrKey: string): string {
  if (hostOrKey.startsWith(PROVIDER_KEY_PREFIX)) return hostOrKey;
  const hash = hostOrKey.indexOf('#');
  return hash < 0 ? normalizeHost(hostOrKey) : `${normalizeHost(hostOrKey.slice(0, hash))}${hostOrKey.slice(hash)}`;
}

/** A key's account part: always last, so that the key without it is its server's. */
const ACCOUNT_PART = /[#&]account=([^&#]*)$/;

/** The account a store key names (`default` when none). */
export function accountOfKey(key: string): string {
  const encoded = ACCOUNT_PART.exec(key)?.[1];
  if (encoded === undefined) return DEFAULT_ACCOUNT;
  try {
    return decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
}

/**
 * The key of the server and scopes without the account: what the accounts
 * of one server share (a second login's prompt, who else is logged in there,
 * the default account chosen with `switch`).
 */
export function serverOfKey(key: string): string {
  return key.replace(ACCOUNT_PART, '');
}

/** The key of `key`'s server with `account` instead of its own. */
export function withAccount(key: string, account: string | undefined): string {
  const server = serverOfKey(key);
  const named = namedAccount(account);
  if (named === undefined) return server;
  return `${server}${server.includes('#') ? '&' : '#'}account=${encodeURIComponent(named)}`;
}
