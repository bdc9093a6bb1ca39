/**
 * An access token as the py-oidc-auth routes deliver it, and as the token
 * store keeps it. Field names match the Python client so that both read the
 * same file.
 */
export interface Token {
  /** The bearer access token. */
  access_token: string;
  /** Token type, normally `"Bearer"`. */
  token_type: string;
  /** Absolute expiry of the access token, Unix seconds. */
  expires: number;
  /** Refresh token, or `""` when the server issued none. */
  refresh_token: string;
  /** Absolute expiry of the refresh token, Unix seconds (`0` when there is none). */
  refresh_expires: number;
  /** Space-separated granted scopes. */
  scope: string;
  /** Ready-made `Authorization` header. */
  headers: {
    /** `Bearer <access token>` (`DPoP <access token>` for a DPoP-bound one, which also needs a proof per request). Secret. */
    Authorization: string;
  };
  /**
   * For a DPoP-bound token (`token_type` `DPoP`): the private key its proofs
   * are signed with, as a JWK. It lives where the token lives (the keyring
   * with the keyring store). Secret: never print it.
   */
  dpop_key?: Readonly<Record<string, string>> | undefined;
  /** The OpenID Connect ID token, when the server sent one (standard providers). */
  id_token?: string | undefined;
  /** Who logged in, when it could be told (from the ID token or the userinfo route); kept beside the token in the store. */
  who?: Identity | undefined;
}

/** Who a login belongs to: never a token, only names the person would recognise. */
export interface Identity {
  /** What to show: `preferred_username`, else `email`, else `sub`. */
  name: string;
  /** The provider's stable id of the person (`sub`), when known: two accounts with the same one are the same person. */
  subject?: string | undefined;
}

/**
 * A device authorization (RFC 8628 section 3.2), as returned by
 * `DeviceFlow#getDeviceCode()` and given to `onDeviceCode`.
 */
export interface DeviceCode {
  /** The URL to show: `verification_uri_complete` when the server sent one, else `verification_uri`. */
  uri: string;
  /** The short code the person types in. */
  user_code: string;
  /** The secret code the client polls with. Never print it. */
  device_code: string;
  /** Minimum seconds between polls. */
  interval: number;
  /** The verification URL without the code in it. */
  verification_uri: string;
  /** The verification URL with the code in it, if the server sent one. */
  verification_uri_complete?: string | undefined;
  /** Seconds until the device code expires. */
  expires_in: number;
}

/** How a person logs in interactively. */
export type FlowKind = 'auto' | 'device' | 'code';

/**
 * Where the py-oidc-auth application server lives and how to talk to it.
 * Every field but `host` has the Python client's default.
 */
export interface Config {
  /** Base URL of the application server, e.g. `https://myapp.example.org` (may carry a path prefix). */
  host: string;
  /** @default '/auth/v2/login' */
  loginRoute: string;
  /** @default '/auth/v2/token' */
  tokenRoute: string;
  /** @default '/auth/v2/device' */
  deviceRoute: string;
  /** Loopback ports tried in order for the code-flow callback. @default [53100, ..., 53105] */
  redirectPorts: number[];
  /** Seconds for one HTTP request. @default 30 */
  requestTimeout: number;
}

/** The Python client's default routes and ports. */
export const DEFAULT_CONFIG: Omit<Config, 'host'> = Object.freeze({
  loginRoute: '/auth/v2/login',
  tokenRoute: '/auth/v2/token',
  deviceRoute: '/auth/v2/device',
  redirectPorts: [53100, 53101, 53102, 53103, 53104, 53105],
  requestTimeout: 30,
});

/** Environment variables, as `process.env` has them (no Node types needed to name them). */
export type Environment = Readonly<Record<string, string | undefined>>;
