// Tokens in the operating system's keyring (Secret Service on Linux,
// Keychain on macOS, Credential Manager on Windows) through @napi-rs/keyring,
// an optional dependency loaded on first use. A small non-secret index file
// lists what is in the keyring (for listings, and as the store's version)
// and carries the transaction lock; tokens the keyring cannot take go to the
// plaintext file store, visibly.
import path from 'node:path';
import { storeKey } from '../../protocol/store-key.ts';
import { isEvictable, nowSeconds, tokenFromStored } from '../../protocol/token.ts';
import { BaseTokenStore, summaryOf, warnOnStderr, type LoginTurnOptions, type StoreChange, type StoredLogin, type StoredSummary, type StoreLease, type StoreRead, type StoreVersion } from './contract.ts';
import { defaultStore, type TokenStore } from './file-store.ts';
import type { Environment, Token } from '../../types.ts';
import { cacheHome } from './paths.ts';
import { loginLockBeside, withFileLock } from './lock.ts';
import { FileCache, fileVersion, readOwnFile, writeOwnFileAtomic } from './safe-file.ts';
import { ensureStoreFolder, STORE_FORMAT_VERSION } from './file-format.ts';

/**
 * The largest secret written as one keyring item, in characters. Windows'
 * Credential Manager takes at most 2,560 bytes, and macOS's Keychain has
 * refused large items (kubelogin's bug); bigger tokens are split into parts.
 */
export const KEYRING_PART_SIZE = 2000;

/** After a keyring call fails, later calls of this store fail at once for this long (a locked keyring stays locked in a batch job). */
const UNAVAILABLE_FOR_MS = 60_000;

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

/** One login in the index: enough to list it, nothing secret. */
interface IndexEntry {
  stored_at: number;
  expires: number;
  refresh_expires: number;
  scope: string;
  refreshable: boolean;
  /** How many parts the secret was split into (0: one item). */
  parts: number;
  /** Names the parts of this write, so that a reader never mixes two writes. */
  generation: string;
}

type Index = Record<string, IndexEntry>;

interface KeyringEntry {
  getPassword(signal?: AbortSignal): Promise<string | null>;
  setPassword(password: string, signal?: AbortSignal): Promise<void>;
  deletePassword(signal?: AbortSignal): Promise<boolean>;
}

type KeyringModule = { AsyncEntry: new (service: string, account: string) => KeyringEntry };

let keyringModule: Promise<KeyringModule> | undefined;

function loadKeyring(): Promise<KeyringModule> {
  keyringModule ??= import('@napi-rs/keyring') as Promise<KeyringModule>;
  return keyringModule;
}

/** The keyring refused or is not there: why, in a few words (never a secret: the library's own message). */
class KeyringUnavailable extends Error {}

