import { createActor, fromCallback, fromPromise, type Actor, type AnyActorRef, type SnapshotFrom } from 'xstate';
import type { CallbackServer } from '../adapters/browser/callback-server.ts';
import type { HostSettings } from '../servers/backend.ts';
import { debug, debugging } from '../debug.ts';
import { AuthError } from '../errors.ts';
import { authMachine, SETTLED_STATES, type AuthRequest } from '../machines/auth.machine.ts';
import { codeFlowMachine, type CallbackServerCommand, type CallbackServerEvent } from '../machines/code-flow.machine.ts';
import { deviceFlowMachine } from '../machines/device-flow.machine.ts';
import { asAuthError } from '../machines/shared.ts';
import { parsePastedCallback } from '../protocol/callback.ts';
import { mergeRefreshed, tokenStatus } from '../protocol/token.ts';
import { sanitizingInspector, type Inspector } from '../protocol/inspection.ts';
import { presenterOf, showDeviceCode, showLoginRefused, showLoginUrl, showWaitingForLogin, type Presenter } from './presenter.ts';
import { putToken, sameVersion, warnAbout, type StoreLease, type StoreVersion } from '../adapters/store/contract.ts';
import type { Token } from '../types.ts';
import type { AuthStateName, AuthStateView, Unsubscribe } from './views.ts';

export type { HostSettings } from '../servers/backend.ts';
export type { AuthActorRef, AuthStateName, AuthStateView, Unsubscribe } from './views.ts';

/** One call's wishes: the machine's request plus how to show things and when to give up. */
export interface RunOptions extends Omit<AuthRequest, 'mode'>, Presenter {
  mode?: AuthRequest['mode'];
  signal?: AbortSignal | undefined;
}

type AuthActor = Actor<typeof authMachine>;

/** Each host actor's xstate system -> the HostActor that owns it. */
const byActorSystem = new WeakMap<object, HostActor>();

interface Waiter {
  resolve(token: Token): void;
  reject(error: AuthError): void;
}

function isSettled(snapshot: SnapshotFrom<typeof authMachine>): boolean {
  return SETTLED_STATES.some((state) => snapshot.matches(state));
}

/**
 * The secret-free view of a snapshot. `askedSince` (Unix seconds) is when the
 * person was shown the current device code or login URL, for the countdown.
 */
export function viewOf(snapshot: SnapshotFrom<typeof authMachine>, askedSince?: number, now = Date.now() / 1000): AuthStateView {
  const { context } = snapshot;
  const state = (typeof snapshot.value === 'string' ? snapshot.value : Object.keys(snapshot.value)[0]) as AuthStateName;
  const deviceWaiting = snapshot.matches({ 'device-polling': 'waiting' }) && context.deviceCode !== undefined;
  const codeWaiting = snapshot.matches({ 'code-awaiting-callback': 'waiting' });
  const deviceExpiresAt = context.deviceCode && askedSince !== undefined ? Math.floor(askedSince + context.deviceCode.expires_in) : undefined;
  const loginExpiresAt = codeWaiting && askedSince !== undefined ? Math.floor(askedSince + (context.request?.timeout ?? 0)) : undefined;
  const expiresAt = deviceWaiting ? deviceExpiresAt : loginExpiresAt;
  return {
    host: context.host,
    state,
    run: context.run,
    deviceCode: context.deviceCode,
    deviceCodeExpiresAt: deviceExpiresAt,
    loginExpiresAt,
    secondsLeft: expiresAt === undefined ? undefined : Math.max(0, Math.floor(expiresAt - now)),
    loginUrl: context.loginUrl,
    expires: context.token?.expires,
    refreshExpires: context.token?.refresh_expires,
    error: context.error ? { code: context.error.code, message: context.error.message, status: context.error.status } : undefined,
  };
}

/**
 * The one actor of a host in this process, wired to real adapters. Callers
 * that arrive while a run is in flight join it instead of starting another.
 */
export class HostActor {
  readonly key: string;
  #settings: HostSettings;
  readonly actor: AuthActor;
  readonly #waiters = new Set<Waiter>();
  #presenter: Presenter = {};

  readonly #inspectors = new Set<Inspector>();

