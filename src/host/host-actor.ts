// The owner of one host's lifecycle in this process: it starts a run or lets
// a caller join the one in flight, settles the callers, gives secret-free
// views to subscribers and sends sanitised events to inspectors. The
// adapters are wired in by wiring.ts (they reach this actor through the
// port in the machine's input); the held token lives in held-token.ts.
import { createActor, type Actor, type AnyActorRef, type SnapshotFrom } from 'xstate';
import type { StoreLease } from '../adapters/store/contract.ts';
import { debug, debugging } from '../debug.ts';
import { AuthError } from '../errors.ts';
import { SETTLED_STATES, type AuthRequest, type authMachine } from '../machines/auth.machine.ts';
import { asAuthError } from '../machines/shared.ts';
import { sanitizingInspector, type Inspector } from '../protocol/inspection.ts';
import type { HostSettings } from '../servers/backend.ts';
import type { Token } from '../types.ts';
import { HeldToken } from './held-token.ts';
import { presenterOf, type Presenter } from './presenter.ts';
import { viewOf } from './view-of.ts';
import type { AuthStateView, Unsubscribe } from './views.ts';
import { hostPort, wiredMachine, type WiredHost } from './wiring.ts';

/** One call's wishes: the machine's request plus how to show things and when to give up. */
export interface RunOptions extends Omit<AuthRequest, 'mode'>, Presenter {
  mode?: AuthRequest['mode'];
  signal?: AbortSignal | undefined;
}

type Snapshot = SnapshotFrom<typeof authMachine>;

interface Waiter {
  resolve(token: Token): void;
  reject(error: AuthError): void;
}

function isSettled(snapshot: Snapshot): boolean {
  return SETTLED_STATES.some((state) => snapshot.matches(state));
}

/**
 * The one actor of a host in this process, wired to real adapters. Callers
 * that arrive while a run is in flight join it instead of starting another.
 */
export class HostActor implements WiredHost {
  readonly key: string;
  readonly actor: Actor<typeof wiredMachine>;
  readonly tokens: HeldToken;
  #settings: HostSettings;
  #presenter: Presenter = {};
  #loginLease: StoreLease | undefined;
  readonly #waiters = new Set<Waiter>();
  readonly #inspectors = new Set<Inspector>();

  readonly #actorOf: (settings: HostSettings) => HostActor;

