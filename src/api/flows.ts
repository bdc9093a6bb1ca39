import { decideInteractive } from '../adapters/browser/environment.ts';
import type { HostActor } from '../host/host-actor.ts';
import { actorKey, hostActorFor, resetHostActors } from '../host/registry.ts';
import type { AuthActorRef, AuthStateView, Unsubscribe } from '../host/views.ts';
import type { Inspector } from '../protocol/inspection.ts';
import { presenterOf, type Presenter } from '../host/presenter.ts';
import { DEFAULT_DEVICE_CODE_LIFETIME } from '../protocol/device.ts';
import { DEFAULT_LOGIN_TIMEOUT, resolveSettings, type ServerOptions } from './settings.ts';
import type { Config, DeviceCode, FlowKind, Token } from '../types.ts';

/** Options of a flow class: the server, the store, and how logins run. */
export interface FlowOptions extends Omit<ServerOptions, 'host'>, Presenter {
  /** Seconds a person has to finish a login. @default 600 */
  timeout?: number | undefined;
  /** Whether a person can take part. @default true (batch-job variables still say no) */
  interactive?: boolean | undefined;
  /** Watch the host's actor in the Stately inspector; events arrive without secrets. */
  inspect?: Inspector | undefined;
}

/** `new DeviceFlow({ config })`: a full or partial {@link Config}. */
export interface FlowInit extends FlowOptions {
  /** The server's configuration: its URL and, where they differ from the defaults, its routes, ports and client id. */
  config: Partial<Config> & {
    /** The py-oidc-auth server's URL. */
    host: string;
  };
}

/** What `authenticate()` on a flow accepts. */
export interface FlowAuthenticateOptions {
  /** Skip the cached and refresh tokens. @default false */
  force?: boolean | undefined;
  /** Open the browser. @default true */
  autoOpen?: boolean | undefined;
  /** Ends the wait: the login stops with `cancelled` unless another caller still waits for it. */
  signal?: AbortSignal | undefined;
}

const instances = new Map<unknown, Map<string, BaseFlow>>();

/**
 * What both flows share: the token of their host, refresh, and the host's
 * actor. Instances are per class and host: `new DeviceFlow(h) === new DeviceFlow(h)`.
 */
export abstract class BaseFlow {
  /** The normalised host. */
  readonly host: string;
  /** The resolved configuration. */
  readonly config: Config;
  readonly #options: FlowOptions;
  readonly #hostActor: HostActor;
  /** @internal Which login this class runs. */
  protected abstract readonly flowKind: FlowKind;

  constructor(hostOrInit: string | FlowInit, options: FlowOptions = {}) {
    const init: FlowOptions & ServerOptions = typeof hostOrInit === 'string'
      ? { ...options, host: hostOrInit }
      : { ...hostOrInit, ...hostOrInit.config };
    const settings = resolveSettings(init);
    const hostActor = hostActorFor(settings, init.inspect);
    let perClass = instances.get(new.target);
    if (!perClass) instances.set(new.target, (perClass = new Map()));
    const key = actorKey(settings);
    const existing = perClass.get(key);
    if (!settings.config) throw new TypeError('DeviceFlow and CodeFlow talk to a py-oidc-auth host; for an OpenID provider use authenticate({ issuer, clientId }) or Client.');
    this.host = hostActor.key;
    this.config = settings.config;
    this.#options = init;
    this.#hostActor = hostActor;
    if (existing) return existing;
    perClass.set(key, this);
  }

  /** Forget every flow instance and stop every host actor. */
  static resetInstances(): void {
    instances.clear();
    resetHostActors();
  }

  /** The host's xstate actor (`authActorOf(flow)` from `oidc-auth-client/machines` types it fully). Its context holds the token: do not log it. */
  get actor(): AuthActorRef {
    return this.#hostActor.actor as AuthActorRef;
  }

  /**
   * The stored token of this host, or `undefined` (no request is made). A
   * store that answers asynchronously (Redis, keyring) gives the token this
   * flow last obtained or read; {@link storedToken} reads it from the store.
   */
  get token(): Token | undefined {
    const read = this.#hostActor.settings.store.read(this.host);
    if (!(read instanceof Promise)) return read.token;
    read.catch(() => undefined); // Not waited for: its failure is no one's to handle here.
    return this.#hostActor.actor.getSnapshot().context.token;
  }

