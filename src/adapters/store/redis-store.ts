// A token store in Redis, for services that run on many machines: every
// replica sees one entry per server, and a refresh is made by one replica at
// a time (a lock with a lease and a fencing token), so that refresh-token
// rotation never logs the fleet out. Loaded only through the
// `oidc-auth-client/redis` entry; `redis` is an optional peer dependency.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClientOptions } from 'redis';
import { AuthError } from '../../errors.ts';
import { storeKey } from '../../protocol/store-key.ts';
import { isEvictable, nowSeconds, tokenFromStored } from '../../protocol/token.ts';
import { BaseTokenStore, warnOnStderr, type LoginTurnOptions, type StoreChange, type StoredEntry, type StoredLogin, type StoreLease, type StoreRead, type StoreVersion } from './contract.ts';
import type { Token } from '../../types.ts';
import { STORE_FORMAT_VERSION } from './file-format.ts';
import { isCount, isHash, isPair, redactRedisUrl, RedisLink, text, type RedisConnection } from './redis-connection.ts';
import { COMMIT_SCRIPT, leaseLost, READ_SCRIPT, takeLock, type LeaseSettings } from './redis-lease.ts';


/** Options for {@link RedisTokenStore}. */
export interface RedisTokenStoreOptions {
  /**
   * The server: `redis://[user[:password]@]host[:port][/db]`, or `rediss://`
   * for TLS. The password never appears in the store's id, messages or logs.
   * @default 'redis://127.0.0.1:6379'
   */
  url?: string | undefined;
  /** More options for node-redis's `createClient` (password, username, `socket.tls`, `socket.ca`...). */
  clientOptions?: RedisClientOptions | undefined;
  /** A connected node-redis client to use instead (this store neither connects nor closes it). */
  client?: RedisConnection | undefined;
  /** Prefix of every key this store uses, one per application sharing a Redis. @default 'oidc-auth:' */
  prefix?: string | undefined;
  /**
   * Milliseconds a lock holder owns the store without renewing: it renews
   * every third of it while it works. A holder that stalls longer (paused,
   * cut off) loses the lock, and its late write is refused. @default 10000
   */
  leaseMs?: number | undefined;
  /** Milliseconds to wait for another holder's lock before `lock_timeout`. @default 30000 */
  lockTimeout?: number | undefined;
  /** Milliseconds one Redis command may take before `store_error`. @default 5000 */
  commandTimeout?: number | undefined;
  /** Where warnings go. @default stderr */
  onWarning?: ((message: string) => void) | undefined;
}

/** A stored entry's JSON -> its token and time, or undefined when it holds no token we can use. */
function entryOf(json: string | undefined): StoredEntry | undefined {
  if (json === undefined) return undefined;
  try {
    const entry = JSON.parse(json) as { token?: unknown; stored_at?: unknown } | null;
    const token = entry && typeof entry === 'object' ? tokenFromStored(entry.token) : undefined;
    return token && { token, stored_at: typeof entry?.stored_at === 'number' ? entry.stored_at : 0 };
  } catch {
    return undefined;
  }
}

/**
 * Tokens in Redis, shared by every process and machine that uses the same
 * server and prefix: one hash of entries in the file store's JSON shape, and
 * a lock with a lease and a fencing token for every change. A refresh is then
 * made once for the whole fleet: the others wait for the lock and find the
 * new token.
 *
 * @example
 * ```ts
 * import { authenticate } from 'oidc-auth-client';
 * import { RedisTokenStore } from 'oidc-auth-client/redis';
 *
 * const store = new RedisTokenStore({ url: process.env.REDIS_URL, prefix: 'billing-worker:' });
 * const token = await authenticate({ host: 'https://myapp.example.org', store });
 * ```
 */
export class RedisTokenStore extends BaseTokenStore {
  /** `redis://host:port/db prefix`: where the tokens are, without credentials. */
  readonly id: string;
  readonly #url: string;
  readonly #link: RedisLink;
  /** The prefix of every key this store uses. */
  readonly prefix: string;
  readonly #leaseMs: number;
  readonly #lockTimeout: number;
  readonly #warn: (message: string) => void;

  constructor(options: RedisTokenStoreOptions = {}) {
    super();
    this.#url = options.url ?? 'redis://127.0.0.1:6379';
    this.prefix = options.prefix ?? 'oidc-auth:';
    this.#leaseMs = options.leaseMs ?? 10_000;
    this.#lockTimeout = options.lockTimeout ?? 30_000;
    this.#link = new RedisLink({ url: this.#url, clientOptions: options.clientOptions, client: options.client, commandTimeout: options.commandTimeout ?? 5000, prefix: this.prefix });
    this.#warn = options.onWarning ?? warnOnStderr;
    this.id = `${redactRedisUrl(this.#url)} ${this.prefix}`;
  }

