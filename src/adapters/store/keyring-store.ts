// Tokens in the operating system's keyring (Secret Service on Linux,
// Keychain on macOS, Credential Manager on Windows) through @napi-rs/keyring,
// an optional dependency loaded on first use. A small non-secret index file
// lists what is in the keyring (for listings, and as the store's version)
// and carries the transaction lock; tokens the keyring cannot take go to the
// plaintext file store, visibly.
import path from 'node:path';
import { storeKey } from '../../protocol/store-key.ts';
import { isEvictable, nowSeconds } from '../../protocol/token.ts';
import { BaseTokenStore, loginOfKey, summaryOf, warnOnStderr, type LoginTurnOptions, type StoreChange, type StoredLogin, type StoredSummary, type StoreLease, type StoreRead, type StoreVersion } from './contract.ts';
import { defaultStore, type TokenStore } from './file-store.ts';
import type { Environment, Token } from '../../types.ts';
import { cacheHome } from './paths.ts';
import { loginLockBeside, withFileLock } from './lock.ts';
import { FileCache, fileVersion, readOwnFile, writeOwnFileAtomic } from './safe-file.ts';
import { ensureStoreFolder } from './file-format.ts';
import { indexFrom, KeyringItems, KeyringUnavailable, type Index, type IndexEntry } from './keyring-items.ts';

/** Options for {@link KeyringTokenStore}. */
export interface KeyringTokenStoreOptions {
  /** Names the keyring service (`oidc-auth-client:<appName>`), the index folder and the fallback file. @default 'py-oidc-auth' */
  appName?: string | undefined;
  /** The index of logins in the keyring (no secrets). @default `${XDG_CACHE_HOME:-~/.cache}/<appName>/keyring-index.json` */
  indexPath?: string | undefined;
  /** Where tokens go when the keyring cannot take them. @default the file store for `appName` (or `OIDC_TOKEN_FILE`) */
  fallback?: TokenStore | undefined;
  /** Milliseconds to wait for another process's lock. @default 30000 */
  lockTimeout?: number | undefined;
  /** Milliseconds one keyring call may take (time for a person to answer an unlock prompt; a prompt nobody sees is given up). @default 30000 */
  keyringTimeout?: number | undefined;
  /** Where warnings go (a fallback to the plaintext file). @default stderr */
  onWarning?: ((message: string) => void) | undefined;
}

/**
 * Tokens in the operating system's keyring, one secret per server (split
 * into parts when large), with a non-secret index file beside the usual
 * store for listings and the transaction lock: a refresh is still made once
 * across processes. When the keyring is unavailable (no Secret Service on a
 * headless node, a locked keyring in a batch job) the token goes to the
 * plaintext file store instead, with one warning that says where and why.
 *
 * The Python client cannot read the keyring: `oidc-auth --export HOST --json`
 * writes a login out for it.
 *
 * @example
 * ```ts
 * const token = await authenticate({ host: 'https://myapp.example.org', store: 'keyring' });
 * ```
 */
export class KeyringTokenStore extends BaseTokenStore {
  /** The keyring service name the secrets are stored under. */
  readonly service: string;
  /** The index file (no secrets). */
  readonly indexPath: string;
  /** The plaintext file store tokens go to when the keyring cannot take them. */
  readonly fallback: TokenStore;
  readonly #lockTimeout: number;
  readonly #items: KeyringItems;
  readonly #warn: (message: string) => void;
  #warned = new Set<string>();
  readonly #index: FileCache<Index>;

  constructor(options: KeyringTokenStoreOptions = {}, env: Environment = process.env) {
    super();
    const appName = options.appName ?? 'py-oidc-auth';
    this.service = `oidc-auth-client:${appName}`;
    this.indexPath = path.resolve(options.indexPath ?? path.join(cacheHome(env), appName, 'keyring-index.json'));
    this.#warn = options.onWarning ?? warnOnStderr;
    this.fallback = options.fallback ?? defaultStore(appName, env);
    this.#lockTimeout = options.lockTimeout ?? 30_000;
    this.#items = new KeyringItems(this.service, options.keyringTimeout ?? 30_000);
    this.#index = new FileCache(this.indexPath, () => indexFrom(readOwnFile(this.indexPath, 'The keyring index')));
  }

  get id(): string {
    return `keyring:${this.service} ${this.indexPath}`;
  }

  get description(): string {
    return `the operating system's keyring (service "${this.service}"; index without secrets: ${this.indexPath}); ` +
      `tokens the keyring could not take: ${this.fallback.path} (a plaintext file, mode 600)`;
  }

  /** Report a warning about this store or its logins, the way `onWarning` says (default: stderr). */
  warn(message: string): void {
    this.#warn(message);
  }

