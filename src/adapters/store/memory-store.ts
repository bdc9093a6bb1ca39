// A token store that keeps everything in this process's memory: nothing is
// written to disk (tests, containers with read-only homes, people who want
// no token file). The same contract as the file store.
import { storeKey } from '../../protocol/store-key.ts';
import { isEvictable } from '../../protocol/token.ts';
import { BaseTokenStore, warnOnStderr, type StoreChange, type StoredLogin, type StoreRead, type StoreVersion } from './contract.ts';
import type { Token } from '../../types.ts';

let stores = 0;

/**
 * Tokens in memory only, for this process: `authenticate({ store: 'memory' })`
 * (one shared instance) or `new MemoryTokenStore()`. Every process then logs
 * in on its own; nothing reaches the disk.
 */
export class MemoryTokenStore extends BaseTokenStore {
  /** A name of this store, unique in the process. */
  readonly id = `memory:${(stores += 1)}`;
  readonly #entries = new Map<string, { token: Token; stored_at: number }>();
  readonly #warn: (message: string) => void;
  #writes = 0;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: { onWarning?: ((message: string) => void) | undefined } = {}) {
    super();
    this.#warn = options.onWarning ?? warnOnStderr;
  }

  get description(): string {
    return 'this process\'s memory only (nothing on disk)';
  }

  /** Report a warning about this store or its logins, the way `onWarning` says (default: stderr). */
  warn(message: string): void {
    this.#warn(message);
  }

  version(): StoreVersion {
    return `memory:${this.#writes}`;
  }

  read(host: string): StoreRead {
    const token = this.#entries.get(storeKey(host))?.token;
    return { token: token && !isEvictable(token) ? token : undefined, version: this.version() };
  }

  /** The token stored for `host`, unless it is past both expiries. */
  get(host: string): Token | undefined {
    return this.read(host).token;
  }

  entries(): StoredLogin[] {
    return [...this.#entries].filter(([, entry]) => !isEvictable(entry.token)).map(([host, entry]) => ({ host, ...entry }));
  }

  /** Hosts with a live entry. */
  hosts(): string[] {
    return this.entries().map((entry) => entry.host);
  }

  update(change: StoreChange): Promise<StoreVersion> {
    // One change at a time, like the file store's lock, within this process.
    const next = this.#queue.then(async () => {
      const changes = await change((host) => this.#entries.get(host)?.token);
      if (changes === 'clear') this.#entries.clear();
      else {
        if (Object.keys(changes).length === 0) return this.version();
        for (const [host, token] of Object.entries(changes)) {
          if (token === null) this.#entries.delete(host);
          else this.#entries.set(host, { token, stored_at: Date.now() / 1000 });
        }
      }
      this.#writes += 1;
      return this.version();
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }
}

let shared: MemoryTokenStore | undefined;

/** The one memory store of this process (`store: 'memory'`). */
export function sharedMemoryStore(): MemoryTokenStore {
  shared ??= new MemoryTokenStore();
  return shared;
}
