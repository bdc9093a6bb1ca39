// What a Client is made with, and the small pieces every grant shares: the
// grant-type names, client authentication headers, PKCE and signed assertions.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { JWK, KeyInput } from 'jose';
import type { AuthError } from '../../errors.ts';
import type { Inspector } from '../../protocol/inspection.ts';
import { DEVICE_GRANT_TYPE, type TokenResponse } from '../../protocol/oauth.ts';
import type { DeviceCode } from '../../types.ts';
import type { ClientCertificate } from '../../adapters/http/proxy.ts';
import type { DpopKey } from './dpop.ts';
import type { MetadataCacheOptions } from './metadata-cache.ts';

/**
 * The device flow's names, as oauth2cli spells them.
 * @see {@link https://www.rfc-editor.org/rfc/rfc8628#section-3.4 | RFC 8628 3.4}
 */
export const DEVICE_FLOW = {
  /** The grant type of the device access token request: `urn:ietf:params:oauth:grant-type:device_code`. */
  GRANT_TYPE: DEVICE_GRANT_TYPE,
  /** The metadata field that names the device authorization endpoint. */
  DEVICE_AUTHORIZATION_ENDPOINT: 'device_authorization_endpoint',
} as const;
/** Device-flow errors that mean "keep polling". */
export const DEVICE_FLOW_RETRIABLE_ERRORS = ['authorization_pending', 'slow_down'] as const;
/** RFC 7523 JWT-bearer grant type. */
export const GRANT_TYPE_JWT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** RFC 7522 SAML 2.0 bearer grant type. */
export const GRANT_TYPE_SAML2 = 'urn:ietf:params:oauth:grant-type:saml2-bearer';
/** RFC 8693 token-exchange grant type. */
export const GRANT_TYPE_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** A key jose can sign with: a Node KeyObject, a WebCrypto key, or a shared secret's bytes. */
export type SigningKey = Exclude<KeyInput, JWK>;

/** How the client proves who it is at the token endpoint. */
export type ClientAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post' | 'client_secret_jwt' | 'private_key_jwt' | 'tls_client_auth' | 'self_signed_tls_client_auth';

/** What `onObtainingTokens` hears after every successful token request. */
export interface ObtainingTokensEvent {
  /** The client id the request was made for. */
  clientId: string;
  /** The request's `grant_type`, e.g. `refresh_token` or `urn:ietf:params:oauth:grant-type:device_code`. */
  grantType: string;
  /** The scopes asked for (empty when the request named none). */
  scope: string[];
  /** The token endpoint the request went to. */
  tokenEndpoint: string;
  /** The response; without `refresh_token` when `onUpdatingRt` takes care of it. */
  response: TokenResponse;
}