  #warnOnce(key: string, message: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#warn(message);
  }

  /** The index: read again only when its file changed (one stat otherwise). */
  #readIndex(): Index {
    return this.#index.current().value;
  }

  /** Write the index (inside update(), which made its folder). */
  #writeIndex(index: Index): void {
    writeOwnFileAtomic(this.indexPath, `${JSON.stringify({ format: 1, service: this.service, entries: index }, undefined, 2)}\n`, 'The keyring index');
  }

  /** The index and the fallback file, each by its file's identity: any write by any process changes it. */
  version(): StoreVersion | undefined {
    const index = fileVersion(this.indexPath);
    const file = this.fallback.version();
    return index === undefined && file === undefined ? undefined : `${index ?? '-'}|${file ?? '-'}`;
  }

  /** The token of `key` in the keyring (read again with a fresh index when a writer came in between), warning once when it cannot be read. */
  async #secretOrWarn(key: string, first: IndexEntry): Promise<Token | undefined> {
    try {
      let entry = first;
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const { token, stale } = await this.#items.readSecret(key, entry);
        if (token || !stale) return token;
        this.#index.forget();
        const next = this.#readIndex()[key];
        if (!next) return this.fallback.read(key).token; // Another process moved it out of the keyring.
        if (next.generation === entry.generation) break; // The index agrees: the keyring does not have it.
        entry = next;
      }
      this.#warnOnce(`missing ${key}`, `The keyring has no readable token for ${key}, though ${this.indexPath} lists one (the keyring is locked, unavailable here, or the item was removed). A refresh or login stores a new one.`);
      return undefined;
    } catch (error) {
      this.#warnOnce(`read ${key}`, `Could not read the token of ${key} from the keyring (${(error as Error).message}).`);
      return undefined;
    }
  }

  async read(host: string): Promise<StoreRead> {
    const key = storeKey(host);
    const before = this.version();
    const entry = this.#readIndex()[key];
    let token: Token | undefined;
    if (entry) token = await this.#secretOrWarn(key, entry);
    else token = this.fallback.read(key).token;
    const version = before !== undefined && before === this.version() ? before : undefined;
    return { token: token && !isEvictable(token) ? token : undefined, version };
  }

  /** The token stored for `host`, unless it is past both expiries. */
  async get(host: string): Promise<Token | undefined> {
    return (await this.read(host)).token;
  }

  /** Every live login with its token (reads every secret; `list()` reads none). */
  async entries(): Promise<StoredLogin[]> {
    const index = this.#readIndex();
    const inKeyring = await Promise.all(Object.entries(index).map(async ([host, entry]) => ({ host, token: await this.#secretOrWarn(host, entry), stored_at: entry.stored_at })));
    const now = nowSeconds();
    const keyring = inKeyring.filter((login): login is StoredLogin => login.token !== undefined && !isEvictable(login.token, now));
    return [...keyring, ...this.fallback.entries().filter((login) => !(login.host in index))];
  }

  /** Every live login, from the index and the fallback file, with where it is kept: no secret is read. */
  list(): StoredSummary[] {
    const now = nowSeconds();
    const index = this.#readIndex();
    const keyring = Object.entries(index)
      .filter(([, entry]) => !isEvictable(entry, now))
      .map(([host, entry]) => ({ host, ...loginOfKey(host), stored_at: entry.stored_at, expires: entry.expires, refresh_expires: entry.refresh_expires, scope: entry.scope, refreshable: entry.refreshable, ...(entry.who ? { who: entry.who } : {}), where: 'keyring' }));
    const file = this.fallback.entries().filter((login) => !(login.host in index)).map((login) => summaryOf(login, `plaintext file ${this.fallback.path}`));
    return [...keyring, ...file];
  }

  /**
   * Under the lock beside the index: read the index and every secret,
   * apply `change`, write secrets (or fall back to the file), then the index.
   */
  async update(change: StoreChange): Promise<StoreVersion | undefined> {
    ensureStoreFolder(this.indexPath);
    return withFileLock(`${this.indexPath}.lock`, async () => {
      this.#index.forget();
      const index = { ...this.#readIndex() };
      const tokens = new Map<string, Token>();
      const inFile = new Set<string>();
      for (const login of this.fallback.entries()) {
        tokens.set(login.host, login.token);
        inFile.add(login.host);
      }
      await Promise.all(Object.entries(index).map(async ([key, entry]) => {
        const token = await this.#secretOrWarn(key, entry);
        if (token) tokens.set(key, token);
        else tokens.delete(key);
      }));
      const changes = await change((key) => tokens.get(key));
      const fileChanges: Record<string, Token | null> | 'clear' = changes === 'clear' ? 'clear' : {};
      if (changes === 'clear') {
        for (const [key, entry] of Object.entries(index)) await this.#items.deleteSecret(key, entry);
        this.#writeIndex({});
      } else {
        if (Object.keys(changes).length === 0) return this.version();
        const now = nowSeconds();
        for (const [key, token] of Object.entries(changes)) {
          const previous = index[key];
          if (token === null) {
            if (previous) await this.#items.deleteSecret(key, previous);
            delete index[key];
            if (inFile.has(key)) (fileChanges as Record<string, Token | null>)[key] = null;
            continue;
          }
          try {
            index[key] = await this.#items.writeSecret(key, token, now);
            if (previous) await this.#items.deleteSecret(key, previous, index[key]);
            // No plaintext copy stays behind once the keyring holds the token.
            if (inFile.has(key)) (fileChanges as Record<string, Token | null>)[key] = null;
          } catch (error) {
            if (!(error instanceof KeyringUnavailable)) throw error;
            this.#warnOnce(`fallback ${key}`, `The keyring is not available (${error.message}): the token of ${key} was stored in the plaintext file ${this.fallback.path} (mode 600) instead. ` +
              'Unlock the keyring, or run where a keyring service runs, to keep tokens out of plaintext; `oidc-auth --list` shows where each token is.');
            if (previous) await this.#items.deleteSecret(key, previous);
            delete index[key];
            (fileChanges as Record<string, Token | null>)[key] = token;
          }
        }
        this.#writeIndex(index);
      }
      if (fileChanges === 'clear' || Object.keys(fileChanges).length > 0) await this.fallback.update(() => fileChanges);
      return this.version();
    }, { timeoutMs: this.#lockTimeout });
  }

  /** One login at a time for `key`: a lock file beside the index. */
  loginTurn(key: string, options: LoginTurnOptions): Promise<StoreLease> {
    return loginLockBeside(this.indexPath, key, options);
  }
}

