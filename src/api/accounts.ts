import { rememberAccount } from '../adapters/store/accounts.ts';
import { resolveSettings, type ServerOptions } from './settings.ts';
import { accountOfKey, serverOfKey } from '../protocol/store-key.ts';

/**
 * Make `account` the default account of a server in a store, as
 * `oidc-auth switch SERVER ACCOUNT` does: calls without `account` (and
 * without `OIDC_AUTH_ACCOUNT`) then use it. `'default'` goes back to the
 * default account. Resolves to the settings file that remembers it (no secret).
 *
 * @example
 * ```ts
 * switchAccount({ host: 'https://myapp.example.org', account: 'project' });
 * await authenticate({ host: 'https://myapp.example.org' }); // the "project" account
 * ```
 */
export function switchAccount(options: ServerOptions & { account: string }): string {
  const { backend, store } = resolveSettings({ ...options, exchangeFrom: undefined });
  return rememberAccount(store.id, serverOfKey(backend.key), accountOfKey(backend.key));
}
