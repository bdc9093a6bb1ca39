import { decideInteractive } from '../adapters/browser/environment.ts';
import { setDebugLogger } from '../debug.ts';
import { AuthError } from '../errors.ts';
import type { HostActor, RunOptions } from '../host/host-actor.ts';
import { hostActorFor, rememberActor, rememberedActor } from '../host/registry.ts';
import { tokenStatus } from '../protocol/token.ts';
import { storedToken, warnOnStderr } from '../adapters/store/contract.ts';
import { debug } from '../debug.ts';
import { accessTokenRequest, tokenOfAnswer } from '../protocol/agent-ipc.ts';
import { chooseStore } from '../adapters/store/choice.ts';
import { accountsVersion } from '../adapters/store/accounts.ts';
import type { AuthActorRef, AuthStateView, Unsubscribe } from '../host/views.ts';
import type { Inspector } from '../protocol/inspection.ts';
import { presenterOf, type Presenter } from '../host/presenter.ts';
import { DEFAULT_LOGIN_TIMEOUT, resolveSettings, type ServerOptions } from './settings.ts';
import type { FlowKind, Token } from '../types.ts';

/** Options for {@link authenticate}. */
export interface AuthenticateOptions extends ServerOptions, Presenter {
  /** Skip the cached and refresh tokens: log in again. @default false */
  force?: boolean | undefined;
  /** Seconds a person has to finish an interactive login. @default 600 */
  timeout?: number | undefined;
  /**
   * Whether a person can take part. `undefined` detects it: a terminal on
   * stdin and stderr (where prompts go), and no batch-job variable (SLURM_JOB_ID, PBS_JOBID, ...).
   */
  interactive?: boolean | undefined;
  /** With `interactive: false`: why no person can take part, said in the `login_required` message (e.g. "kubectl says the session is not interactive"). */
  whyNotInteractive?: string | undefined;
  /** Interactive login kind: device flow with code-flow fallback (`auto`), or one of them. @default 'auto' */
  flow?: FlowKind | undefined;
  /**
   * Seconds the returned token must stay valid; a cached token with less
   * left is refreshed first. Values under 60 count as 60. @default 60
   */
  minValidity?: number | undefined;
  /**
   * Watch the login in the Stately inspector (or any xstate inspection
   * observer): the host's actor and its children send their events here,
   * with every token, code and verifier removed.
   */
  inspect?: Inspector | undefined;
  /** Cancels this call (the login stops once no caller waits for it). */
  signal?: AbortSignal | undefined;
  /**
   * Receives a line for each step: states, HTTP exchanges (method, URL
   * without its query, status, time), lock waits, which token was used and
   * why. Never a secret. Process-wide: the last logger given wins.
   * `OIDC_AUTH_DEBUG=1` sends the same lines to stderr.
   */
  logger?: ((line: string) => void) | undefined;
  /**
   * The socket of an `oidc-auth agent` to ask first (nothing is then read
   * from or written to this machine's store), or `false` for none. Default:
   * `OIDC_AUTH_SOCK`. When the agent is gone, a warning says so and the
   * store is used.
   */
  agent?: string | false | undefined;
  /**
   * Keep the token fresh in the background from now on: the host's
   * statechart refreshes it ahead of expiry (a tenth of its time left, at
   * least a minute, with jitter), never keeping the process alive, until the
   * actor stops. A failed background refresh is tried again with back-off
   * and shown in `authState()`'s view (`backgroundError`), never thrown.
   */
  keepFresh?: boolean | undefined;
}