  /** `actorOf` finds another login's actor in this process (the registry's). */
  constructor(settings: HostSettings, inspect?: Inspector, actorOf: (settings: HostSettings) => HostActor = (other) => new HostActor(other)) {
    this.#settings = settings;
    this.#actorOf = actorOf;
    const { backend } = settings;
    this.key = backend.key;
    this.tokens = new HeldToken(this.key, () => this.#settings.store);
    if (inspect) this.#inspectors.add(inspect);
    this.actor = createActor(wiredMachine, { input: { host: backend.key, command: backend.command, port: hostPort(this) }, inspect: inspect ? sanitizingInspector(inspect) : undefined, clock: this.#clock });
    this.actor.subscribe({
      next: (snapshot) => {
        this.#track(snapshot);
        this.#settle(snapshot);
      },
      error: (error) => this.#rejectAll(asAuthError(error)),
    });
    this.actor.start();
  }

  actorOf(settings: HostSettings): HostActor {
    return this.#actorOf(settings);
  }

  /** What the run in flight asked (the exchange runs the provider login with the same wishes). */
  get request(): RunOptions | undefined {
    return this.#request;
  }

  #request: RunOptions | undefined;

  /** How this host is reached now (the adapters read it at each step). */
  get settings(): HostSettings {
    return this.#settings;
  }

  /** How the run in flight shows the person what to do. */
  get presenter(): Presenter {
    return this.#presenter;
  }

  holdLoginTurn(lease: StoreLease | undefined): void {
    this.#loginLease = lease;
  }

  releaseLoginTurn(): void {
    this.#loginLease?.release();
    this.#loginLease = undefined;
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

  /** Whether the last run asked to keep the token fresh in the background. */
  get keepsFresh(): boolean {
    return this.actor.getSnapshot().context.request?.keepFresh === true;
  }

  /** Whether a run is in flight. */
  get busy(): boolean {
    return !isSettled(this.actor.getSnapshot());
  }

  /** The token this actor holds, if the store is unchanged and it is still valid (see {@link HeldToken.get}). */
  heldToken(minValidity?: number): Token | undefined | Promise<Token | undefined> {
    return this.tokens.get(minValidity);
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
      this.#request = options;
      const { mode, force, flow, interactive, whyNotInteractive, timeout, minValidity, refreshToken, deviceCode } = options;
      this.actor.send({
        type: 'AUTHENTICATE',
        request: {
          mode: mode ?? 'authenticate', force, flow, interactive, whyNotInteractive, timeout, minValidity: this.tokens.effectiveMinValidity(minValidity), refreshToken, deviceCode,
          exchanges: this.#settings.exchangeFrom !== undefined,
          keepFresh: options.keepFresh === true,
        },
      });
    });
  }

  /** Timers made since the last snapshot: the one made on entering `authenticated` is keepFresh's, which must never keep the process alive. */
  #newTimers: Array<ReturnType<typeof setTimeout>> = [];
  readonly #clock = {
    setTimeout: (fn: (...args: unknown[]) => void, ms: number) => {
      const timer = setTimeout(fn, ms);
      this.#newTimers.push(timer);
      return timer;
    },
    clearTimeout: (timer: ReturnType<typeof setTimeout>) => clearTimeout(timer),
  };

  #lastLogged: string | undefined;

  #track(snapshot: Snapshot): void {
    const token = snapshot.context.token;
    // In `authenticated` the only delay is the background refresh: it must not keep the process alive (logins' timers must).
    if (snapshot.matches('authenticated')) for (const timer of this.#newTimers) timer.unref?.();
    this.#newTimers = [];
    if (debugging()) {
      // `authenticated` without keepFresh reads as before; its keepFresh sub-state is named.
      const state = JSON.stringify(snapshot.value).replace(/"/g, '').replace('{authenticated:resting}', 'authenticated').replace('{authenticated:keeping-fresh}', 'authenticated (kept fresh)');
      if (state !== this.#lastLogged) {
        this.#lastLogged = state;
        debug(() => `${this.key}: ${state}${snapshot.matches('authenticated') && token ? ` (token valid ${Math.round(token.expires - Date.now() / 1000)} s more)` : ''}${snapshot.context.error ? ` (${snapshot.context.error.code})` : ''}`);
      }
    }
    if (snapshot.matches('authenticated') && token !== undefined) this.tokens.settled(token, snapshot.context.request?.minValidity);
    else if (!snapshot.matches('idle')) this.tokens.release();
  }

  #settle(snapshot: Snapshot): void {
    if (this.#waiters.size === 0 || !isSettled(snapshot) || snapshot.matches('idle')) return;
    const { token, error } = snapshot.context;
    const ok = snapshot.matches('authenticated') && token;
    this.#rejectOrResolve(ok ? token : undefined, error ?? new AuthError('unexpected', 'The login ended without a token or an error.'));
  }

  #rejectAll(error: AuthError): void {
    this.#rejectOrResolve(undefined, error);
  }

  #rejectOrResolve(token: Token | undefined, error: AuthError): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const waiter of waiters) {
      if (token) waiter.resolve(token);
      else waiter.reject(error);
    }
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

  #asked: { what: unknown; since: number } | undefined;
  #cached: { snapshot: Snapshot; view: AuthStateView } | undefined;

  /**
   * The secret-free view of the current state: the same object until the
   * actor's snapshot changes (React's `useSyncExternalStore` needs that).
   */
  view(): AuthStateView {
    const snapshot = this.actor.getSnapshot();
    if (this.#cached?.snapshot !== snapshot) {
      const asked = snapshot.context.deviceCode ?? snapshot.context.loginUrl;
      if (asked && this.#asked?.what !== asked) this.#asked = { what: asked, since: Date.now() / 1000 };
      this.#cached = { snapshot, view: viewOf(snapshot, asked ? this.#asked?.since : undefined) };
    }
    return this.#cached.view;
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
    this.tokens.release();
    this.releaseLoginTurn();
    this.#rejectAll(new AuthError('cancelled', 'The host actor was stopped.'));
    this.actor.stop();
  }
}