  /** The token stored for this host now, from any store (no request to the server is made). */
  async storedToken(): Promise<Token | undefined> {
    return (await this.#hostActor.settings.store.read(this.host)).token;
  }

  /** Secret-free state changes of this host's lifecycle. The listener is called at once with the current state. */
  subscribe(listener: (view: AuthStateView) => void): Unsubscribe {
    return this.#hostActor.subscribe(listener);
  }

  /** A new access token from `refreshToken`, stored for this host. */
  refresh(refreshToken: string, options: { signal?: AbortSignal } = {}): Promise<Token> {
    return this.run({ mode: 'refresh', refreshToken, signal: options.signal });
  }

  /** The cached token, a refresh, or this flow's login. */
  authenticate(options: FlowAuthenticateOptions = {}): Promise<Token> {
    return this.run({ force: options.force ?? false, signal: options.signal, autoOpen: options.autoOpen });
  }

  /** @internal One run of the host's lifecycle with this flow's login. */
  protected run(request: { mode?: 'authenticate' | 'refresh' | 'poll'; force?: boolean; refreshToken?: string; deviceCode?: DeviceCode; signal?: AbortSignal | undefined; autoOpen?: boolean | undefined }): Promise<Token> {
    // A flow assumes a person is there unless told otherwise, or a batch-job variable says no one is.
    const explicit = this.#options.interactive;
    const decision = explicit === undefined ? decideInteractive(undefined, process.env, { stdin: true, stderr: true }) : decideInteractive(explicit);
    return this.#hostActor.run({
      mode: request.mode ?? 'authenticate',
      force: request.force ?? false,
      flow: this.flowKind,
      interactive: decision.interactive,
      whyNotInteractive: decision.why,
      timeout: this.#options.timeout ?? DEFAULT_LOGIN_TIMEOUT,
      refreshToken: request.refreshToken,
      deviceCode: request.deviceCode,
      ...presenterOf(this.#options),
      openBrowser: request.autoOpen === false ? false : this.#options.openBrowser,
      signal: request.signal,
    });
  }

  /** @internal How the host is reached now (its actor's settings). */
  protected get settings() {
    return this.#hostActor.settings;
  }
}

/**
 * OAuth 2.0 device authorization grant (RFC 8628) against a py-oidc-auth
 * server: for SSH sessions, headless machines and anything without a local
 * browser.
 *
 * @example
 * ```ts
 * const flow = new DeviceFlow('https://myapp.example.org');
 * const token = await flow.authenticate();
 * ```
 * @see {@link https://www.rfc-editor.org/rfc/rfc8628 | RFC 8628}
 */
export class DeviceFlow extends BaseFlow {
  /** @internal */
  protected readonly flowKind = 'device' as const;

  /** Ask the server for a device code. Show `uri` and `user_code`, then {@link DeviceFlow.poll}. */
  getDeviceCode(options: { signal?: AbortSignal } = {}): Promise<DeviceCode> {
    return this.settings.backend.requestDeviceCode(options.signal ?? new AbortController().signal);
  }

  /**
   * Poll until the person approves (or denies, or the code expires); the
   * token is stored. Waits `interval` seconds before the first poll.
   */
  poll(deviceCode: string | DeviceCode, interval?: number, options: { signal?: AbortSignal } = {}): Promise<Token> {
    const code: DeviceCode = typeof deviceCode === 'string'
      ? { device_code: deviceCode, interval: interval ?? 5, uri: '', user_code: '', verification_uri: '', expires_in: DEFAULT_DEVICE_CODE_LIFETIME }
      : { ...deviceCode, interval: interval ?? deviceCode.interval };
    return this.run({ mode: 'poll', deviceCode: code, signal: options.signal });
  }
}

/**
 * Authorization code grant with PKCE through the server's login route: opens
 * the browser here and receives the callback on a loopback port.
 *
 * @example
 * ```ts
 * const token = await new CodeFlow('https://myapp.example.org', { timeout: 120 }).authenticate();
 * ```
 * @see {@link https://www.rfc-editor.org/rfc/rfc8252 | RFC 8252}
 * @see {@link https://www.rfc-editor.org/rfc/rfc7636 | RFC 7636}
 */
export class CodeFlow extends BaseFlow {
  /** @internal */
  protected readonly flowKind = 'code' as const;
}
