// The token store contract. The file store (file-store.ts) is its default
// implementation; memory, Redis and keyring stores implement it too. The
// host actor, the flows and the CLI talk to stores only through it.
import { accountOfKey, serverOfKey, storeKey } from '../../protocol/store-key.ts';
import type { Identity, Token } from '../../types.ts';

/** A value, or a promise of it: a file store answers at once, a network store later. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * An opaque tag of one version of a store's content: any write, by any
 * process that shares the store, gives a new one. Equal tags mean unchanged
 * content, which lets a cached `authenticate()` skip reading the token again.
 */
export type StoreVersion = string;

/** Whether two versions are known and the same. */
export function sameVersion(a: StoreVersion | undefined, b: StoreVersion | undefined): boolean {
  return a !== undefined && a === b;
}

/** One stored login: the token and when it was stored (Unix seconds), as the Python client writes it. */
export interface StoredEntry {
  /** The token. Secret: never log it. */
  token: Token;
  /** When it was stored, in Unix seconds. */
  stored_at: number;
}

/** A stored login with its store key, as listed by {@link TokenStoreBackend.entries}. */
export interface StoredLogin extends StoredEntry {
  /** The store key: the normalised host for a py-oidc-auth server, `oidc:...` for a provider login; a `#...` part names a named account or other scopes. */
  host: string;
}

/** A stored login as a listing shows it: expiries and scope, no secret. */
export interface StoredSummary {
  /** The store key (the host for a default-account login to a py-oidc-auth server). */
  host: string;
  /** The key without its account: the accounts of one server share it. */
  server: string;
  /** The account: `default`, or the name given with `account` / `--account`. */
  account: string;
  /** Who logged in, when it was told at the login. */
  who?: Identity | undefined;
  /** When it was stored, in Unix seconds. */
  stored_at: number;
  /** When the access token expires, in Unix seconds. */
  expires: number;
  /** When the refresh token expires, in Unix seconds (0 when there is none or it was not told). */
  refresh_expires: number;
  /** The granted scopes, space-separated. */
  scope: string;
  /** Whether a refresh token is stored with it. */
  refreshable: boolean;
  /** Where this login is kept, when a store keeps logins in more than one place (`keyring`, `plaintext file`). */
  where?: string | undefined;
}

/** What {@link TokenStoreBackend.read} answers. */
export interface StoreRead {
  /** The stored token, unless it is past both expiries. */
  token: Token | undefined;
  /** The version it was read from; undefined when it cannot be told (the store changed during the read). */
  version: StoreVersion | undefined;
}

/**
 * A change inside {@link TokenStoreBackend.update}: it gets a reader of the
 * current entries (read inside the transaction) and returns the keys to set
 * (a token) or drop (`null`), `{}` for no change, or `'clear'` for all.
 */
export type StoreChange = (current: (key: string) => Token | undefined) => MaybePromise<Record<string, Token | null> | 'clear'>;

/** An exclusive turn, held until released. */
export interface StoreLease {
  /** Give the turn back; a second call does nothing. */
  release(): void;
}

/** Who holds a turn another caller waits for, where the store can tell. */
export interface TurnHolder {
  /** The holder's process id. */
  pid: number;
  /** The machine it runs on. */
  hostname: string;
}

/** Options of {@link TokenStoreBackend.loginTurn}. */
export interface LoginTurnOptions {
  /** Milliseconds to wait for another login before `lock_timeout`. */
  timeoutMs: number;
  /** Stops waiting (the wait rejects with the signal's reason). */
  signal?: AbortSignal | undefined;
  /** Called once when the turn is held by someone else and this caller starts to wait. */
  onWait?: ((holder: TurnHolder | undefined) => void) | undefined;
}

/**
 * What a token store does, for `authenticate({ store })`, the flows and the
 * CLI. Implement it to keep tokens anywhere; the statecharts do not know
 * which store they talk to.
 *
 * The one hard rule is {@link update}: it must run its change exclusively
 * across every process (and machine) that shares the store, re-read the
 * entries inside, and write the result atomically. Single-flight refresh
 * rests on it: a process that waited for the transaction finds the token the
 * first one stored and does not refresh again.
 */
