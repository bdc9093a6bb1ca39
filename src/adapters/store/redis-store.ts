// A token store in Redis, for services that run on many machines: every
// replica sees one entry per server, and a refresh is made by one replica at
// a time (a lock with a lease and a fencing token), so that refresh-token
// rotation never logs the fleet out. Loaded only through the
// `oidc-auth-client/redis` entry; `redis` is an optional peer dependency.
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { createClient, RedisClientOptions } from 'redis';
import { AuthError } from '../../errors.ts';
import { withoutCredentials } from '../../protocol/host.ts';
import { storeKey } from '../../protocol/store-key.ts';
import { isEvictable, nowSeconds, tokenFromStored } from '../../protocol/token.ts';
import { BaseTokenStore, warnOnStderr, type LoginTurnOptions, type StoreChange, type StoredEntry, type StoredLogin, type StoreLease, type StoreRead, type StoreVersion, type TurnHolder } from './contract.ts';
import type { Token } from '../../types.ts';
import { STORE_FORMAT_VERSION } from './file-format.ts';

/** The few calls of a node-redis client this store makes. */
export interface RedisConnection {
  sendCommand(args: string[], options?: { timeout?: number }): Promise<unknown>;
}

interface OwnClient extends RedisConnection {
  connect(): Promise<unknown>;
  destroy(): void;
  ref(): void;
  unref(): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

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

// Every key of one store shares the hash tag {store}, so they land in one slot.
const LOCK_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, redis.call('GET', KEYS[1])} end
local fence = redis.call('INCR', KEYS[2])
local value = fence .. ' ' .. ARGV[1]
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return {1, value}`;

const RENEW_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

const UNLOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

// KEYS: lock, entries, version, last fence. ARGV: lock value, fence, 'clear' or 'set', then field/value pairs ('' drops the field).
const COMMIT_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('LEASE_LOST the lock is no longer held by this writer') end
local last = tonumber(redis.call('GET', KEYS[4]) or '0')
if tonumber(ARGV[2]) < last then return redis.error_reply('FENCED a newer lock holder has written') end
if ARGV[3] == 'clear' then redis.call('DEL', KEYS[2]) end
for i = 4, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[2], ARGV[i]) else redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
end
redis.call('SET', KEYS[4], ARGV[2])
return redis.call('INCR', KEYS[3])`;

const READ_SCRIPT = `return {redis.call('GET', KEYS[2]), redis.call('HGET', KEYS[1], ARGV[1])}`;

/** `redis://user:secret@host:6379/0` -> `redis://host:6379/0`: an address without credentials. */
export function redactRedisUrl(url: string): string {
  return withoutCredentials(url, 'redis://(an address that is not a URL)');
}

/** A Redis reply string, or undefined for nil. */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return undefined;
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

/** A two-element array reply, as the read and lock scripts give. */
function isPair(reply: unknown): reply is [unknown, unknown] {
  return Array.isArray(reply) && reply.length === 2;
}

/** An HGETALL reply: a flat array (RESP2) or a map (RESP3). */
function isHash(reply: unknown): reply is unknown[] | Record<string, unknown> {
  return Array.isArray(reply) ? reply.length % 2 === 0 : reply !== null && typeof reply === 'object' && !(reply instanceof Uint8Array);
}

/** The store's new version after a write: INCR's integer. */
function isCount(reply: unknown): reply is number {
  return typeof reply === 'number' && Number.isInteger(reply);
}

function holderOf(value: string | undefined): TurnHolder | undefined {
  const json = value?.slice(value.indexOf(' ') + 1);
  try {
    const holder = JSON.parse(json ?? '') as Partial<TurnHolder>;
    return typeof holder.pid === 'number' && typeof holder.hostname === 'string' ? { pid: holder.pid, hostname: holder.hostname } : undefined;
  } catch {
    return undefined;
  }
}

/** A held Redis lock: its value (fence and owner), renewed until released. */
interface RedisLock extends StoreLease {
  readonly value: string;
  readonly fence: string;
  /** Why the lease was lost, once a renewal found another owner. */
  readonly lost: string | undefined;
  /** When the lease was last taken or renewed (ms): it lasts until then + leaseMs. */
  readonly renewedAt: number;
  /** Release, and resolve once Redis has been told (the next holder need not wait). */
  releaseNow(): Promise<void>;
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
  readonly #options: RedisTokenStoreOptions;
  /** The prefix of every key this store uses. */
  readonly prefix: string;
  readonly #leaseMs: number;
  readonly #lockTimeout: number;
  readonly #commandTimeout: number;
  readonly #warn: (message: string) => void;
  #connection: Promise<RedisConnection> | undefined;
  #own: OwnClient | undefined;
  #busy = 0;