/** Options of {@link Client}. */
export interface ClientOptions {
  /** A confidential client's secret. Never logged; sent as the `clientAuthMethod` says. */
  clientSecret?: string | undefined;
  /** @default 'client_secret_basic' with a secret, 'private_key_jwt' with a private key, 'tls_client_auth' with a client certificate, else 'none' */
  clientAuthMethod?: ClientAuthMethod | undefined;
  /** For `private_key_jwt`: the client's private key and its algorithm (default RS256). */
  privateKey?: {
    /** The private key (a Node `KeyObject` or a WebCrypto `CryptoKey`). */
    key: SigningKey;
    /** The signing algorithm. @default 'RS256' */
    alg?: string;
    /** The key id put in the assertion's header, when the provider knows the key by one. */
    kid?: string;
  } | undefined;
  /** Called after every successful token request, with the response (awaited). */
  onObtainingTokens?: ((event: ObtainingTokensEvent) => void | Promise<void>) | undefined;
  /** Called when a refresh finds the refresh token dead, with the item it came from, so that the caller can drop it (awaited). */
  onRemovingRt?: ((item: unknown) => void | Promise<void>) | undefined;
  /** Called when a refresh returns a new refresh token (rotation), with the old item and the new token, so that the caller can keep it (awaited). */
  onUpdatingRt?: ((item: unknown, newRt: string) => void | Promise<void>) | undefined;
  /** Form fields sent with every token request. */
  defaultBody?: Record<string, string> | undefined;
  /** Seconds per HTTP request. @default 30 */
  timeout?: number | undefined;
  /** Transport override (proxies, tests). */
  fetch?: typeof globalThis.fetch | undefined;
  /** Seconds of clock difference tolerated in ID tokens. @default 60 */
  clockTolerance?: number | undefined;
  /** Where discovery documents and keys are cached, and for how long. */
  cache?: MetadataCacheOptions | undefined;
  /** Skip ID-token validation (never for logins you rely on). @default false */
  skipIdTokenValidation?: boolean | undefined;
  /**
   * Watch every token request in the Stately inspector: each runs as a small
   * promise actor (input: grant and endpoint; output: the response), secrets removed.
   */
  inspect?: Inspector | undefined;
  /**
   * Bind tokens to this key (DPoP, RFC 9449): every token, device and pushed
   * authorization request carries a proof signed with it, and a token
   * response that is not `token_type: DPoP` is refused. Make one with
   * `generateDpopKey()`; keep it for the refresh token's life.
   * @see {@link https://www.rfc-editor.org/rfc/rfc9449 | RFC 9449}
   */
  dpop?: DpopKey | undefined;
  /**
   * Push authorization requests (PAR, RFC 9126): the login's parameters go
   * to the provider directly, and the browser gets only `client_id` and
   * `request_uri`. Also done without asking when the provider's metadata
   * says `require_pushed_authorization_requests`.
   * @default false
   * @see {@link https://www.rfc-editor.org/rfc/rfc9126 | RFC 9126}
   */
  par?: boolean | undefined;
  /**
   * A client certificate for mutual TLS (RFC 8705): presented on every
   * request to the provider, for `tls_client_auth` /
   * `self_signed_tls_client_auth` and for certificate-bound tokens; the
   * provider's `mtls_endpoint_aliases` are used while it is set. It goes
   * through the same transport as proxies. Secret (its key).
   * @see {@link https://www.rfc-editor.org/rfc/rfc8705 | RFC 8705}
   */
  tlsClientCertificate?: ClientCertificate | undefined;
}

/** A device authorization in progress (RFC 8628 3.2), with oauth2cli's `expires_at` and the current `interval`. */
export interface DeviceFlowState extends DeviceCode {
  /** When the device code expires, in seconds since the epoch. */
  expires_at: number;
  /** The scopes the code was requested for. */
  scope: string[];
}

/** What a single poll (exitCondition true) returns when the person has not finished yet. */
export interface DeviceFlowPending {
  /** Why there is no token yet: the person has not finished (`authorization_pending`), or polling was too fast (`slow_down`). */
  error: 'authorization_pending' | 'slow_down';
  /** Seconds to wait before the next poll (5 more after each `slow_down`). */
  interval: number;
}

const base64url = (bytes: Buffer) => bytes.toString('base64url');
/** RFC 6749 2.3.1: id and secret are form-encoded before Basic authentication. */
const formEncode = (text: string) => new URLSearchParams([['', text]]).toString().slice(1);

/** `Basic base64(id:secret)`, the two form-encoded (RFC 6749 2.3.1) or as they are. */
export function basicHeader(clientId: string, secret: string, encoded: boolean): string {
  const pair = encoded ? `${formEncode(clientId)}:${formEncode(secret)}` : `${clientId}:${secret}`;
  return `Basic ${Buffer.from(pair).toString('base64')}`;
}

/**
 * Whether a refused refresh means the refresh token is dead: `invalid_grant`,
 * or `invalid_request` / `unauthorized_client` with 400 or 401, which some
 * providers answer for an unknown or expired refresh token.
 */
export function refreshTokenIsDead(error: AuthError): boolean {
  // GitHub documents bad_refresh_token for one that is incorrect or expired.
  if (error.code === 'invalid_grant' || error.code === 'unauthorized' || error.code === 'bad_refresh_token') return true;
  return (error.code === 'invalid_request' || error.code === 'unauthorized_client') && (error.status === 400 || error.status === 401);
}

/** `bytes` random bytes as base64url (no padding): states, nonces, verifiers. */
export function randomText(bytes: number): string {
  return base64url(randomBytes(bytes));
}

/**
 * A PKCE verifier (43 characters: `verifier`, kept secret until the code is exchanged) and its S256 challenge (`challenge`, sent with the login).
 * @see {@link https://www.rfc-editor.org/rfc/rfc7636#section-4.1 | RFC 7636 4.1}
 */
