// The two transactions of a token lifecycle on a store: a refresh (lock,
// re-read, refresh only if still needed, write) and the login turn (one
// login at a time across processes). They use only the store contract, so
// they work on every store; what to ask the server comes in as a function.
import { debug } from '../../debug.ts';
import { AuthError } from '../../errors.ts';
import { mergeRefreshed, tokenStatus } from '../../protocol/token.ts';
import type { Token } from '../../types.ts';
import type { StoreLease, StoreVersion, TokenStoreBackend, TurnHolder } from './contract.ts';

/** Ask the server for a new token with `refreshToken`; `stored` is the token it replaces, if any. */
export type RefreshCall = (refreshToken: string, stored: Token | undefined, signal: AbortSignal) => Promise<Token>;

/** What a refresh transaction ended with: the token, whether it is new (written now) and the store version it belongs to. */
export interface Refreshed {
  token: Token;
  fresh: boolean;
  version: StoreVersion | undefined;
}

/**
 * Lock the store, re-read, refresh only if still needed, write, unlock. Another
 * process that refreshed while this one waited for the lock gives its token.
 * With `explicit`, that refresh token is spent whatever is stored.
 */
export async function refreshInStore(store: TokenStoreBackend, key: string, refresh: RefreshCall, request: { explicit: string | undefined; minValidity: number; signal: AbortSignal }): Promise<Refreshed> {
  const { explicit, minValidity, signal } = request;
  let result: Token | undefined;
  let fresh = false;
  const version = await store.update(async (current) => {
    const stored = current(key);
    if (explicit === undefined && stored && tokenStatus(stored, undefined, minValidity) === 'valid') {
      result = stored;
      debug(() => `${key}: another process refreshed while this one waited for the lock: its token is used`);
      return {};
    }
    const usable = stored && stored.refresh_token !== '' && tokenStatus({ ...stored, expires: 0 }) === 'refreshable';
    const refreshToken = explicit ?? (usable ? stored.refresh_token : undefined);
    if (refreshToken === undefined) throw new AuthError('invalid_grant', 'There is no usable refresh token any more. Log in again.');
    const previous = stored && explicit === undefined ? stored : undefined;
    let answer: Token;
    try {
      answer = await refresh(refreshToken, previous, signal);
    } catch (error) {
      // A server may echo any token it has seen; none of ours leaves in an error.
      const known = [refreshToken, stored?.access_token, stored?.refresh_token, stored?.id_token].filter((value): value is string => !!value);
      throw error instanceof AuthError ? error.withoutSecrets(known) : error;
    }
    result = mergeRefreshed(previous ?? { refresh_token: refreshToken, refresh_expires: 0 }, answer);
    fresh = true;
    return { [key]: result };
  });
  return { token: result as Token, fresh, version };
}

/** What the login turn found: a token another process logged in with meanwhile, or the lease of this process's turn. */
export type LoginTurn = { token: Token; version: StoreVersion | undefined; lease?: undefined } | { token?: undefined; lease: StoreLease | undefined };

/**
 * One login at a time for this server and store, across processes: take
 * the login lock (waiting for another process's login, bounded by
 * `timeout` seconds), then look again: a token that process stored is used
 * instead of a second login, unless this login is forced. The lease is kept
 * through the login; a store of one process only (memory) has no turns.
 */
export async function takeLoginTurn(store: TokenStoreBackend, key: string, request: { timeout: number; minValidity: number; force: boolean; signal: AbortSignal; onWait(holder: TurnHolder | undefined): void }): Promise<LoginTurn> {
  if (!store.loginTurn) return { lease: undefined };
  const lease = await store.loginTurn(key, { timeoutMs: Math.max(1, request.timeout) * 1000, signal: request.signal, onWait: request.onWait });
  let read;
  try {
    read = await store.read(key);
  } catch (error) {
    lease.release();
    throw error;
  }
  const { token, version } = read;
  // A forced login logs in whatever is stored (that is what --force asks for).
  if (!request.force && token && tokenStatus(token, undefined, request.minValidity) === 'valid') {
    lease.release();
    debug(() => `${key}: another process logged in meanwhile: its token is used`);
    return { token, version };
  }
  return { lease };
}