  constructor(settings: HostSettings, inspect?: Inspector) {
    this.#settings = settings;
    const { backend } = settings;
    this.key = backend.key;
    if (inspect) this.#inspectors.add(inspect);
    this.actor = createActor(HostActor.#machine, { input: { host: backend.key, command: backend.command }, inspect: inspect ? sanitizingInspector(inspect) : undefined });
    // The machine is provided once for every host; its adapters find this host through the actor system.
    byActorSystem.set(this.actor.system, this);
    this.actor.subscribe({
      next: (snapshot) => {
        this.#track(snapshot);
        this.#settle(snapshot);
      },
      error: (error) => this.#rejectAll(asAuthError(error)),
    });
    this.actor.start();
  }

  /** The host of the actor system an adapter runs in. */
  static #of(system: unknown): HostActor {
    const host = byActorSystem.get(system as object);
    if (!host) throw new AuthError('unexpected', 'An adapter ran outside of a host actor.');
    return host;
  }

  static readonly #saveToken = fromPromise<void, { token: Token }>(async ({ input, system }) => {
    const host = HostActor.#of(system);
    const version = await putToken(host.settings.store, host.key, input.token);
    host.#obtained(input.token, version);
  });

  /** The lifecycle wired to the real adapters: one machine for all hosts (a provided machine is about 54 KiB). */
  static readonly #machine = authMachine.provide({
    actors: {
      loadToken: fromPromise(async ({ input, system }) => {
        const host = HostActor.#of(system);
        const { token, version } = await host.settings.store.read(host.key);
        host.#candidate = token ? { token, version } : undefined;
        const status = tokenStatus(token, undefined, input.minValidity);
        debug(() => `${host.key}: stored token in ${host.settings.store.id}: ${token ? `${status}, access token valid ${Math.round(token.expires - Date.now() / 1000)} s more (needed: ${Math.max(60, input.minValidity)} s)` : 'none'}`);
        return { token, status };
      }),
      refreshToken: fromPromise(async ({ input, signal, system }) => HostActor.#of(system).#refreshTransaction(input.refreshToken, input.minValidity, signal)),
      loginTurn: fromPromise(async ({ input, signal, system }) => HostActor.#of(system).#takeLoginTurn(input.timeout, input.minValidity, input.force, signal)),
      deviceFlow: deviceFlowMachine.provide({
        actors: {
          requestDeviceCode: fromPromise(({ signal, system }) => HostActor.#of(system).settings.backend.requestDeviceCode(signal)),
          pollToken: fromPromise(({ input, signal, system }) => HostActor.#of(system).settings.backend.pollDeviceToken(input.deviceCode, signal)),
          saveToken: HostActor.#saveToken,
        },
      }),
      codeFlow: codeFlowMachine.provide({
        actors: {
          callbackServer: fromCallback<CallbackServerCommand>(({ sendBack: send, receive, system }) => {
            const host = HostActor.#of(system);
            const { backend } = host.settings;
            const presenter = host.#presenter;
            const sendBack = (event: CallbackServerEvent) => send(event);
            let server: CallbackServer | undefined;
            let stopped = false;
            const abort = new AbortController();
            // node:http loads here, on the first code-flow login, not at import.
            import('../adapters/browser/callback-server.ts').then(({ startCallbackServer }) => startCallbackServer({
              ...backend.callback,
              onCallback: (params) => sendBack({ type: 'server.callback', params }),
              onRefused: (message) => showLoginRefused(presenter, message),
            })).then(
              async (started) => {
                if (stopped) return void started.close();
                server = started;
                // The provider URL carries the state: it stays in the server, and the person opens the loopback /login.
                started.setLoginTarget(await backend.loginUrl(started.redirectUri, abort.signal));
                if (stopped) return;
                sendBack({ type: 'server.listening', redirectUri: started.redirectUri, loginUrl: started.startUrl });
                // No browser on this machine: the address the browser ended on may be pasted instead, with the same state check.
                const read = presenter.readPastedUrl;
                while (read && !stopped) {
                  const params = parsePastedCallback(await read(abort.signal));
                  if (stopped) return;
                  if (params && backend.callback.matches(params, started.redirectUri)) return void sendBack({ type: 'server.callback', params });
                  presenter.onPasteRefused?.('That address does not belong to this login (it carries no code, or another login\'s state). Paste the whole address the browser shows after you logged in.');
                }
              },
            ).catch((error: unknown) => {
              if (!stopped) sendBack({ type: 'server.error', error: asAuthError(error) });
            });
            receive((command) => {
              void server?.respond(command.ok, command.message).then(() => {
                if (!stopped) sendBack({ type: 'server.responded' });
              });
            });
            return () => {
              stopped = true;
              abort.abort();
              void server?.close();
            };
          }),
          exchangeCode: fromPromise(({ input, signal, system }) => HostActor.#of(system).settings.backend.exchangeCode(input.params, input.redirectUri, signal)),
          saveToken: HostActor.#saveToken,
        },
      }),
    },
    actions: {
      releaseLoginTurn: ({ system }) => HostActor.#of(system).#releaseLoginTurn(),
      showDeviceCode: ({ system }, params) => showDeviceCode(HostActor.#of(system).#presenter, params.code),
      showLoginUrl: ({ system }, params) => showLoginUrl(HostActor.#of(system).#presenter, params.url, params.redirectUri),
    },
  });

  /** Lock the store, re-read, refresh only if still needed, write, unlock. */
  async #refreshTransaction(explicit: string | undefined, minValidity: number, signal: AbortSignal): Promise<Token> {
    const { backend, store } = this.settings;
    let result: Token | undefined;
    let fresh = false;
    const version = await store.update(async (current) => {
      const stored = current(this.key);
      if (explicit === undefined && stored && tokenStatus(stored, undefined, minValidity) === 'valid') {
        result = stored; // Another process refreshed while we waited for the lock.
        debug(() => `${this.key}: another process refreshed while this one waited for the lock: its token is used`);
        return {};
      }
      const usable = stored && stored.refresh_token !== '' && tokenStatus({ ...stored, expires: 0 }) === 'refreshable';
      const refreshToken = explicit ?? (usable ? stored.refresh_token : undefined);
      if (refreshToken === undefined) throw new AuthError('invalid_grant', 'There is no usable refresh token any more. Log in again.');
      const previous = stored && explicit === undefined ? stored : undefined;
      let answer: Token;
      try {
        answer = await backend.refresh(refreshToken, previous, signal);
      } catch (error) {
        // A server may echo any token it has seen; none of ours leaves in an error.
        const known = [refreshToken, stored?.access_token, stored?.refresh_token, stored?.id_token].filter((value): value is string => !!value);
        throw error instanceof AuthError ? error.withoutSecrets(known) : error;
      }
      result = mergeRefreshed(previous ?? { refresh_token: refreshToken, refresh_expires: 0 }, answer);
      fresh = true;
      return { [this.key]: result };
    });
    if (fresh) this.#obtained(result as Token, version);
    else this.#candidate = { token: result as Token, version };
    return result as Token;
  }

  #loginLease: StoreLease | undefined;

  /**
   * One login at a time for this server and store, across processes: take
   * the login lock (waiting for another process's login, bounded by the
   * login timeout), then look again: a token that process stored is used
   * instead of a second login (unless this login was forced). The lock is
   * kept through the login.
   */
  async #takeLoginTurn(timeout: number, minValidity: number, force: boolean, signal: AbortSignal): Promise<{ token?: Token | undefined }> {
    const { store } = this.settings;
    if (!store.loginTurn) return {}; // A store of this process only (memory): nobody else logs in through it.
    const lease = await store.loginTurn(this.key, {
      timeoutMs: Math.max(1, timeout) * 1000,
      signal,
      onWait: (holder) => showWaitingForLogin(this.#presenter, holder),
    });
    let read;
    try {
      read = await store.read(this.key);
    } catch (error) {
      lease.release();
      throw error;
    }
    const { token, version } = read;
    // A forced login logs in whatever is stored (that is what --force asks for).
    if (!force && token && tokenStatus(token, undefined, minValidity) === 'valid') {
      lease.release();
      this.#candidate = { token, version };
      debug(() => `${this.key}: another process logged in meanwhile: its token is used`);
      return { token };
    }
    this.#loginLease = lease;
    return {};
  }

  #releaseLoginTurn(): void {
    this.#loginLease?.release();
    this.#loginLease = undefined;
  }

  /** The token the machine is about to settle with, and the store version it belongs to. */
  #candidate: { token: Token; version: StoreVersion | undefined } | undefined;
  /** The token this actor holds while it rests in `authenticated`, with that version: returned without a run while the file is unchanged. */
  #held: { token: Token; version: StoreVersion | undefined } | undefined;
  /** Seconds the provider's last new token was valid for. */
  #lifetime: number | undefined;
  #warnedShort = false;

  /** A new token was obtained (a login or a refresh) and written as `version`. */
  #obtained(token: Token, version: StoreVersion | undefined): void {
    this.#candidate = { token, version };
    this.#lifetime = token.expires - Date.now() / 1000;
  }

  /**
   * `minValidity` as far as the provider can meet it: when it issues tokens
   * that live no longer than asked for, half their lifetime, so that a
   * refresh happens once per lifetime and not on every call.
   */
  #effectiveMinValidity(minValidity: number | undefined): number | undefined {
    if (minValidity === undefined || this.#lifetime === undefined || minValidity < this.#lifetime) return minValidity;
    this.#warnShort(minValidity, this.#lifetime);
    return Math.floor(this.#lifetime / 2);
  }

  /** Tell the caller once that the provider's tokens live shorter than the `minValidity` asked for. */
  #warnShort(wanted: number, lifetime: number): void {
    if (this.#warnedShort) return;
    this.#warnedShort = true;
    warnAbout(this.settings.store, `${this.key} issues tokens valid for ${Math.round(lifetime)} s, shorter than the ${wanted} s asked for (minValidity, --min-validity). ` +
      'This token is returned as it is, and it is refreshed when half its lifetime is left, not on every call. Ask for less, or ask the provider for longer-lived tokens.');
  }

  /**
   * The token this actor holds, if the store is the version it was read or
   * written as (a file: one `stat`) and it is still valid: the statechart's
   * last answer, given again without a new run. A promise where the store
   * answers asynchronously.
   */
  heldToken(minValidity?: number): Token | undefined | Promise<Token | undefined> {
    const held = this.#held;
    if (held === undefined || held.version === undefined) return undefined;
    const current = this.settings.store.version();
    if (current instanceof Promise) return current.then((version) => this.#stillHeld(held, version, minValidity), () => undefined);
    return this.#stillHeld(held, current, minValidity);
  }

  #stillHeld(held: { token: Token; version: StoreVersion | undefined }, current: StoreVersion | undefined, minValidity: number | undefined): Token | undefined {
    if (this.#held !== held || !sameVersion(current, held.version)) return undefined;
    const valid = tokenStatus(held.token, undefined, this.#effectiveMinValidity(minValidity)) === 'valid';
    if (valid) debug(() => `${this.key}: the held token again (store unchanged, valid ${Math.round(held.token.expires - Date.now() / 1000)} s more)`);
    return valid ? held.token : undefined;
  }

  #lastLogged: string | undefined;

  #track(snapshot: SnapshotFrom<typeof authMachine>): void {
    const token = snapshot.context.token;
    if (debugging()) {
      const state = JSON.stringify(snapshot.value).replace(/"/g, '');
      if (state !== this.#lastLogged) {
        this.#lastLogged = state;
        debug(() => `${this.key}: ${state}${snapshot.matches('authenticated') && token ? ` (token valid ${Math.round(token.expires - Date.now() / 1000)} s more)` : ''}${snapshot.context.error ? ` (${snapshot.context.error.code})` : ''}`);
      }
    }
    if (!snapshot.matches('authenticated') || token === undefined) {
      if (!snapshot.matches('idle')) this.#held = undefined;
      return;
    }
    this.#held = this.#candidate?.token === token ? this.#candidate : undefined;
    // The lifetime was unknown when the run started (the first refresh after a restart).
    const wanted = snapshot.context.request?.minValidity;
    if (wanted !== undefined && this.#lifetime !== undefined && wanted >= this.#lifetime) this.#warnShort(wanted, this.#lifetime);
  }

  #settle(snapshot: SnapshotFrom<typeof authMachine>): void {
    if (this.#waiters.size === 0 || !isSettled(snapshot) || snapshot.matches('idle')) return;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    const { token, error } = snapshot.context;
    for (const waiter of waiters) {
      if (snapshot.matches('authenticated') && token) waiter.resolve(token);
      else waiter.reject(error ?? new AuthError('unexpected', 'The login ended without a token or an error.'));
    }
  }

  #rejectAll(error: AuthError): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const waiter of waiters) waiter.reject(error);
  }

  /**
   * Send this actor's inspection events (root and children, sanitised) to
   * `inspect` too, once. The root and its live children are announced to it
   * first, so a late inspector can draw them.
   */
  addInspector(inspect: Inspector): void {
    if (this.#inspectors.has(inspect)) return;
    this.#inspectors.add(inspect);
    const sanitised = sanitizingInspector(inspect);
    const announce = (actorRef: AnyActorRef) => {
      sanitised({ type: '@xstate.actor', actorRef, rootId: this.actor.sessionId } as { type: string });
      const children = (actorRef.getSnapshot() as { children?: Record<string, AnyActorRef | undefined> }).children ?? {};
      for (const child of Object.values(children)) if (child) announce(child);
    };
    announce(this.actor);
    this.actor.system.inspect(sanitised);
  }

  /** How this host is reached now (adapters read it at each step). */
  get settings(): HostSettings {
    return this.#settings;
  }

  /**
   * Use `settings` from now on, when a later call for the same server asks
   * for other ones (another `fetch`, ports, client options): between runs it
   * takes effect; during a run it cannot, and that is said, never ignored.
   */
  adopt(settings: HostSettings): void {
    if (settings.fingerprint === this.#settings.fingerprint) return;
    if (this.busy) {
      throw new AuthError('settings_conflict', `A login or refresh for ${this.key} is in progress with other settings (transport, ports, client or routes) than this call's. ` +
        'Wait for it to finish, or use the same settings for every call to this server.');
    }
    this.#settings = settings;
  }

  /** Whether a run is in flight. */
  get busy(): boolean {
    return !isSettled(this.actor.getSnapshot());
  }

  /** Start a run, or join the one in flight. */
  run(options: RunOptions): Promise<Token> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new AuthError('cancelled', 'The login was cancelled before it started.'));
    return new Promise<Token>((resolve, reject) => {
      const onAbort = () => {
        if (!this.#waiters.delete(waiter)) return;
        reject(new AuthError('cancelled', 'The login was cancelled.'));
        if (this.#waiters.size === 0 && this.busy) this.actor.send({ type: 'CANCEL' });
      };
      const waiter: Waiter = {
        resolve: (token) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(token);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const join = this.busy;
      this.#waiters.add(waiter);
      if (join) return;
      this.#presenter = presenterOf(options);
      this.actor.send({
        type: 'AUTHENTICATE',
        request: {
          mode: options.mode ?? 'authenticate',
          force: options.force,
          flow: options.flow,
          interactive: options.interactive,
          whyNotInteractive: options.whyNotInteractive,
          timeout: options.timeout,
          minValidity: this.#effectiveMinValidity(options.minValidity),
          refreshToken: options.refreshToken,
          deviceCode: options.deviceCode,
        },
      });
    });
  }

  #asked: { what: unknown; since: number } | undefined;
  #cached: { snapshot: SnapshotFrom<typeof authMachine>; view: AuthStateView } | undefined;

  /**
   * The secret-free view of the current state: the same object until the
   * actor's snapshot changes (React's `useSyncExternalStore` needs that).
   */
  view(): AuthStateView {
    const snapshot = this.actor.getSnapshot();
    if (this.#cached?.snapshot !== snapshot) this.#cached = { snapshot, view: this.#viewOf(snapshot) };
    return this.#cached.view;
  }

  #viewOf(snapshot: SnapshotFrom<typeof authMachine>): AuthStateView {
    const asked = snapshot.context.deviceCode ?? snapshot.context.loginUrl;
    if (asked && this.#asked?.what !== asked) this.#asked = { what: asked, since: Date.now() / 1000 };
    return viewOf(snapshot, asked ? this.#asked?.since : undefined);
  }

  /** Subscribe to secret-free state views; the listener gets the current one at once. */
  subscribe(listener: (view: AuthStateView) => void): Unsubscribe {
    listener(this.view());
    const subscription = this.actor.subscribe(() => listener(this.view()));
    const unsubscribe = () => subscription.unsubscribe();
    return Object.assign(unsubscribe, { unsubscribe });
  }

  /** Stop the actor; pending callers get `cancelled`. */
  stop(): void {
    this.#held = undefined;
    this.#releaseLoginTurn();
    this.#rejectAll(new AuthError('cancelled', 'The host actor was stopped.'));
    this.actor.stop();
  }
}

const actors = new Map<string, HostActor>();

/** The key of a host's actor: the server's store key and the store file. */
export function actorKey(settings: Pick<HostSettings, 'backend' | 'store'>): string {
  return `${settings.backend.key} ${settings.store.id}`;
}

/**
 * The host's actor in this process, made on first use; `inspect` is added to
 * it (once). A call with other settings than the actor has makes them take
 * effect between runs, or throws `settings_conflict` during one.
 */
export function hostActorFor(settings: HostSettings, inspect?: Inspector, options: { watchOnly?: boolean } = {}): HostActor {
  const key = actorKey(settings);
  let actor = actors.get(key);
  if (!actor) {
    actor = new HostActor(settings, inspect);
    actors.set(key, actor);
  } else {
    if (!options.watchOnly) actor.adopt(settings); // Watching (authState) changes nothing about how the server is reached.
    if (inspect) actor.addInspector(inspect);
  }
  return actor;
}

/** Host actors by a caller's cheap key (server options as given, not normalised), for `authenticate()`'s fast path. */
const byCallerKey = new Map<string, HostActor>();

/** The actor remembered for a caller's key, if any. */
export function rememberedActor(key: string): HostActor | undefined {
  return byCallerKey.get(key);
}

/** Remember `actor` for a caller's key. */
export function rememberActor(key: string, actor: HostActor): void {
  byCallerKey.set(key, actor);
}

/** Stop and forget every host actor (tests, long-running apps that switch accounts). */
export function resetHostActors(): void {
  byCallerKey.clear();
  for (const actor of actors.values()) actor.stop();
  actors.clear();
}