export function pkcePair(): {
  /** The code verifier: 32 random bytes, base64url. Secret. */
  verifier: string;
  /** Its S256 challenge: base64url(SHA-256(verifier)). */
  challenge: string;
} {
  const verifier = base64url(randomBytes(32));
  return { verifier, challenge: base64url(createHash('sha256').update(verifier).digest()) };
}

/**
 * Sign a JWT for the RFC 7523 JWT-bearer grant or client authentication:
 * `iss`, `sub`, `aud`, `iat`, `exp` (lifetime, default 300 s) and a fresh `jti`.
 */
export async function signJwtAssertion(options: {
  issuer: string;
  subject: string;
  audience: string;
  key: SigningKey;
  alg?: string | undefined;
  kid?: string | undefined;
  lifetime?: number | undefined;
  claims?: Record<string, unknown> | undefined;
}): Promise<string> {
  const { SignJWT } = await import('jose');
  const alg = options.alg ?? (options.key instanceof Uint8Array ? 'HS256' : 'RS256');
  return new SignJWT({ ...options.claims })
    .setProtectedHeader({ alg, typ: 'JWT', ...(options.kid ? { kid: options.kid } : {}) })
    .setIssuer(options.issuer)
    .setSubject(options.subject)
    .setAudience(options.audience)
    .setIssuedAt()
    .setExpirationTime(`${options.lifetime ?? 300}s`)
    .setJti(randomUUID())
    .sign(options.key);
}

/** Options of `Client.obtainTokenByBrowser`. */
export type BrowserLoginOptions = {
  /** The scopes to ask for, as a list or one space-separated string. */
  scope?: string | string[];
  /** The loopback port of the callback. @default 0 (a port the system chooses; RFC 8252 7.3) */
  port?: number;
  /** The redirect URI to send instead of the loopback callback's own (when the provider forwards to it). */
  redirectUri?: string;
  /** Seconds to wait for the person to finish. @default 600 */
  timeout?: number;
  /** How the login address is opened: `false` prints it on stderr; a function gets the provider's URL. @default the system browser */
  openBrowser?: false | ((url: string) => void | Promise<void>);
  /** The OpenID `prompt` parameter, e.g. `login` or `select_account`. */
  prompt?: string;
  /** The OpenID `login_hint`: who is expected to sign in. */
  loginHint?: string;
  /** The OpenID `max_age` in seconds; the ID token's `auth_time` is checked against it. */
  maxAge?: number;
  /** Ends the wait early; the callback server is closed. */
  signal?: AbortSignal;
};

/** Options of `Client.obtainTokenByRefreshToken`. */
export type RefreshOptions = {
  /** The scopes to ask for, when narrower than the login's. */
  scope?: string | string[];
  /** Reads the refresh token from the item passed in. @default the item itself when a string, else its `refresh_token` */
  rtGetter?: (item: unknown) => string;
  /** Called when the refresh token is dead; overrides the client's option for this call. */
  onRemovingRt?: (item: unknown) => void | Promise<void>;
  /** Called with a rotated refresh token; `false` leaves it in the response instead. @default the client's `onUpdatingRt` */
  onUpdatingRt?: false | ((item: unknown, newRt: string) => void | Promise<void>);
  /** Aborts the request. */
  signal?: AbortSignal;
};

/** Options of `Client.buildAuthRequestUri`. */
export type AuthRequestOptions = {
  /** The OAuth `response_type`. @default 'code' */
  responseType?: string;
  /** The `redirect_uri` the provider sends the browser back to. */
  redirectUri?: string;
  /** The scopes to ask for, as a list or one space-separated string. */
  scope?: string | string[];
  /** The `state` to expect back on the callback. */
  state?: string;
  /** The OpenID `nonce` to expect in the ID token. */
  nonce?: string;
  /** A PKCE S256 challenge (see {@link pkcePair}); `code_challenge_method=S256` is added with it. */
  codeChallenge?: string;
  /** The OpenID `prompt` parameter. */
  prompt?: string;
  /** The OpenID `login_hint`. */
  loginHint?: string;
  /** The OpenID `max_age` in seconds. */
  maxAge?: number;
  /** Further query parameters, added as they are. */
  extra?: Record<string, string>;
};