  get description(): string {
    return `Redis at ${redactRedisUrl(this.#url)}, keys ${this.prefix}{store}:* (shared by every process that uses them)`;
  }

  /** Report a warning about this store or its logins, the way `onWarning` says (default: stderr). */
  warn(message: string): void {
    this.#warn(message);
  }

  get #lease(): LeaseSettings {
    return { link: this.#link, fenceKey: this.#key('fence'), leaseMs: this.#leaseMs };
  }

  #key(name: string): string {
    return `${this.prefix}{store}:${name}`;
  }

  async version(): Promise<StoreVersion | undefined> {
    return text(await this.#link.command(['GET', this.#key('version')]));
  }

  async read(host: string): Promise<StoreRead> {
    const reply = this.#link.expect(await this.#link.command(['EVAL', READ_SCRIPT, '2', this.#key('entries'), this.#key('version'), storeKey(host)]), isPair, 'a read');
    const token = entryOf(text(reply[1]))?.token;
    return { token: token && !isEvictable(token) ? token : undefined, version: text(reply[0]) };
  }

  /** The token stored for `host`, unless it is past both expiries. */
  async get(host: string): Promise<Token | undefined> {
    return (await this.read(host)).token;
  }

  async #all(): Promise<Map<string, StoredEntry>> {
    const reply = this.#link.expect(await this.#link.command(['HGETALL', this.#key('entries')]), isHash, 'HGETALL');
    const pairs: Array<[string, string | undefined]> = Array.isArray(reply)
      ? reply.flatMap((item, index, list) => (index % 2 === 0 ? [[text(item) ?? '', text(list[index + 1])] as [string, string | undefined]] : []))
      : Object.entries(reply).map(([field, value]) => [field, text(value)]);
    const entries = new Map<string, StoredEntry>();
    for (const [field, json] of pairs) {
      const entry = entryOf(json);
      if (entry) entries.set(field, entry);
    }
    return entries;
  }

  async entries(): Promise<StoredLogin[]> {
    const now = nowSeconds();
    return [...(await this.#all())].filter(([, entry]) => !isEvictable(entry.token, now)).map(([host, entry]) => ({ host, ...entry }));
  }

  /**
   * Take the lock (waiting for another holder, bounded by `lockTimeout`),
   * read every entry, apply `change`, and write only if this holder still
   * owns the lock and no newer holder has written (the fence); else
   * `store_error` and nothing is written.
   */
  async update(change: StoreChange): Promise<StoreVersion | undefined> {
    const lock = await takeLock(this.#lease, this.#key('lock'), { timeoutMs: this.#lockTimeout }, 'the token store');
    try {
      const entries = await this.#all();
      const changes = await change((key) => entries.get(key)?.token);
      if (lock.lost) throw leaseLost(this.#leaseMs, lock.lost);
      const now = nowSeconds();
      if (changes !== 'clear' && Object.keys(changes).length === 0) return await this.version();
      const args: string[] = [];
      // Entries past both expiries go on the way, as in the file store.
      for (const [field, entry] of entries) if (changes !== 'clear' && isEvictable(entry.token, now) && !(field in changes)) args.push(field, '');
      if (changes !== 'clear') {
        for (const [field, token] of Object.entries(changes)) args.push(field, token === null ? '' : JSON.stringify({ token, stored_at: now, version: STORE_FORMAT_VERSION }));
      }
      const keys = [this.#key('lock'), this.#key('entries'), this.#key('version'), this.#key('fenced')];
      // A token just obtained must not be lost to a Redis restart or a cut
      // connection: the commit is tried again while the lease lasts (the
      // lock survives a restart of a persistent Redis), then it fails.
      for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
        try {
          const written = await this.#link.command(['EVAL', COMMIT_SCRIPT, '4', ...keys, lock.value, lock.fence, changes === 'clear' ? 'clear' : 'set', ...args]);
          return String(this.#link.expect(written, isCount, 'a write'));
        } catch (error) {
          const said = error instanceof AuthError ? error.message : '';
          if (/LEASE_LOST|FENCED/.test(said)) throw leaseLost(this.#leaseMs, /FENCED/.test(said) ? 'a newer holder has written' : 'the lease ran out');
          if (lock.lost || Date.now() + delay >= lock.renewedAt + this.#leaseMs) throw error;
          await sleep(delay);
        }
      }
    } finally {
      await lock.releaseNow();
    }
  }

  /** One login at a time for `key` across every process and machine that shares this store. */
  loginTurn(key: string, options: LoginTurnOptions): Promise<StoreLease> {
    const name = `login:${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
    return takeLock(this.#lease, this.#key(name), options, `the login to ${key}`);
  }

  /** Close the connection this store opened (not a client it was given). */
  close(): Promise<void> {
    return this.#link.close();
  }
}
