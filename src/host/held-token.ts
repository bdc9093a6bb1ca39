// The token a host's actor holds while it rests in `authenticated`, given
// again without a run while the store is the version it was read or written
// as (a file: one stat); and what the provider's token lifetime means for
// `minValidity`.
import { debug } from '../debug.ts';
import { sameVersion, warnAbout, type StoreVersion, type TokenStoreBackend } from '../adapters/store/contract.ts';
import { tokenStatus } from '../protocol/token.ts';
import type { Token } from '../types.ts';

interface Versioned {
  token: Token;
  version: StoreVersion | undefined;
}

/** One host's held token, its candidate and the provider's token lifetime. */
export class HeldToken {
  readonly #key: string;
  readonly #store: () => TokenStoreBackend;
  /** The token the machine is about to settle with, and the store version it belongs to. */
  #candidate: Versioned | undefined;
  /** The token held while the actor rests in `authenticated`, with that version. */
  #held: Versioned | undefined;
  /** Seconds the provider's last new token was valid for. */
  #lifetime: number | undefined;
  #warnedShort = false;

  constructor(key: string, store: () => TokenStoreBackend) {
    this.#key = key;
    this.#store = store;
  }

  /** A token read from the store (or another process's), about to be settled with. */
  read(token: Token | undefined, version: StoreVersion | undefined): void {
    this.#candidate = token ? { token, version } : undefined;
  }

  /** A new token was obtained (a login or a refresh) and written as `version`. */
  obtained(token: Token, version: StoreVersion | undefined): void {
    this.#candidate = { token, version };
    this.#lifetime = token.expires - Date.now() / 1000;
  }

  /** The machine settled in `authenticated` with `token`: hold it, if it is the candidate. */
  settled(token: Token, wanted: number | undefined): void {
    this.#held = this.#candidate?.token === token ? this.#candidate : undefined;
    // The lifetime was unknown when the run started (the first refresh after a restart).
    if (wanted !== undefined && this.#lifetime !== undefined && wanted >= this.#lifetime) this.#warnShort(wanted, this.#lifetime);
  }

  /** A run started, or the actor stopped: nothing is held. */
  release(): void {
    this.#held = undefined;
  }

  /**
   * `minValidity` as far as the provider can meet it: when it issues tokens
   * that live no longer than asked for, half their lifetime, so that a
   * refresh happens once per lifetime and not on every call (said once).
   */
  effectiveMinValidity(minValidity: number | undefined): number | undefined {
    if (minValidity === undefined || this.#lifetime === undefined || minValidity < this.#lifetime) return minValidity;
    this.#warnShort(minValidity, this.#lifetime);
    return Math.floor(this.#lifetime / 2);
  }

  /** Tell the caller once that the provider's tokens live shorter than the `minValidity` asked for. */
  #warnShort(wanted: number, lifetime: number): void {
    if (this.#warnedShort) return;
    this.#warnedShort = true;
    warnAbout(this.#store(), `${this.#key} issues tokens valid for ${Math.round(lifetime)} s, shorter than the ${wanted} s asked for (minValidity, --min-validity). ` +
      'This token is returned as it is, and it is refreshed when half its lifetime is left, not on every call. Ask for less, or ask the provider for longer-lived tokens.');
  }

  /**
   * The held token, if the store is the version it was read or written as
   * and it is still valid: the statechart's last answer, given again
   * without a new run. A promise where the store answers asynchronously.
   */
  get(minValidity?: number): Token | undefined | Promise<Token | undefined> {
    const held = this.#held;
    if (held === undefined || held.version === undefined) return undefined;
    const current = this.#store().version();
    if (current instanceof Promise) return current.then((version) => this.#stillHeld(held, version, minValidity), () => undefined);
    return this.#stillHeld(held, current, minValidity);
  }

  #stillHeld(held: Versioned, current: StoreVersion | undefined, minValidity: number | undefined): Token | undefined {
    if (this.#held !== held || !sameVersion(current, held.version)) return undefined;
    const valid = tokenStatus(held.token, undefined, this.effectiveMinValidity(minValidity)) === 'valid';
    if (valid) debug(() => `${this.#key}: the held token again (store unchanged, valid ${Math.round(held.token.expires - Date.now() / 1000)} s more)`);
    return valid ? held.token : undefined;
  }
}
