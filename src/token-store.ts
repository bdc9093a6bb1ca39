import os from 'node:os';
import path from 'node:path';
import { tokenFileFromEnv } from './adapters/environment.ts';
import { withFileLock } from './adapters/lock.ts';
import { ensureStoreFolder, readStoreFile, writeStoreFile, type StoreContent, type StoreEntry, type WarningSink } from './adapters/store-file.ts';
import { storeKey } from './protocol/store-key.ts';
import { isEvictable, nowSeconds } from './protocol/token.ts';
import type { Token, Environment } from './types.ts';

/** Options for {@link TokenStore}. */
export interface TokenStoreOptions {
  /**
   * The store file. `~` is expanded.
   * @default `${XDG_CACHE_HOME:-~/.cache}/<appName>/token-store.json`
   */
  path?: string | undefined;
  /** Folder name under the cache directory. @default 'py-oidc-auth' */
  appName?: string | undefined;
  /** Milliseconds to wait for another process's lock on the file. @default 30000 */
  lockTimeout?: number | undefined;
  /** Where warnings go (a corrupt file moved aside, a mode tightened). @default prints to stderr */
  onWarning?: WarningSink | undefined;
}

/** A stored login, as listed by {@link TokenStore.entries}. */
export interface StoredLogin extends StoreEntry {
  host: string;
}

/** The Python client's default store path for `appName`. */
export function defaultStorePath(appName = 'py-oidc-auth', env: Environment = process.env): string {
  const cache = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.trim() !== '' ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(cache, appName, 'token-store.json');
}

function expandHome(file: string): string {
  return file === '~' || file.startsWith('~/') ? path.join(os.homedir(), file.slice(1)) : file;
}

function liveEntries(content: StoreContent, now: number): Record<string, StoreEntry> {
  if (content.shape !== 'hosts') return {};
  return Object.fromEntries(Object.entries(content.entries).filter(([, entry]) => !isEvictable(entry.token, now)));
}

/**
 * One file holding the tokens of every host, in the Python client's format,
 * so a login made by either client serves the other.
 *
 * Reads are plain file reads; every change takes a lock beside the file,
 * re-reads it and writes it atomically (mode 0600, folder 0700), so another
 * process's entry is never lost.
 *
 * @example
 * ```ts
 * const store = new TokenStore({ appName: 'my-app' });
 * const token = await authenticate({ host: 'https://myapp.example.org', store });
 * ```
 */
export class TokenStore {
  /** Absolute path of the store file. */
  readonly path: string;
  readonly #lockTimeout: number;
  readonly #warn: WarningSink;
  /** Whether the person chose the path (else it is the library's own default store). */
  readonly #chosen: boolean;

  constructor(options: TokenStoreOptions = {}) {
    this.path = path.resolve(expandHome(options.path ?? defaultStorePath(options.appName)));
    this.#chosen = options.path !== undefined;
    this.#lockTimeout = options.lockTimeout ?? 30_000;
    this.#warn = options.onWarning ?? ((message) => process.stderr.write(`oidc-auth: ${message}\n`));
  }

  /** The lock file beside the store. */
  get lockPath(): string {
    return `${this.path}.lock`;
  }

  #read(): StoreContent {
    return readStoreFile(this.path, this.#warn, { chosen: this.#chosen });
  }

  #write(content: StoreContent): Promise<void> {
    return writeStoreFile(this.path, content, this.#warn, { chosen: this.#chosen });
  }

  /** The token stored for `host`, unless it is past both expiries (the eviction rule). */
  get(host: string): Token | undefined {
    const content = this.#read();
    const token = content.shape === 'single' ? content.token : content.entries[storeKey(host)]?.token;
    return token && !isEvictable(token) ? token : undefined;
  }

  /** Every live entry with its host, for listings. */
  entries(): StoredLogin[] {
    return Object.entries(liveEntries(this.#read(), nowSeconds())).map(([host, entry]) => ({ host, ...entry }));
  }

  /** Hosts with a live entry. */
  hosts(): string[] {
    return this.entries().map((entry) => entry.host);
  }

  /** Store `token` for `host`. */
  async put(host: string, token: Token): Promise<void> {
    await this.update(() => ({ [storeKey(host)]: token }));
  }

  /** Forget `host`; resolves to whether there was an entry. */
  async remove(host: string): Promise<boolean> {
    const key = storeKey(host);
    let found = false;
    await this.update((current) => {
      found = current(key) !== undefined;
      return { [key]: null };
    });
    return found;
  }

  /** Forget every host. */
  async clear(): Promise<void> {
    await this.update(() => 'clear');
  }

  /**
   * Lock, re-read, apply `change`, write, unlock. `change` gets a reader of
   * the current entries and returns the hosts to set (a token) or drop
   * (`null`), or `'clear'`; expired entries are dropped on the way.
   */
  async update(change: (current: (host: string) => Token | undefined) => Promise<Record<string, Token | null> | 'clear'> | Record<string, Token | null> | 'clear'): Promise<void> {
    ensureStoreFolder(this.path);
    await withFileLock(this.lockPath, async () => {
      const content = this.#read();
      const now = nowSeconds();
      const reader = (host: string) => (content.shape === 'single' ? content.token : content.entries[host]?.token);
      const changes = await change(reader);
      if (changes !== 'clear' && Object.keys(changes).length === 0) return;
      if (content.shape === 'single') {
        const next = changes === 'clear' ? undefined : Object.values(changes).find((value) => value !== undefined);
        await this.#write({ shape: 'single', token: next === null ? undefined : next ?? content.token });
        return;
      }
      const entries = changes === 'clear' ? {} : liveEntries(content, now);
      if (changes !== 'clear') {
        for (const [host, token] of Object.entries(changes)) {
          if (token === null) {
            delete entries[host];
            if (content.others) delete content.others[host];
          } else {
            entries[host] = { token, stored_at: now };
            if (content.others) delete content.others[host];
          }
        }
      }
      await this.#write({ shape: 'hosts', entries, others: changes === 'clear' ? undefined : content.others });
    }, { timeoutMs: this.#lockTimeout });
  }
}

/**
 * The store used when none is given: the file named by `OIDC_TOKEN_FILE`
 * if set, else the Python client's default store for `appName`.
 */
export function defaultStore(appName?: string, env: Environment = process.env): TokenStore {
  const tokenFile = tokenFileFromEnv(env);
  return tokenFile ? new TokenStore({ path: tokenFile }) : new TokenStore({ appName });
}
