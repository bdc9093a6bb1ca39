// The connection of a Redis token store: opened on first use (node-redis is
// loaded then), never keeping the process alive while idle, and every
// failure turned into a store_error that says what to do, without the
// address's credentials.
import type { createClient, RedisClientOptions } from 'redis';
import { AuthError } from '../../errors.ts';
import { withoutCredentials } from '../../protocol/host.ts';

/** The few calls of a node-redis client this store makes. */
export interface RedisConnection {
  /** Send one command (`['GET', key]`) and answer its reply; `timeout` in milliseconds. */
  sendCommand(args: string[], options?: { timeout?: number }): Promise<unknown>;
}

interface OwnClient extends RedisConnection {
  connect(): Promise<unknown>;
  destroy(): void;
  ref(): void;
  unref(): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** `redis://user:secret@host:6379/0` -> `redis://host:6379/0`: an address without credentials. */
export function redactRedisUrl(url: string): string {
  return withoutCredentials(url, 'redis://(an address that is not a URL)');
}

/** A Redis reply string, or undefined for nil. */
export function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return undefined;
}


/** A two-element array reply, as the read and lock scripts give. */
export function isPair(reply: unknown): reply is [unknown, unknown] {
  return Array.isArray(reply) && reply.length === 2;
}

/** An HGETALL reply: a flat array (RESP2) or a map (RESP3). */
export function isHash(reply: unknown): reply is unknown[] | Record<string, unknown> {
  return Array.isArray(reply) ? reply.length % 2 === 0 : reply !== null && typeof reply === 'object' && !(reply instanceof Uint8Array);
}

/** The store's new version after a write: INCR's integer. */
export function isCount(reply: unknown): reply is number {
  return typeof reply === 'number' && Number.isInteger(reply);
}

/** How to reach Redis: the address, node-redis options or a client, and the command timeout. */
export interface RedisLinkOptions {
  url: string;
  clientOptions?: RedisClientOptions | undefined;
  client?: RedisConnection | undefined;
  commandTimeout: number;
  /** For messages: the keys this store uses. */
  prefix: string;
}

/** One store's connection to Redis. */
export class RedisLink {
  readonly #options: RedisLinkOptions;
  readonly #url: string;
  readonly #commandTimeout: number;
  #connection: Promise<RedisConnection> | undefined;
  #own: OwnClient | undefined;
  #busy = 0;

  constructor(options: RedisLinkOptions) {
    this.#options = options;
    this.#url = options.url;
    this.#commandTimeout = options.commandTimeout;
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
      throw this.storeError(error);
    });
  }

  /** One command, as a `store_error` that says what to do when Redis fails. */
  async command(args: string[]): Promise<unknown> {
    if ((this.#busy += 1) === 1) this.#own?.ref();
    try {
      const connection = await this.#connect();
      return await connection.sendCommand(args, { timeout: this.#commandTimeout });
    } catch (error) {
      throw this.storeError(error);
    } finally {
      if ((this.#busy -= 1) === 0) this.#own?.unref();
    }
  }

  /** `reply` as `check` says it must be, else a `store_error`: the server is not Redis, or not one these scripts run on. */
  expect<T>(reply: unknown, check: (reply: unknown) => reply is T, what: string): T {
    if (check(reply)) return reply;
    const seen = reply === null ? 'nil' : Array.isArray(reply) ? `an array of ${reply.length}` : typeof reply;
    throw new AuthError('store_error', `Redis at ${redactRedisUrl(this.#url)} gave an unexpected answer to ${what} (${seen}). ` +
      'Check that the address is a Redis server and not another service.');
  }

  /** `error` as a store_error that says what to do. */
  storeError(error: unknown): AuthError {
    if (error instanceof AuthError) return error;
    const message = error instanceof Error ? error.message : String(error);
    const where = redactRedisUrl(this.#url);
    if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(message)) {
      return new AuthError('store_error', `Redis at ${where} refused the credentials (${/NOAUTH/.test(message) ? 'a password is required' : 'wrong user name or password'}). Check the password in the URL or clientOptions.`);
    }
    if (/NOPERM|user executing the script can't|no permissions to access/i.test(message)) {
      return new AuthError('store_error', `The Redis user has no permission for the token store's keys or commands at ${where}: allow the keys ${this.#options.prefix}* and the commands EVAL, GET, HGETALL and those the store's scripts run (SET, INCR, HSET, HDEL, HGET, DEL, EXISTS, PEXPIRE).`);
    }
    // Redis's own words, without anything from the URL.
    const said = message.replaceAll(this.#url, where).slice(0, 200);
    return new AuthError('store_error', `The token store in Redis at ${where} failed: ${said}. Check that Redis is running and reachable; a login or refresh is not lost, try again.`, { cause: error });
  }

  /** Close the connection this link opened (not a client it was given). */
  async close(): Promise<void> {
    const own = this.#own;
    this.#own = undefined;
    this.#connection = undefined;
    own?.destroy();
  }
}
