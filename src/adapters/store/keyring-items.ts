// The keyring's items for one service, through @napi-rs/keyring (loaded on
// the first call): one call at a time, each bounded in time, a minute's
// cool-down after a failure; large secrets split into parts named by their
// write, so that a reader never joins two writes.
import { tokenFromStored, whoField } from '../../protocol/token.ts';
import type { Identity, Token } from '../../types.ts';
import { STORE_FORMAT_VERSION } from './file-format.ts';

/**
 * The largest secret written as one keyring item, in characters (UTF-16
 * code units). Windows' Credential Manager takes a blob of at most 2,560
 * bytes and keyring-rs writes the secret there as UTF-16, two bytes a code
 * unit: 1,280 at most, so 1,200 leaves room. The same rule holds on every
 * platform (a store may travel between machines); on macOS
 * @napi-rs/keyring talks to the Keychain natively, without the 4 KB line
 * limit of `security -i`. Bigger tokens are split into parts.
 */
export const KEYRING_PART_SIZE = 1200;

/**
 * `whole` in parts of at most {@link KEYRING_PART_SIZE} characters, or no
 * parts when it fits one item. A character outside the BMP is never cut in
 * two: a lone surrogate would not survive the keyring's UTF-8 or UTF-16.
 */
export function splitSecret(whole: string, size: number = KEYRING_PART_SIZE): string[] {
  if (whole.length <= size) return [];
  const parts: string[] = [];
  for (let at = 0; at < whole.length;) {
    let end = Math.min(at + size, whole.length);
    const last = whole.charCodeAt(end - 1);
    if (end < whole.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    parts.push(whole.slice(at, end));
    at = end;
  }
  return parts;
}

/** After a keyring call fails, later calls of this store fail at once for this long (a locked keyring stays locked in a batch job). */
const UNAVAILABLE_FOR_MS = 60_000;

/** One login in the index: enough to list it, nothing secret. */
export interface IndexEntry {
  stored_at: number;
  expires: number;
  refresh_expires: number;
  scope: string;
  refreshable: boolean;
  /** How many parts the secret was split into (0: one item). */
  parts: number;
  /** Names the parts of this write, so that a reader never mixes two writes. */
  generation: string;
  /** Who logged in (no secret), for listings without reading the keyring. */
  who?: Identity | undefined;
}

export type Index = Record<string, IndexEntry>;

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
export class KeyringUnavailable extends Error {}

/** The index file's text -> its entries (unknown or malformed ones are left out). */
export function indexFrom(text: string | undefined): Index {
  if (text === undefined) return {};
  try {
    const parsed = JSON.parse(text) as { entries?: unknown };
    const entries = parsed.entries;
    if (entries === null || typeof entries !== 'object') return {};
    const index: Index = {};
    for (const [key, value] of Object.entries(entries as Record<string, Partial<IndexEntry>>)) {
      if (typeof value.expires === 'number' && typeof value.refresh_expires === 'number' && typeof value.generation === 'string') {
        index[key] = { stored_at: value.stored_at ?? 0, expires: value.expires, refresh_expires: value.refresh_expires, scope: String(value.scope ?? ''), refreshable: value.refreshable === true, parts: Number(value.parts ?? 0), generation: value.generation, ...whoField(value.who) };
      }
    }
    return index;
  } catch {
    return {};
  }
}

/** The secret items of one keyring service. */
export class KeyringItems {
  readonly #service: string;
  readonly #keyringTimeout: number;

  constructor(service: string, keyringTimeout: number) {
    this.#service = service;
    this.#keyringTimeout = keyringTimeout;
  }

  /** Why the keyring failed last, and when: for a minute calls fail at once instead of waiting on it again. */
  #unavailable: { why: string; at: number } | undefined;

  /** Run one keyring call (`what`, for messages), in turn; a KeyringUnavailable when the keyring is not there, refuses or does not answer. */
  async call<T>(what: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
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
    return new AsyncEntry(this.#service, account);
  }

  #partName(key: string, generation: string, part: number): string {
    return `${key}#${generation}.${part}`;
  }

  /**
   * The secret of `key` as the index describes it: the token, or undefined
   * when the keyring does not have it; `stale` when it belongs to another
   * write than the index read (a writer came in between: read the index again).
   */
  async readSecret(key: string, entry: IndexEntry): Promise<{ token: Token | undefined; stale: boolean }> {
    const read = (account: string) => this.call('reading the keyring', async (signal) => (await this.#entry(account)).getPassword(signal));
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

  /** Write the secret of `key` (in parts when large); resolves to its index entry. */
  async writeSecret(key: string, token: Token, now: number): Promise<IndexEntry> {
    // node:crypto loads here, on a write, not when the CLI starts.
    const { randomBytes } = await import('node:crypto');
    const generation = randomBytes(6).toString('base64url');
    const whole = JSON.stringify({ token, stored_at: now, version: STORE_FORMAT_VERSION, generation });
    const parts = splitSecret(whole);
    const write = (account: string, text: string) => this.call('writing to the keyring', async (signal) => (await this.#entry(account)).setPassword(text, signal));
    if (parts.length === 0) await write(key, whole);
    else await Promise.all(parts.map((text, part) => write(this.#partName(key, generation, part), text)));
    return { stored_at: now, expires: token.expires, refresh_expires: token.refresh_expires, scope: token.scope, refreshable: token.refresh_token !== '', parts: parts.length, generation, ...(token.who ? { who: token.who } : {}) };
  }

  /** Remove the secret items of `entry` (best effort: a stale part holds no more than the index points to). */
  async deleteSecret(key: string, entry: IndexEntry, keep?: IndexEntry): Promise<void> {
    const accounts = entry.parts === 0 ? (keep?.parts === 0 ? [] : [key]) : Array.from({ length: entry.parts }, (_, part) => this.#partName(key, entry.generation, part));
    await Promise.all(accounts.map((account) => this.call('removing from the keyring', async (signal) => (await this.#entry(account)).deletePassword(signal)).catch(() => false)));
  }
}