export interface TokenStoreBackend {
  /**
   * Where the tokens are, as a stable string without secrets (a file path,
   * `redis://host:port/db prefix`). Two store objects with the same id are
   * the same storage: they share one host actor per server.
   */
  readonly id: string;
  /** Where and how the tokens are kept, in words, for listings and messages. */
  readonly description: string;
  /** The token stored under `key` (past both expiries counts as none) and the version read. */
  read(key: string): MaybePromise<StoreRead>;
  /** The current version, cheaply (a cached `authenticate()` asks it once per call); undefined when there is none or it cannot be told. */
  version(): MaybePromise<StoreVersion | undefined>;
  /** Every live entry with its key, for listings. Must not need more than the listing shows. */
  entries(): MaybePromise<StoredLogin[]>;
  /** Live logins without their secrets, where the store can list them without reading secrets (a keyring). Default: from {@link entries}. */
  list?(): MaybePromise<StoredSummary[]>;
  /** Exclusive read-change-write across everyone who shares the store; resolves to the version after it. */
  update(change: StoreChange): Promise<StoreVersion | undefined>;
  /** Report a warning about this store (a mode, a fallback). Default: stderr. */
  warn?(message: string): void;
  /**
   * One interactive login at a time for `key` across everyone who shares
   * the store: resolves once this caller holds the turn. A store without it
   * (memory) is used by one process only.
   */
  loginTurn?(key: string, options: LoginTurnOptions): Promise<StoreLease>;
}

/**
 * The conveniences every store offers on top of the contract: `put`,
 * `remove` and `clear`. Extend it to write a store of your own: implement
 * `id`, `description`, `read`, `version`, `entries` and `update`.
 */
export abstract class BaseTokenStore implements TokenStoreBackend {
  abstract readonly id: string;
  abstract readonly description: string;
  abstract read(key: string): MaybePromise<StoreRead>;
  abstract version(): MaybePromise<StoreVersion | undefined>;
  abstract entries(): MaybePromise<StoredLogin[]>;
  abstract update(change: StoreChange): Promise<StoreVersion | undefined>;

  /** Store `token` for `host` (normalised); resolves to the version written. */
  put(host: string, token: Token): Promise<StoreVersion | undefined> {
    return putToken(this, host, token);
  }

  /** Forget `host`; resolves to whether there was an entry. */
  remove(host: string): Promise<boolean> {
    return removeToken(this, host);
  }

  /** Forget every host. */
  async clear(): Promise<void> {
    await clearStore(this);
  }
}

/** The token stored under `key` (a host is normalised), from any store. */
export async function storedToken(store: TokenStoreBackend, key: string): Promise<Token | undefined> {
  return (await store.read(storeKey(key))).token;
}

/** Store `token` under `key` (a host is normalised); resolves to the version written. */
export function putToken(store: TokenStoreBackend, key: string, token: Token): Promise<StoreVersion | undefined> {
  return store.update(() => ({ [storeKey(key)]: token }));
}

/** Forget `key`; resolves to whether there was an entry. */
export async function removeToken(store: TokenStoreBackend, host: string): Promise<boolean> {
  const key = storeKey(host);
  let found = false;
  await store.update((current) => {
    found = current(key) !== undefined;
    return { [key]: null }; // Also drops an entry nobody can read.
  });
  return found;
}

/** Forget every entry. */
export async function clearStore(store: TokenStoreBackend): Promise<void> {
  await store.update(() => 'clear');
}

/** The server and account a store key names. */
export function loginOfKey(key: string): { server: string; account: string } {
  return { server: serverOfKey(key), account: accountOfKey(key) };
}

/** A stored login as a listing shows it (`where` it is kept, when the store tells). */
export function summaryOf({ host, token, stored_at }: StoredLogin, where?: string): StoredSummary {
  return {
    host,
    ...loginOfKey(host),
    stored_at,
    expires: token.expires,
    refresh_expires: token.refresh_expires,
    scope: token.scope,
    refreshable: token.refresh_token !== '',
    ...(token.who ? { who: token.who } : {}),
    ...(where === undefined ? {} : { where }),
  };
}

/** The live logins of any store, without secrets, for listings. */
export async function listLogins(store: TokenStoreBackend): Promise<StoredSummary[]> {
  if (store.list) return store.list();
  return (await store.entries()).map((login) => summaryOf(login));
}

/** Where a store's warnings go unless told otherwise: one line on stderr. */
export function warnOnStderr(message: string): void {
  process.stderr.write(`oidc-auth: ${message}\n`);
}

/** Report a warning through the store, or on stderr when it has no sink. */
export function warnAbout(store: TokenStoreBackend, message: string): void {
  if (store.warn) store.warn(message);
  else warnOnStderr(message);
}