  constructor(options: RedisTokenStoreOptions = {}) {
    super();
    this.#options = options;
    this.#url = options.url ?? 'redis://127.0.0.1:6379';
    this.prefix = options.prefix ?? 'oidc-auth:';
    this.#leaseMs = options.leaseMs ?? 10_000;
    this.#lockTimeout = options.lockTimeout ?? 30_000;
    this.#commandTimeout = options.commandTimeout ?? 5000;
    this.#warn = options.onWarning ?? warnOnStderr;
    this.id = `${redactRedisUrl(this.#url)} ${this.prefix}`;
  }

  get description(): string {
    return `Redis at ${redactRedisUrl(this.#url)}, keys ${this.prefix}{store}:* (shared by every process that uses them)`;
  }

  warn(message: string): void {
    this.#warn(message);
  }

  #key(name: string): string {
    return `${this.prefix}{store}:${name}`;
  }

  /** Connect on first use; the connection does not keep the process alive while nothing waits for Redis. */
  #connect(): Promise<RedisConnection> {
    if (this.#options.client) return Promise.resolve(this.#options.client);
    this.#connection ??= (async () => {
      let redis: { createClient: typeof createClient };
      try {
        redis = await import('redis');
      } catch (cause) {
        throw new AuthError('store_error', 'RedisTokenStore needs the npm package `redis`: run `npm install redis`.', { cause });
      }
      let connected = false;
      const client = redis.createClient({
        ...this.#options.clientOptions,
        url: this.#url,
        disableOfflineQueue: true,
        socket: {
          connectTimeout: this.#commandTimeout,
          ...this.#options.clientOptions?.socket,
          // The first connection gives up at once (the caller hears why). A lost one is retried while a
          // caller waits (up to the command timeout); else it is dropped, and the next command connects anew.
          reconnectStrategy: (retries: number, cause: Error) => {
            const delay = Math.min(50 * 2 ** retries, 1000);
            if (connected && this.#busy > 0 && retries * 1000 < this.#commandTimeout) return delay;
            if (this.#own === client) {
              this.#own = undefined;
              this.#connection = undefined;
            }
            return cause;
          },
        },
      } as RedisClientOptions) as unknown as OwnClient;
      client.on('error', () => undefined); // Each command reports its own failure; the client reconnects by itself.
      try {
        await client.connect();
      } catch (error) {
        client.destroy();
        throw error;
      }
      connected = true;
      this.#own = client;
      if (this.#busy === 0) client.unref();
      return client;
    })();
    return this.#connection.catch((error: unknown) => {
      this.#connection = undefined;
      throw this.#storeError(error);
    });
  }

  /** One command, as a `store_error` that says what to do when Redis fails. */
  async #command(args: string[]): Promise<unknown> {
    if ((this.#busy += 1) === 1) this.#own?.ref();
    try {
      const connection = await this.#connect();
      return await connection.sendCommand(args, { timeout: this.#commandTimeout });
    } catch (error) {
      throw this.#storeError(error);
    } finally {
      if ((this.#busy -= 1) === 0) this.#own?.unref();
    }
  }

  /** `reply` as `check` says it must be, else a `store_error`: the server is not Redis, or not one these scripts run on. */
  #expect<T>(reply: unknown, check: (reply: unknown) => reply is T, what: string): T {
    if (check(reply)) return reply;
    const seen = reply === null ? 'nil' : Array.isArray(reply) ? `an array of ${reply.length}` : typeof reply;
    throw new AuthError('store_error', `Redis at ${redactRedisUrl(this.#url)} gave an unexpected answer to ${what} (${seen}). ` +
      'Check that the address is a Redis server and not another service.');
  }

  #storeError(error: unknown): AuthError {
    if (error instanceof AuthError) return error;
    const message = error instanceof Error ? error.message : String(error);
    const where = redactRedisUrl(this.#url);
    if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(message)) {
      return new AuthError('store_error', `Redis at ${where} refused the credentials (${/NOAUTH/.test(message) ? 'a password is required' : 'wrong user name or password'}). Check the password in the URL or clientOptions.`);
    }
    if (/NOPERM|user executing the script can't|no permissions to access/i.test(message)) {
      return new AuthError('store_error', `The Redis user has no permission for the token store's keys or commands at ${where}: allow the keys ${this.prefix}* and the commands EVAL, GET, HGETALL and those the store's scripts run (SET, INCR, HSET, HDEL, HGET, DEL, EXISTS, PEXPIRE).`);
    }
    // Redis's own words, without anything from the URL.
    const said = message.replaceAll(this.#url, where).slice(0, 200);
    return new AuthError('store_error', `The token store in Redis at ${where} failed: ${said}. Check that Redis is running and reachable; a login or refresh is not lost, try again.`, { cause: error });
  }

  async version(): Promise<StoreVersion | undefined> {
    return text(await this.#command(['GET', this.#key('version')]));
  }

  async read(host: string): Promise<StoreRead> {
    const reply = this.#expect(await this.#command(['EVAL', READ_SCRIPT, '2', this.#key('entries'), this.#key('version'), storeKey(host)]), isPair, 'a read');
    const token = entryOf(text(reply[1]))?.token;
    return { token: token && !isEvictable(token) ? token : undefined, version: text(reply[0]) };
  }

  /** The token stored for `host`, unless it is past both expiries. */
  async get(host: string): Promise<Token | undefined> {
    return (await this.read(host)).token;
  }

  async #all(): Promise<Map<string, StoredEntry>> {
    const reply = this.#expect(await this.#command(['HGETALL', this.#key('entries')]), isHash, 'HGETALL');
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
    const lock = await this.#lock(this.#key('lock'), { timeoutMs: this.#lockTimeout }, 'the token store');
    try {
      const entries = await this.#all();
      const changes = await change((key) => entries.get(key)?.token);
      if (lock.lost) throw this.#leaseLost(lock.lost);
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
          const written = await this.#command(['EVAL', COMMIT_SCRIPT, '4', ...keys, lock.value, lock.fence, changes === 'clear' ? 'clear' : 'set', ...args]);
          return String(this.#expect(written, isCount, 'a write'));
        } catch (error) {
          const said = error instanceof AuthError ? error.message : '';
          if (/LEASE_LOST|FENCED/.test(said)) throw this.#leaseLost(/FENCED/.test(said) ? 'a newer holder has written' : 'the lease ran out');
          if (lock.lost || Date.now() + delay >= lock.renewedAt + this.#leaseMs) throw error;
          await sleep(delay);
        }
      }
    } finally {
      await lock.releaseNow();
    }
  }

  #leaseLost(why: string): AuthError {
    return new AuthError('store_error', `This process held the token store's lock in Redis for longer than its lease (${this.#leaseMs} ms) and ${why}: its write was refused, so that it cannot overwrite a newer token. ` +
      'Try again; if this repeats, the process is being paused or cut off from Redis (raise leaseMs).');
  }

  /** One login at a time for `key` across every process and machine that shares this store. */
  loginTurn(key: string, options: LoginTurnOptions): Promise<StoreLease> {
    const name = `login:${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
    return this.#lock(this.#key(name), options, `the login to ${key}`);
  }

  /** Take `key` (waiting with back-off), and renew it every third of the lease until released. */
  async #lock(key: string, options: LoginTurnOptions, what: string): Promise<RedisLock> {
    const owner = JSON.stringify({ pid: process.pid, hostname: os.hostname(), nonce: randomBytes(9).toString('base64url') });
    const deadline = Date.now() + options.timeoutMs;
    let delay = 10;
    let waited = false;
    for (;;) {
      if (options.signal?.aborted) throw new AuthError('cancelled', `Cancelled while waiting for ${what}.`);
      const asked = Date.now();
      const [taken, value] = this.#expect(await this.#command(['EVAL', LOCK_SCRIPT, '2', key, this.#key('fence'), owner, String(this.#leaseMs)]), isPair, 'taking the lock');
      const held = text(value) ?? '';
      if (taken === 1) return this.#renewed(key, held, asked);
      if (!waited) {
        waited = true;
        options.onWait?.(holderOf(held));
      }
      if (Date.now() + delay > deadline) {
        const holder = holderOf(held);
        throw new AuthError('lock_timeout', `Waited ${Math.round(options.timeoutMs / 1000)} s for ${what} in Redis${holder ? `, held by process ${holder.pid} on ${holder.hostname}` : ''}. ` +
          'It is released when that process finishes, or within its lease if it died; try again.');
      }
      await sleep(delay * (0.5 + Math.random()), undefined, { signal: options.signal }).catch(() => undefined);
      delay = Math.min(delay * 2, 200);
    }
  }

  #renewed(key: string, value: string, takenAt: number): RedisLock {
    let lost: string | undefined;
    let released = false;
    let renewedAt = takenAt;
    const renew = async () => {
      try {
        const asked = Date.now();
        const renewed = await this.#command(['EVAL', RENEW_SCRIPT, '1', key, value, String(this.#leaseMs)]);
        if (renewed === 1) renewedAt = asked;
        else if (!released) lost = 'the lease ran out';
      } catch {
        // Redis is unreachable: the commit will tell, with the lease as the bound.
      }
    };
    const timer = setInterval(() => void renew(), Math.max(50, Math.floor(this.#leaseMs / 3)));
    return {
      value,
      fence: value.slice(0, value.indexOf(' ')),
      get lost() {
        return lost;
      },
      get renewedAt() {
        return renewedAt;
      },
      release() {
        void this.releaseNow();
      },
      releaseNow: async () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        await this.#command(['EVAL', UNLOCK_SCRIPT, '1', key, value]).catch(() => undefined); // Else it expires with its lease.
      },
    };
  }

  /** Close the connection this store opened (not a client it was given). */
  async close(): Promise<void> {
    const own = this.#own;
    this.#own = undefined;
    this.#connection = undefined;
    own?.destroy();
  }
}