/**
 * A ready token for `host`: the cached one if it is valid for at least 60 s
 * more (no request), else a refresh, else an interactive login (device flow,
 * or the code flow where the server has no device flow), else an
 * `AuthError` with code `login_required` that says how to log in.
 *
 * Concurrent calls for one host share one refresh or login.
 *
 * @example
 * ```ts
 * const token = await authenticate({ host: 'https://myapp.example.org' });
 * await fetch('https://myapp.example.org/api', { headers: token.headers });
 * ```
 * @throws {AuthError} with a stable `code`.
 * @see {@link https://www.rfc-editor.org/rfc/rfc8628 | RFC 8628}
 * @see {@link https://www.rfc-editor.org/rfc/rfc8252 | RFC 8252}
 * @see {@link https://www.rfc-editor.org/rfc/rfc7636 | RFC 7636}
 * @see {@link https://www.rfc-editor.org/rfc/rfc6749#section-6 | RFC 6749 6}
 */
export async function authenticate(options: AuthenticateOptions): Promise<Token> {
  if (options.logger) setDebugLogger(options.logger);
  const socket = options.agent === false ? undefined : options.agent ?? process.env.OIDC_AUTH_SOCK;
  if (socket) {
    const fromAgent = await tokenFromAgent(socket, options);
    if (fromAgent) return fromAgent;
  }
  // The store is chosen once per call: the fast path's key and the settings use the same one.
  const store = chooseStore(options.store, options.appName);
  // The fast path: the host's actor already holds a valid token and the store file is unchanged (one stat).
  const key = options.force || options.inspect || options.signal?.aborted ? undefined : fastKey(options, store.id);
  const remembered = key === undefined ? undefined : rememberedActor(key);
  // keepFresh is asked of a run: an actor not keeping fresh yet starts one.
  const held = remembered && (!options.keepFresh || remembered.keepsFresh) ? await remembered.heldToken(options.minValidity) : undefined;
  if (held) return held;
  const settings = resolveSettings({ ...options, store });
  const hostActor = hostActorFor(settings, options.inspect);
  if (key !== undefined) rememberActor(key, hostActor);
  return hostActor.run(runOptions(options));
}

/**
 * The token the agent at `socket` serves for these options, or undefined
 * when the agent is gone (said on stderr: the store is used then). The
 * agent's "no login" and other failures are AuthErrors that say where to log in.
 */
async function tokenFromAgent(socket: string, options: AuthenticateOptions): Promise<Token | undefined> {
  const { askAgent } = await import('../adapters/agent/client.ts');
  const account = options.account ?? process.env.OIDC_AUTH_ACCOUNT;
  try {
    const answer = await askAgent(socket, accessTokenRequest(options, account, options.minValidity, 'oidc-auth-client'));
    if (answer.status === 'success') {
      debug(() => `token from the agent at ${socket} (valid ${Math.round(answer.expires_at - Date.now() / 1000)} s more)`);
      return tokenOfAnswer(answer);
    }
    const why = answer.status === 'failure' ? `${answer.error}${answer.info ? `. ${answer.info}` : ''}` : 'it answered something else than a token';
    throw new AuthError(answer.status === 'failure' && /^no login/.test(answer.error) ? 'login_required' : 'agent_unavailable', `The agent at ${socket} has no token for ${options.host ?? options.issuer}: ${why}`);
  } catch (error) {
    if (!(error instanceof AuthError) || error.code !== 'agent_unavailable' || !/is gone/.test(error.message)) throw error;
    warnOnStderr(`${error.message} Using this machine's store instead.`);
    return undefined;
  }
}

/** What one call asks of the host's actor. */
function runOptions(options: AuthenticateOptions): RunOptions {
  const decision = decideInteractive(options.interactive);
  if (!decision.interactive && options.interactive === false && options.whyNotInteractive) decision.why = options.whyNotInteractive;
  return {
    force: options.force ?? false,
    flow: options.flow ?? 'auto',
    interactive: decision.interactive,
    whyNotInteractive: decision.why,
    timeout: options.timeout ?? DEFAULT_LOGIN_TIMEOUT,
    minValidity: options.minValidity,
    keepFresh: options.keepFresh,
    ...presenterOf(options),
    signal: options.signal,
  };
}