function indexFrom(text: string | undefined): Index {
  if (text === undefined) return {};
  try {
    const parsed = JSON.parse(text) as { entries?: unknown };
    const entries = parsed.entries;
    if (entries === null || typeof entries !== 'object') return {};
    const index: Index = {};
    for (const [key, value] of Object.entries(entries as Record<string, Partial<IndexEntry>>)) {
      if (typeof value.expires === 'number' && typeof value.refresh_expires === 'number' && typeof value.generation === 'string') {
        index[key] = { stored_at: value.stored_at ?? 0, expires: value.expires, refresh_expires: value.refresh_expires, scope: String(value.scope ?? ''), refreshable: value.refreshable === true, parts: Number(value.parts ?? 0), generation: value.generation };
      }
    }
    return index;
  } catch {
    return {};
  }
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
  readonly #keyringTimeout: number;
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
    this.#keyringTimeout = options.keyringTimeout ?? 30_000;
    this.#index = new FileCache(this.indexPath, () => indexFrom(readOwnFile(this.indexPath, 'The keyring index')));
  }

  get id(): string {
    return `keyring:${this.service} ${this.indexPath}`;
  }

  get description(): string {
    return `the operating system's keyring (service "${this.service}"; index without secrets: ${this.indexPath}); ` +
      `tokens the keyring could not take: ${this.fallback.path} (a plaintext file, mode 600)`;
  }

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

  /** Why the keyring failed last, and when: for a minute calls fail at once instead of waiting on it again. */
  #unavailable: { why: string; at: number } | undefined;

  async #call<T>(what: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.#unavailable && Date.now() - this.#unavailable.at < UNAVAILABLE_FOR_MS) throw new KeyringUnavailable(this.#unavailable.why);
    try {
      await loadKeyring();
    } catch (error) {
      throw this.#fails(`the keyring library @napi-rs/keyring could not be loaded here (${(error as Error).message.split('\n')[0]})`);
    }
    // One call at a time: a keyring that dismisses one prompt may leave concurrent calls waiting, and after the first failure the rest fail at once.
    const turn = this.#queue.then(() => this.#callNow(what, run));
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  #queue: Promise<unknown> = Promise.resolve();

  async #callNow<T>(what: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.#unavailable && Date.now() - this.#unavailable.at < UNAVAILABLE_FOR_MS) throw new KeyringUnavailable(this.#unavailable.why);
    try {
      const result = await run(AbortSignal.timeout(this.#keyringTimeout));
      this.#unavailable = undefined;
      return result;
    } catch (error) {
      const message = (error as Error).name === 'TimeoutError' || (error as Error).name === 'AbortError'
        ? `the keyring did not answer within ${this.#keyringTimeout} ms (it may be waiting for a password prompt)`
        : (error as Error).message;
      throw this.#fails(`${what}: ${message}`);
    }
  }

  #fails(why: string): KeyringUnavailable {
    this.#unavailable = { why, at: Date.now() };
    return new KeyringUnavailable(why);
  }

  async #entry(account: string): Promise<KeyringEntry> {
    const { AsyncEntry } = await loadKeyring();
    return new AsyncEntry(this.service, account);
  }

  #partName(key: string, generation: string, part: number): string {
    return `${key}#${generation}.${part}`;
  }

  /**
   * The secret of `key` as the index describes it: the token, or undefined
   * when the keyring does not have it; `stale` when it belongs to another
   * write than the index read (a writer came in between: read the index again).
   */
  async #readSecret(key: string, entry: IndexEntry): Promise<{ token: Token | undefined; stale: boolean }> {
    const read = (account: string) => this.#call('reading the keyring', async (signal) => (await this.#entry(account)).getPassword(signal));
    let text: string | null;
    if (entry.parts === 0) {
      text = await read(key);
    } else {
      const parts = await Promise.all(Array.from({ length: entry.parts }, (_, part) => read(this.#partName(key, entry.generation, part))));
      text = parts.some((part) => part === null) ? null : parts.join('');
    }
    if (text === null) return { token: undefined, stale: true };
    try {
      const stored = JSON.parse(text) as { token?: unknown; generation?: unknown };
      // One item is whole whatever write it came from (a writer stores the secret before the index); parts are named by their write.
      if (entry.parts > 0 && stored.generation !== entry.generation) return { token: undefined, stale: true };
      return { token: tokenFromStored(stored.token), stale: false };
    } catch {
      return { token: undefined, stale: false };
    }
  }

  /** The token of `key` in the keyring (read again with a fresh index when a writer came in between), warning once when it cannot be read. */
  async #secretOrWarn(key: string, first: IndexEntry): Promise<Token | undefined> {
    try {
      let entry = first;
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const { token, stale } = await this.#readSecret(key, entry);
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
      .map(([host, entry]) => ({ host, stored_at: entry.stored_at, expires: entry.expires, refresh_expires: entry.refresh_expires, scope: entry.scope, refreshable: entry.refreshable, where: 'keyring' }));
    const file = this.fallback.entries().filter((login) => !(login.host in index)).map((login) => summaryOf(login, `plaintext file ${this.fallback.path}`));
    return [...keyring, ...file];
  }




  /** Write the secret of `key` (in parts when large); resolves to its index entry. */
  async #writeSecret(key: string, token: Token, now: number): Promise<IndexEntry> {
    // node:crypto loads here, on a write, not when the CLI starts.
    const { randomBytes } = await import('node:crypto');
    const generation = randomBytes(6).toString('base64url');
    const whole = JSON.stringify({ token, stored_at: now, version: STORE_FORMAT_VERSION, generation });
    const parts = whole.length <= KEYRING_PART_SIZE ? [] : Array.from({ length: Math.ceil(whole.length / KEYRING_PART_SIZE) }, (_, part) => whole.slice(part * KEYRING_PART_SIZE, (part + 1) * KEYRING_PART_SIZE));
    const write = (account: string, text: string) => this.#call('writing to the keyring', async (signal) => (await this.#entry(account)).setPassword(text, signal));
    if (parts.length === 0) await write(key, whole);
    else await Promise.all(parts.map((text, part) => write(this.#partName(key, generation, part), text)));
    return { stored_at: now, expires: token.expires, refresh_expires: token.refresh_expires, scope: token.scope, refreshable: token.refresh_token !== '', parts: parts.length, generation };
  }

  /** Remove the secret items of `entry` (best effort: a stale part holds no more than the index points to). */
  async #deleteSecret(key: string, entry: IndexEntry, keep?: IndexEntry): Promise<void> {
    const accounts = entry.parts === 0 ? (keep?.parts === 0 ? [] : [key]) : Array.from({ length: entry.parts }, (_, part) => this.#partName(key, entry.generation, part));
    await Promise.all(accounts.map((account) => this.#call('removing from the keyring', async (signal) => (await this.#entry(account)).deletePassword(signal)).catch(() => false)));
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
        for (const [key, entry] of Object.entries(index)) await this.#deleteSecret(key, entry);
        this.#writeIndex({});
      } else {
        if (Object.keys(changes).length === 0) return this.version();
        const now = nowSeconds();
        for (const [key, token] of Object.entries(changes)) {
          const previous = index[key];
          if (token === null) {
            if (previous) await this.#deleteSecret(key, previous);
            delete index[key];
            if (inFile.has(key)) (fileChanges as Record<string, Token | null>)[key] = null;
            continue;
          }
          try {
            index[key] = await this.#writeSecret(key, token, now);
            if (previous) await this.#deleteSecret(key, previous, index[key]);
            // No plaintext copy stays behind once the keyring holds the token.
            if (inFile.has(key)) (fileChanges as Record<string, Token | null>)[key] = null;
          } catch (error) {
            if (!(error instanceof KeyringUnavailable)) throw error;
            this.#warnOnce(`fallback ${key}`, `The keyring is not available (${error.message}): the token of ${key} was stored in the plaintext file ${this.fallback.path} (mode 600) instead. ` +
              'Unlock the keyring, or run where a keyring service runs, to keep tokens out of plaintext; `oidc-auth --list` shows where each token is.');
            if (previous) await this.#deleteSecret(key, previous);
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

