// What a host's actor needs from a server, whichever kind it is: the
// py-oidc-auth routes of an application server, or a standard OpenID provider.
import type { CallbackParams } from '../protocol/callback.ts';
import type { TokenStoreBackend } from '../adapters/store/contract.ts';
import type { Config, DeviceCode, Identity, Token } from '../types.ts';

/** How the code-flow callback is received. */
export interface CallbackPlan {
  /** Ports tried in order; 0 = any free port. */
  ports: number[];
  /** When none of `ports` can be had, a port the system chooses (standard providers accept any loopback port). */
  fallbackToAnyPort?: boolean;
  hostname: 'localhost' | '127.0.0.1';
  /** Whether a callback belongs to the login in progress: its exact `state` (else 400, and the flow keeps listening). */
  matches: (params: CallbackParams, redirectUri: string) => boolean;
}

/** The server side of one lifecycle: every call that leaves the process. */
export interface Backend {
  /** The store key (py-oidc-auth: the normalised host). */
  key: string;
  /** The CLI command that logs in to this server, for messages. */
  command: string;
  requestDeviceCode(signal: AbortSignal): Promise<DeviceCode>;
  /** One poll; pending, slow_down, denial and expiry arrive as AuthErrors with those codes. */
  pollDeviceToken(deviceCode: string, signal: AbortSignal): Promise<Token>;
  refresh(refreshToken: string, stored: Token | undefined, signal: AbortSignal): Promise<Token>;
  callback: CallbackPlan;
  /**
   * The identity provider's URL for a new code-flow login to this loopback
   * redirect URI; from now on only a callback with this login's state matches.
   * It carries the state, so it is never shown: the person opens the loopback
   * `/login`, which redirects there.
   */
  loginUrl(redirectUri: string, signal?: AbortSignal, options?: LoginUrlOptions): Promise<string>;
  /**
   * The login URL again when the person opens the loopback `/login`: the
   * same, or a new one when the old one has expired (a pushed request_uri
   * lives a minute or so). Absent: the first one serves.
   */
  renewLoginUrl?(signal: AbortSignal): Promise<string>;
  exchangeCode(params: CallbackParams, redirectUri: string, signal: AbortSignal): Promise<Token>;
  /** Who a fresh login's token belongs to, when its token does not say (a userinfo request); undefined when the server cannot tell. */
  identify?(token: Token, signal: AbortSignal): Promise<Identity | undefined>;
  /** RFC 8693: this server's token for an access token of the provider it trusts (py-oidc-auth's broker mode). */
  exchange?(subjectToken: string, signal: AbortSignal): Promise<Token>;
}

/** How a code-flow login is started. */
export interface LoginUrlOptions {
  /** Another account of this server is stored: have the provider ask who logs in (`prompt=select_account` or `login`). */
  chooseAccount?: boolean | undefined;
}

/** Everything a host's actor needs: where the server is, where tokens live, how to reach it. */
export interface HostSettings {
  /** The server: its py-oidc-auth routes or a standard provider. */
  backend: Backend;
  store: TokenStoreBackend;
  /** Host mode: the resolved routes. */
  config?: Config | undefined;
  /**
   * How the server is reached (routes, ports, timeouts, client, transport),
   * to tell whether a later call for the same server asks for the same. Kept
   * in memory only, never shown (it may hold the client secret).
   */
  fingerprint?: string | undefined;
  /** The provider login whose access token this server exchanges for its own (`exchangeFrom`). */
  exchangeFrom?: HostSettings | undefined;
}

