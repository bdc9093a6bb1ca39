// Which account is a server's default in a store, as `oidc-auth switch`
// remembers it: a small settings file without secrets, read through the same
// checks as the store (a link, another user's file or a shared one is refused).
import fs from 'node:fs';
import path from 'node:path';
import { accountProblem, DEFAULT_ACCOUNT } from '../../protocol/store-key.ts';
import type { Environment } from '../../types.ts';
import { accountsFile } from './paths.ts';
import { FileCache, fileVersion, readOwnFile, writeOwnFileAtomic } from './safe-file.ts';

/** Default accounts by store id, then by server key. */
type Defaults = Record<string, Record<string, string>>;

/** How long a cached `authenticate()` trusts its last look at the accounts file: a `switch` by another process is seen within this time. */
export const ACCOUNTS_RECHECK_MS = 1000;

let lastLook: { file: string; version: string | undefined; at: number } | undefined;

/**
 * The accounts file's version for the fast path: one stat at most every
 * {@link ACCOUNTS_RECHECK_MS} (a change made in this process is seen at once).
 */
export function accountsVersion(): string | undefined {
  const file = accountsFile();
  const now = Date.now();
  if (lastLook?.file !== file || now - lastLook.at >= ACCOUNTS_RECHECK_MS) lastLook = { file, version: fileVersion(file), at: now };
  return lastLook.version;
}

/** The defaults in the file's text; anything that is not a valid account name is skipped. */
export function parseDefaults(text: string | undefined): Defaults {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {};
  }
  const stores = (value as { defaults?: unknown } | null)?.defaults;
  if (stores === null || typeof stores !== 'object' || Array.isArray(stores)) return {};
  const defaults: Defaults = {};
  for (const [store, servers] of Object.entries(stores as Record<string, unknown>)) {
    if (servers === null || typeof servers !== 'object' || Array.isArray(servers)) continue;
    for (const [server, account] of Object.entries(servers as Record<string, unknown>)) {
      if (typeof account === 'string' && accountProblem(account) === undefined) (defaults[store] ??= {})[server] = account;
    }
  }
  return defaults;
}

const caches = new Map<string, FileCache<Defaults>>();

function cacheOf(file: string): FileCache<Defaults> {
  let cache = caches.get(file);
  if (!cache) {
    cache = new FileCache(file, () => parseDefaults(readOwnFile(file, 'The accounts file')));
    caches.set(file, cache);
  }
  return cache;
}

/** The account `oidc-auth switch` made the default for `server` in the store `storeId` (one stat while the file is unchanged). */
export function rememberedAccount(storeId: string, server: string, env: Environment = process.env): string | undefined {
  return cacheOf(accountsFile(env)).current().value[storeId]?.[server];
}

/** Make `account` the default for `server` in the store `storeId` (`default` forgets the choice). */
export function rememberAccount(storeId: string, server: string, account: string, env: Environment = process.env): string {
  const file = accountsFile(env);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const defaults = parseDefaults(readOwnFile(file, 'The accounts file'));
  const servers = { ...defaults[storeId] };
  if (account === DEFAULT_ACCOUNT) delete servers[server];
  else servers[server] = account;
  if (Object.keys(servers).length === 0) delete defaults[storeId];
  else defaults[storeId] = servers;
  writeOwnFileAtomic(file, `${JSON.stringify({ format: 1, defaults }, undefined, 2)}\n`, 'The accounts file');
  cacheOf(file).forget();
  lastLook = undefined;
  return file;
}
