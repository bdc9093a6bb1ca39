// Which store a call uses: the one given, else OIDC_TOKEN_FILE, else
// OIDC_AUTH_STORE (file, keyring, memory), else the Python client's file.
// One instance per choice and environment, so that warnings are said once
// and each store's read cache lives across calls.
import { tokenFileFromEnv } from './paths.ts';
import { KeyringTokenStore } from './keyring-store.ts';
import { AuthError } from '../../errors.ts';
import { sharedMemoryStore } from './memory-store.ts';
import type { TokenStoreBackend } from './contract.ts';
import { TokenStore } from './file-store.ts';
import type { Environment } from '../../types.ts';

/** The stores that can be named by a word: `store: 'keyring'`, `--store keyring`, `OIDC_AUTH_STORE=keyring`. */
export const STORE_NAMES = ['file', 'keyring', 'memory'] as const;

/** A store named by a word. */
export type StoreName = (typeof STORE_NAMES)[number];

const chosen = new Map<string, TokenStoreBackend>();

/** Whether `value` names a store. */
export function isStoreName(value: unknown): value is StoreName {
  return (STORE_NAMES as readonly unknown[]).includes(value);
}

/**
 * The store for `store` (an object is used as it is). Without one:
 * `OIDC_TOKEN_FILE` if set, else `OIDC_AUTH_STORE`, else the file store.
 */
export function chooseStore(store: TokenStoreBackend | StoreName | undefined, appName: string | undefined, env: Environment = process.env): TokenStoreBackend {
  if (store !== undefined && typeof store === 'object') return store;
  const tokenFile = store === undefined ? tokenFileFromEnv(env) : undefined;
  let name: string = store ?? (tokenFile === undefined ? env.OIDC_AUTH_STORE?.trim() || 'file' : 'file');
  name = name.toLowerCase();
  if (!isStoreName(name)) throw new AuthError('store_error', `OIDC_AUTH_STORE=${JSON.stringify(env.OIDC_AUTH_STORE)} names no store: use file, keyring or memory.`);
  if (name === 'memory') return sharedMemoryStore();
  const key = `${name}\n${appName ?? ''}\n${tokenFile ?? ''}\n${env.XDG_CACHE_HOME ?? ''}\n${env.HOME ?? ''}`;
  let found = chosen.get(key);
  if (!found) {
    const file = tokenFile ? new TokenStore({ path: tokenFile }) : new TokenStore({ appName }, env);
    found = name === 'keyring' ? new KeyringTokenStore({ appName, fallback: file }, env) : file;
    chosen.set(key, found);
  }
  return found;
}