/**
 * A new access token now, because a server refused the current one (an API
 * answered 401): a refresh where the stored refresh token allows it, else a
 * login where a person can take part, else `login_required`. Concurrent
 * callers share the one refresh.
 *
 * @example
 * ```ts
 * let response = await fetch(url, { headers: (await authenticate({ host })).headers });
 * if (response.status === 401) response = await fetch(url, { headers: (await reauthenticate({ host })).headers });
 * ```
 * @throws {AuthError} with a stable `code`.
 */
export async function reauthenticate(options: AuthenticateOptions): Promise<Token> {
  const settings = resolveSettings(options);
  const hostActor = hostActorFor(settings, options.inspect);
  const stored = await storedToken(settings.store, settings.backend.key);
  if (stored && tokenStatus({ ...stored, expires: 0 }) === 'refreshable') {
    try {
      return await hostActor.run({ ...runOptions(options), mode: 'refresh', refreshToken: stored.refresh_token });
    } catch (error) {
      if (!(error instanceof AuthError) || error.code === 'cancelled' || error.code === 'network') throw error;
      // The refresh token is dead too: a login, where one is possible.
    }
  }
  return hostActor.run({ ...runOptions(options), force: true });
}

/** The options that pick a host's actor, as one string: with no account named, the version of the file that remembers default accounts (a stat at most once a second). */
function fastKey(options: AuthenticateOptions, storeId: string): string {
  const scope = Array.isArray(options.scope) ? options.scope.join(' ') : options.scope ?? '';
  const account = options.account ?? process.env.OIDC_AUTH_ACCOUNT ?? `switch ${accountsVersion() ?? '-'}`;
  const from = options.exchangeFrom ? JSON.stringify([options.exchangeFrom.issuer, options.exchangeFrom.clientId, options.exchangeFrom.scope, options.exchangeFrom.audience, options.exchangeFrom.account]) : '';
  return `${options.host ?? ''}\n${options.issuer ?? ''}\n${options.clientId ?? ''}\n${scope}\n${storeId}\n${account}\n${from}`;
}

/**
 * A live, secret-free handle on one server's token lifecycle, for UIs. Its
 * functions are bound and stable, so they can be passed as they are:
 * `useSyncExternalStore(handle.subscribe, handle.getSnapshot)`.
 */
export interface AuthStateHandle {
  /** The current view (state, device code and seconds left, expiry, error); the same object until something changes. */
  readonly view: AuthStateView;
  /** The current view, as a function (the same object until something changes). */
  getSnapshot(): AuthStateView;
  /** Called at once with the current view, then on every change (once a second while the person is asked to act). Returns a function that unsubscribes (it also has `.unsubscribe()`). */
  subscribe(listener: (view: AuthStateView) => void): Unsubscribe;
  /** The host's xstate actor (`authActorOf(handle)` from `oidc-auth-client/machines` types it fully, for `@xstate/react`). Its context holds the token: do not log it. */
  readonly actor: AuthActorRef;
}

const handles = new WeakMap<HostActor, AuthStateHandle>();

/**
 * Watch a server's lifecycle without starting anything: the same actor that
 * `authenticate()` with the same server options uses, and the same handle
 * for every call with those options.
 *
 * @example
 * ```ts
 * authState({ host }).subscribe((view) => render(view.state, view.deviceCode?.user_code, view.secondsLeft));
 * await authenticate({ host });
 * ```
 */
export function authState(options: ServerOptions & { inspect?: Inspector | undefined }): AuthStateHandle {
  const hostActor = hostActorFor(resolveSettings(options), options.inspect, { watchOnly: true });
  let handle = handles.get(hostActor);
  if (!handle) {
    const getSnapshot = () => hostActor.view();
    handle = {
      get view() {
        return getSnapshot();
      },
      getSnapshot,
      subscribe: (listener) => hostActor.subscribe(listener),
      actor: hostActor.actor as AuthActorRef,
    };
    handles.set(hostActor, handle);
  }
  return handle;
}
