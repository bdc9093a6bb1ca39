// The public, secret-free views of a host's lifecycle. Types only, and none
// of xstate's: the root entry type-checks without xstate's declarations.
import type { PublicDeviceCode } from '../protocol/device.ts';
import type { Identity } from '../types.ts';

/** The lifecycle states, as subscribers see them. */
export type AuthStateName = 'idle' | 'cached' | 'refreshing' | 'login' | 'awaiting-login-turn' | 'device-polling' | 'code-awaiting-callback' | 'exchanging' | 'refreshing-ahead' | 'authenticated' | 'failed' | 'starting';

/** An {@link AuthError} as a view carries it: code, message and status, no detail or cause. */
export interface AuthStateError {
  /** The stable {@link AuthErrorCode}. */
  code: string;
  /** What happened and what to do next; no secret. */
  message: string;
  /** The HTTP status, where there was one. */
  status?: number | undefined;
}

/** A snapshot of a host's lifecycle without any secret: safe to log, render or send to a browser. */
export interface AuthStateView {
  /** The store key of the login watched: the host, or the server with its account. */
  host: string;
  /** Where the lifecycle is. */
  state: AuthStateName;
  /** Runs started so far on this host's actor. */
  run: number;
  /** While the device flow waits: what the person must open and type. */
  deviceCode?: PublicDeviceCode | undefined;
  /** While the device flow waits: when its code expires (Unix seconds), for a countdown. */
  deviceCodeExpiresAt?: number | undefined;
  /** While the code flow waits: when the login times out (Unix seconds), for a countdown. */
  loginExpiresAt?: number | undefined;
  /**
   * While the person is asked to act (a device code or a login URL shown):
   * whole seconds left. The view is renewed once a second while they are.
   */
  secondsLeft?: number | undefined;
  /** The code flow's login URL (`http://localhost:<port>/login`; it carries no state). */
  loginUrl?: string | undefined;
  /** Access-token expiry (Unix seconds) once authenticated. */
  expires?: number | undefined;
  /** Refresh-token expiry (Unix seconds) once authenticated. */
  refreshExpires?: number | undefined;
  /** Who is logged in, once authenticated and when it could be told. */
  who?: Identity | undefined;
  /** keepFresh: why the last background refresh failed (the token held is still the one before; it is tried again later). */
  backgroundError?: AuthStateError | undefined;
  /** On failure. */
  error?: AuthStateError | undefined;
}

/** A snapshot of the host's actor, as {@link AuthActorRef} names it: its state value (an object in nested states; select with the view's `state` or `authActorOf()`'s `matches()`) and its status. */
export interface AuthActorSnapshot {
  /** The statechart's state value, e.g. `'cached'` or `{ authenticated: 'resting' }`. */
  readonly value: unknown;
  /** xstate's actor status: `active`, `done`, `error` or `stopped`. */
  readonly status: string;
}

/**
 * The host's xstate actor, as the root entry names it (without xstate's
 * types): enough to subscribe, read and send. `authActorOf()` from
 * `oidc-auth-client/machines` gives it with its full xstate type (for
 * `@xstate/react`'s `useSelector`). Its context holds the token: never log it.
 */
export interface AuthActorRef {
  /** The actor's id, as xstate gives it. */
  readonly id: string;
  /** xstate's session id of this actor, as the inspector shows it. */
  readonly sessionId: string;
  /** The current snapshot. */
  getSnapshot(): AuthActorSnapshot;
  /** An observer, or listeners (xstate's two forms, so that `@xstate/react`'s hooks take this actor as it is). */
  subscribe(observer: { next?: ((snapshot: AuthActorSnapshot) => void) | undefined; error?: ((error: unknown) => void) | undefined; complete?: (() => void) | undefined }): {
    /** Stop listening. */
    unsubscribe(): void;
  };
  /** Listeners for each snapshot, an error and the end (xstate's second form). */
  subscribe(next: (snapshot: AuthActorSnapshot) => void, error?: (error: unknown) => void, complete?: () => void): {
    /** Stop listening. */
    unsubscribe(): void;
  };
  /** Send an event: `CANCEL` ends a login in progress with `cancelled`. */
  send(event: { type: 'CANCEL'; reason?: string }): void;
}

/** What `subscribe` returns: call it (React's `useSyncExternalStore`) or its `unsubscribe()` to stop. */
export type Unsubscribe = (() => void) & {
  /** Stop listening (the same as calling it). */
  unsubscribe(): void;
};

