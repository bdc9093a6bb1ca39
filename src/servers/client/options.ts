// What a Client is made with, and the small pieces every grant shares: the
// grant-type names, client authentication headers, PKCE and signed assertions.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { JWK, KeyInput } from 'jose';
import type { AuthError } from '../../errors.ts';
import type { Inspector } from '../../protocol/inspection.ts';
import { DEVICE_GRANT_TYPE, type TokenResponse } from '../../protocol/oauth.ts';
import type { DeviceCode } from '../../types.ts';
import type { MetadataCacheOptions } from './metadata-cache.ts';

/** RFC 8628 grant type. */
export const DEVICE_FLOW = { GRANT_TYPE: DEVICE_GRANT_TYPE, DEVICE_AUTHORIZATION_ENDPOINT: 'device_authorization_endpoint' } as const;
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
export type ClientAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post' | 'client_secret_jwt' | 'private_key_jwt';

/** What `onObtainingTokens` hears after every successful token request. */
export interface ObtainingTokensEvent {
  clientId: string;
  grantType: string;
  scope: string[];
  tokenEndpoint: string;
  /** The response; without `refresh_token` when `onUpdatingRt` takes care of it. */
  response: TokenResponse;
}

/** Options of {@link Client}. */
export interface ClientOptions {
  clientSecret?: string | undefined;
  /** @default 'client_secret_basic' with a secret, 'private_key_jwt' with a private key, else 'none' */
  clientAuthMethod?: ClientAuthMethod | undefined;
  /** For `private_key_jwt`: the client's private key and its algorithm (default RS256). */
  privateKey?: { key: SigningKey; alg?: string; kid?: string } | undefined;
  onObtainingTokens?: ((event: ObtainingTokensEvent) => void | Promise<void>) | undefined;
  onRemovingRt?: ((item: unknown) => void | Promise<void>) | undefined;
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
}

/** A device authorization in progress (RFC 8628 3.2), with oauth2cli's `expires_at` and the current `interval`. */
export interface DeviceFlowState extends DeviceCode {
  expires_at: number;
  scope: string[];
}

/** What a single poll (exitCondition true) returns when the person has not finished yet. */
export interface DeviceFlowPending {
  error: 'authorization_pending' | 'slow_down';
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

/** A PKCE verifier (43 chars) and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
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
export type BrowserLoginOptions = { scope?: string | string[]; port?: number; redirectUri?: string; timeout?: number; openBrowser?: false | ((url: string) => void | Promise<void>); prompt?: string; loginHint?: string; maxAge?: number; signal?: AbortSignal };

/** Options of `Client.obtainTokenByRefreshToken`. */
export type RefreshOptions = { scope?: string | string[]; rtGetter?: (item: unknown) => string; onRemovingRt?: (item: unknown) => void | Promise<void>; onUpdatingRt?: false | ((item: unknown, newRt: string) => void | Promise<void>); signal?: AbortSignal };

/** Options of `Client.buildAuthRequestUri`. */
export type AuthRequestOptions = { responseType?: string; redirectUri?: string; scope?: string | string[]; state?: string; nonce?: string; codeChallenge?: string; prompt?: string; loginHint?: string; maxAge?: number; extra?: Record<string, string> };
