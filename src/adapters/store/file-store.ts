import path from 'node:path';
import { cacheHome, resolveStorePath, tokenFileFromEnv } from './paths.ts';
import { loginLockBeside, withFileLock } from './lock.ts';
import { FileCache, fileVersion } from './safe-file.ts';
import { ensureStoreFolder, readStoreFile, writeStoreFile, type StoreContent, type StoreEntry, type WarningSink } from './file-format.ts';
import { storeKey } from '../../protocol/store-key.ts';
import { BaseTokenStore, warnOnStderr, type LoginTurnOptions, type StoreChange, type StoredLogin, type StoreLease, type StoreRead, type StoreVersion } from './contract.ts';
import { isEvictable, nowSeconds } from '../../protocol/token.ts';
import type { Token, Environment } from '../../types.ts';

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

/** The Python client's default store path for `appName`. */
export function defaultStorePath(appName = 'py-oidc-auth', env: Environment = process.env): string {
  return path.join(cacheHome(env), appName, 'token-store.json');
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
export class TokenStore extends BaseTokenStore {
  /** Absolute path of the store file. */
  readonly path: string;
  readonly #lockTimeout: number;
  readonly #warn: WarningSink;
  /** Whether the person chose the path (else it is the library's own default store). */
  readonly #chosen: boolean;
  /** The last content read or written, and the file version it belongs to: a read of an unchanged file costs one stat. */
  readonly #cache: FileCache<StoreContent>;

  /** `env` gives the cache folder of the default path (`XDG_CACHE_HOME`). */
  constructor(options: TokenStoreOptions = {}, env: Environment = process.env) {
    super();
    this.path = resolveStorePath(options.path ?? defaultStorePath(options.appName, env));
    this.#chosen = options.path !== undefined;
    this.#lockTimeout = options.lockTimeout ?? 30_000;
    this.#warn = options.onWarning ?? warnOnStderr;
    this.#cache = new FileCache(this.path, () => this.#read());
  }

  /** The store file's path: the store's identity. */
  get id(): string {
    return this.path;
  }

  /** Where and how the tokens are kept, in words (for listings and messages). */
  get description(): string {
    return `${this.path} (a plaintext JSON file, mode 600, the Python client's format)`;
  }

  /** Report a warning about this store or its logins, the way `onWarning` says (default: stderr). */
  warn(message: string): void {
    this.#warn(message);
  }

  /** The lock file beside the store. */
  get lockPath(): string {
    return `${this.path}.lock`;
  }

  #read(): StoreContent {
    return readStoreFile(this.path, this.#warn, { chosen: this.#chosen });
  }

  async #write(content: StoreContent): Promise<void> {
    await writeStoreFile(this.path, content, this.#warn, { chosen: this.#chosen });
    // Still inside the lock: nobody else has written since.
    this.#cache.remember(this.version(), content);
  }

  /** The store file's current version (one `stat`: writes replace the file, so any write by any process changes it), or undefined while there is no file. */
  version(): StoreVersion | undefined {
    return fileVersion(this.path);
  }

  /** The token stored for `host`, unless it is past both expiries (the eviction rule). */
  get(host: string): Token | undefined {
    return this.read(host).token;
  }

  /** The token stored for `host` and the version of the file it was read from (undefined when the file changed during the read). */
  read(host: string): StoreRead {
    const { value: content, version } = this.#cache.current();
    const token = content.shape === 'single' ? content.token : content.entries[storeKey(host)]?.token;
    return { token: token && !isEvictable(token) ? token : undefined, version };
  }

  /** Every live entry with its host, for listings. */
  entries(): StoredLogin[] {
    return Object.entries(liveEntries(this.#cache.current().value, nowSeconds())).map(([host, entry]) => ({ host, ...entry }));
  }

  /** Hosts with a live entry. */
  hosts(): string[] {
    return this.entries().map((entry) => entry.host);
  }

  /**
   * Lock, re-read, apply `change`, write, unlock. `change` gets a reader of
   * the current entries and returns the hosts to set (a token) or drop
   * (`null`), or `'clear'`; expired entries are dropped on the way. Resolves
   * to the version of the file after the change (as read, when nothing changed).
   */
  async update(change: StoreChange): Promise<StoreVersion | undefined> {
    ensureStoreFolder(this.path);
    return withFileLock(this.lockPath, async () => {
      // The one read inside the lock (no other process can write until it is released): from memory when the file is
      // still the version this store last read or wrote (every write replaces the file, so any other writer changes it).
      const { value: cached, version } = this.#cache.current();
      // A copy of what the change below edits in place, so that the remembered content stays the file's until the write.
      const content: StoreContent = cached.shape === 'hosts' && cached.others ? { ...cached, others: { ...cached.others } } : cached;
      const now = nowSeconds();
      const reader = (host: string) => (content.shape === 'single' ? content.token : content.entries[host]?.token);
      const changes = await change(reader);
      if (changes !== 'clear' && Object.keys(changes).length === 0) return version;
      if (content.shape === 'single') {
        const next = changes === 'clear' ? undefined : Object.values(changes).find((value) => value !== undefined);
        await this.#write({ shape: 'single', token: next === null ? undefined : next ?? content.token });
        return this.#cache.version;
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
      return this.#cache.version;
    }, { timeoutMs: this.#lockTimeout });
  }

  /** One login at a time for `key`: a lock file beside the store, per server, with a heartbeat; a dead holder's is taken over. */
  loginTurn(key: string, options: LoginTurnOptions): Promise<StoreLease> {
    return loginLockBeside(this.path, key, options);
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
