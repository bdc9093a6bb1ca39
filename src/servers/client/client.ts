// A low-level OAuth 2.0 / OpenID Connect client with every grant of MSAL's
// oauth2cli Client (camelCase names, same semantics), plus token exchange,
// revocation, userinfo and the end-session URL.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JSONWebKeySet, JWK, JWTPayload, KeyInput } from 'jose';
import { postForm, request, type HttpOptions } from '../../adapters/http/http.ts';
import { AuthError } from '../../errors.ts';
import { parseDeviceCodeResponse } from '../../protocol/device.ts';
import { sanitizingInspector, type Inspector } from '../../protocol/inspection.ts';
import { secretValues } from '../../errors.ts';
import { isRetriable } from '../../protocol/error-response.ts';
import {
  checkAuthCodeResponse, DEVICE_GRANT_TYPE, parseAuthResponse, parseKeySet, parseOAuthTokenResponse, parseProviderMetadata, scopeList, successJson,
  type AuthCodeFlow, type ProviderMetadata, type TokenResponse,
} from '../../protocol/oauth.ts';
import type { DeviceCode } from '../../types.ts';
import { cachedJson, type MetadataCacheOptions } from './metadata-cache.ts';

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
function basicHeader(clientId: string, secret: string, encoded: boolean): string {
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

/**
 * OAuth 2.0 client for any provider, with the grants of MSAL's oauth2cli
 * `Client` under camelCase names. Errors are thrown as `AuthError` with the
 * RFC 6749 `error` as `code`; ID tokens are validated against the provider's keys.
 *
 * @example
 * ```ts
 * const client = await Client.discover('https://idp.example.org', 'my-cli');
 * const flow = await client.initiateDeviceFlow({ scope: ['openid', 'offline_access'] });
 * console.error(`Open ${flow.verification_uri} and enter ${flow.user_code}`);
 * const tokens = await client.obtainTokenByDeviceFlow(flow);
 * ```
 */
export class Client {
  /** The provider's endpoints (and, after discovery, its whole metadata). */
  readonly configuration: ProviderMetadata;
  readonly clientId: string;
  readonly options: ClientOptions;
  #firstIdToken: JWTPayload | undefined;

  constructor(serverConfiguration: Partial<ProviderMetadata> & { token_endpoint: string }, clientId: string, options: ClientOptions = {}) {
    this.configuration = { issuer: '', ...serverConfiguration } as ProviderMetadata;
    this.clientId = clientId;
    this.options = options;
  }

  /** Fetch `${issuer}/.well-known/openid-configuration` (cached), check its issuer exactly, and make a client. */
  static async discover(issuer: string, clientId: string, options: ClientOptions = {}): Promise<Client> {
    const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const http: HttpOptions = { timeoutMs: (options.timeout ?? 30) * 1000, fetch: options.fetch };
    const metadata = await cachedJson(url, 'The discovery document', http, options.cache ?? {}, (body) => parseProviderMetadata(body, issuer));
    return new Client(metadata, clientId, options);
  }

  get #http(): HttpOptions {
    return { timeoutMs: (this.options.timeout ?? 30) * 1000, fetch: this.options.fetch };
  }

  #endpoint(name: keyof ProviderMetadata & `${string}_endpoint`): string {
    const url = this.configuration[name];
    if (typeof url !== 'string') throw new AuthError('unsupported_flow', `The provider has no ${name}; this grant or call is not available there.`);
    return url;
  }

  get #authMethod(): ClientAuthMethod {
    return this.options.clientAuthMethod ?? (this.options.clientSecret ? 'client_secret_basic' : this.options.privateKey ? 'private_key_jwt' : 'none');
  }

  /** Client authentication for a request to `endpoint`: form fields and headers. */
  async #authenticateClient(endpoint: string): Promise<{ form: Record<string, string>; headers: Record<string, string> }> {
    const { clientSecret, privateKey } = this.options;
    const method = this.#authMethod;
    const needSecret = () => {
      if (!clientSecret) throw new AuthError('invalid_client', `Client authentication ${method} needs a client secret (clientSecret).`);
      return clientSecret;
    };
    switch (method) {
      case 'none':
        return { form: { client_id: this.clientId }, headers: {} };
      case 'client_secret_basic':
        return { form: {}, headers: { authorization: basicHeader(this.clientId, needSecret(), true) } };
      case 'client_secret_post':
        return { form: { client_id: this.clientId, client_secret: needSecret() }, headers: {} };
      case 'client_secret_jwt':
      case 'private_key_jwt': {
        const key = method === 'client_secret_jwt' ? new TextEncoder().encode(needSecret()) : privateKey?.key;
        if (!key) throw new AuthError('invalid_client', 'Client authentication private_key_jwt needs a private key (privateKey).');
        const assertion = await signJwtAssertion({
          issuer: this.clientId, subject: this.clientId, audience: this.configuration.issuer || endpoint, key,
          alg: method === 'client_secret_jwt' ? 'HS256' : privateKey?.alg, kid: privateKey?.kid, lifetime: 60,
        });
        return { form: { client_id: this.clientId, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }, headers: {} };
      }
    }
  }

  /** POST to an endpoint with client authentication; the JSON answer or an AuthError. */
  async #post(endpoint: string, form: Record<string, string>, what: string, signal?: AbortSignal): Promise<{ body: Record<string, unknown>; status: number }> {
    const auth = await this.#authenticateClient(endpoint);
    try {
      return await this.#send(endpoint, { ...auth.form, ...form }, auth.headers, what, signal);
    } catch (error) {
      // RFC 6749 2.3.1 form-encodes id and secret before Basic; several providers compare them undecoded.
      // When the two forms differ and the provider refuses the client, the raw form is tried once.
      const { clientSecret } = this.options;
      const raw = clientSecret ? basicHeader(this.clientId, clientSecret, false) : undefined;
      if (!(error instanceof AuthError && error.code === 'invalid_client' && this.#authMethod === 'client_secret_basic' && raw && raw !== auth.headers.authorization)) throw error;
      try {
        return await this.#send(endpoint, form, { authorization: raw }, what, signal);
      } catch (second) {
        if (!(second instanceof AuthError)) throw second;
        throw new AuthError(second.code, `${second.message} (Client authentication client_secret_basic was tried with the id and secret form-encoded, as RFC 6749 2.3.1 says, and then as they are; both were refused. Check the secret, or set clientAuthMethod: 'client_secret_post'.)`, { status: second.status, detail: second.detail });
      }
    }
  }

  async #send(endpoint: string, sent: Record<string, string>, headers: Record<string, string>, what: string, signal?: AbortSignal): Promise<{ body: Record<string, unknown>; status: number }> {
    try {
      const response = await postForm(endpoint, sent, { ...this.#http, headers, signal });
      return { body: successJson(response.status, response.text, what, response), status: response.status };
    } catch (error) {
      // Whatever the request carried (codes, tokens, assertions, secrets) never comes back in an error.
      const secrets = [...secretValues(sent), ...(this.options.clientSecret ? [this.options.clientSecret] : [])];
      throw error instanceof AuthError ? error.withoutSecrets(secrets) : error;
    }
  }

  /** Keys for ID-token validation: cached, refetched once for an unknown kid. */
  #keys() {
    const url = this.configuration.jwks_uri;
    const load = (refresh: boolean) => async (): Promise<JSONWebKeySet> => {
      if (!url) throw new AuthError('invalid_id_token', 'The provider publishes no jwks_uri, so its ID tokens cannot be checked.');
      return cachedJson(url, 'The provider\'s key set', this.#http, this.options.cache ?? {}, parseKeySet, refresh) as Promise<JSONWebKeySet>;
    };
    return { keys: load(false), refetch: load(true) };
  }

  /**
   * Any token request: `grant_type` plus fields. Validates an ID token if one
   * comes back, then tells `onObtainingTokens`.
   */
  async obtainToken(grantType: string, fields: Record<string, string | undefined> = {}, options: { scope?: string | string[] | undefined; nonce?: string | undefined; maxAge?: number | undefined; signal?: AbortSignal | undefined; keepRtInEvent?: boolean } = {}): Promise<TokenResponse> {
    const inspect = this.options.inspect;
    if (!inspect) return this.#obtainToken(grantType, fields, options);
    const { createActor, fromPromise } = await import('xstate');
    const request = fromPromise<TokenResponse, { grantType: string; tokenEndpoint: string }>(() => this.#obtainToken(grantType, fields, options));
    const actor = createActor(request, { input: { grantType, tokenEndpoint: this.configuration.token_endpoint }, inspect: sanitizingInspector(inspect) });
    return new Promise<TokenResponse>((resolve, reject) => {
      actor.subscribe({ complete: () => resolve(actor.getSnapshot().output as TokenResponse), error: reject });
      actor.start();
    });
  }

  async #obtainToken(grantType: string, fields: Record<string, string | undefined>, options: { scope?: string | string[] | undefined; nonce?: string | undefined; maxAge?: number | undefined; signal?: AbortSignal | undefined; keepRtInEvent?: boolean }): Promise<TokenResponse> {
    const scope = scopeList(options.scope);
    const form: Record<string, string> = { ...this.options.defaultBody, grant_type: grantType };
    for (const [key, value] of Object.entries(fields)) if (value !== undefined) form[key] = value;
    if (scope.length > 0) form.scope = scope.join(' ');
    const endpoint = this.#endpoint('token_endpoint');
    const { body, status } = await this.#post(endpoint, form, `The token request (${grantType})`, options.signal);
    const response = parseOAuthTokenResponse(body, status);
    if (response.id_token !== undefined && !this.options.skipIdTokenValidation) {
      // jose loads on the first ID token, not at import.
      const { validateIdToken } = await import('./id-token.ts');
      const claims = await validateIdToken(response.id_token, this.#keys(), {
        issuer: this.configuration.issuer,
        clientId: this.clientId,
        nonce: options.nonce,
        maxAge: options.maxAge,
        clockTolerance: this.options.clockTolerance,
        previous: grantType === 'refresh_token' ? this.#firstIdToken : undefined,
      });
      this.#firstIdToken ??= claims;
      response.id_token_claims = claims;
    }
    const eventResponse = options.keepRtInEvent === false ? { ...response, refresh_token: undefined } : response;
    await this.options.onObtainingTokens?.({ clientId: this.clientId, grantType, scope, tokenEndpoint: endpoint, response: eventResponse });
    return response;
  }

  /** Remember the claims of the first ID token of this client's session (for the OIDC Core 12.2 check on refresh). */
  setFirstIdTokenClaims(claims: JWTPayload | undefined): void {
    this.#firstIdToken = claims;
  }

  /** The authorization URL (oauth2cli's `build_auth_request_uri`). */
  buildAuthRequestUri(options: { responseType?: string; redirectUri?: string; scope?: string | string[]; state?: string; nonce?: string; codeChallenge?: string; prompt?: string; loginHint?: string; maxAge?: number; extra?: Record<string, string> } = {}): string {
    const url = new URL(this.#endpoint('authorization_endpoint'));
    const params: Record<string, string | undefined> = {
      response_type: options.responseType ?? 'code',
      client_id: this.clientId,
      redirect_uri: options.redirectUri,
      scope: scopeList(options.scope).join(' ') || undefined,
      state: options.state,
      nonce: options.nonce,
      code_challenge: options.codeChallenge,
      code_challenge_method: options.codeChallenge ? 'S256' : undefined,
      prompt: options.prompt,
      login_hint: options.loginHint,
      max_age: options.maxAge === undefined ? undefined : String(options.maxAge),
      ...options.extra,
    };
    for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
    return url.toString();
  }

  /** Start an authorization-code flow with PKCE S256, `state` and `nonce`. The result is serialisable. */
  initiateAuthCodeFlow(options: { redirectUri: string; scope?: string | string[]; state?: string; prompt?: string; loginHint?: string; maxAge?: number; extra?: Record<string, string> }): AuthCodeFlow {
    const { verifier, challenge } = pkcePair();
    const state = options.state ?? base64url(randomBytes(16));
    const nonce = base64url(randomBytes(16));
    const scope = scopeList(options.scope);
    // OpenID Connect Core 11: offline_access needs prompt=consent, or providers drop it (and the refresh token dies with the browser session).
    const prompt = options.prompt ?? (scope.includes('offline_access') ? 'consent' : undefined);
    const authUri = this.buildAuthRequestUri({ ...options, scope, state, nonce, codeChallenge: challenge, prompt });
    const flow: AuthCodeFlow = { authUri, state, redirectUri: options.redirectUri, scope, codeVerifier: verifier, nonce };
    if (options.maxAge !== undefined) flow.maxAge = options.maxAge;
    if (this.configuration.issuer) flow.issuer = this.configuration.issuer;
    return flow;
  }

  /**
   * Finish a flow from {@link Client.initiateAuthCodeFlow} with what reached
   * the redirect URI. Checks state, RFC 9207 `iss`, scope subset, then
   * exchanges the code (with the PKCE verifier) and checks the ID token's nonce.
   */
  async obtainTokenByAuthCodeFlow(flow: AuthCodeFlow, authResponse: string | URLSearchParams | Record<string, string | undefined>, options: { scope?: string | string[]; signal?: AbortSignal } = {}): Promise<TokenResponse> {
    const code = checkAuthCodeResponse(flow, parseAuthResponse(authResponse), {
      issRequired: this.configuration.authorization_response_iss_parameter_supported === true,
      scope: options.scope === undefined ? undefined : scopeList(options.scope),
    });
    return this.obtainTokenByAuthorizationCode(code, { redirectUri: flow.redirectUri, codeVerifier: flow.codeVerifier, nonce: flow.nonce, maxAge: flow.maxAge, scope: options.scope, signal: options.signal });
  }

  /** Exchange a code you received yourself. */
  obtainTokenByAuthorizationCode(code: string, options: { redirectUri?: string; codeVerifier?: string; nonce?: string; maxAge?: number; scope?: string | string[]; signal?: AbortSignal } = {}): Promise<TokenResponse> {
    return this.obtainToken('authorization_code', { code, redirect_uri: options.redirectUri, code_verifier: options.codeVerifier }, options);
  }

  /**
   * The whole browser login: a loopback receiver on 127.0.0.1 (`port` 0 = any
   * free port), the response checked and the code exchanged. The browser
   * opens (or the terminal shows, with `openBrowser: false`) the receiver's
   * one-time login address, which redirects to the authorization URL, and
   * only that browser may deliver the callback; an `openBrowser` function is
   * handed the authorization URL itself. On Linux, connections of other
   * users to the receiver are refused.
   */
  async obtainTokenByBrowser(options: { scope?: string | string[]; port?: number; redirectUri?: string; timeout?: number; openBrowser?: false | ((url: string) => void | Promise<void>); prompt?: string; loginHint?: string; maxAge?: number; signal?: AbortSignal } = {}): Promise<TokenResponse> {
    let flow: AuthCodeFlow | undefined;
    let resolveCallback!: (params: Record<string, string | undefined>) => void;
    const callback = new Promise<Record<string, string | undefined>>((resolve) => (resolveCallback = resolve));
    const { startCallbackServer } = await import('../../adapters/browser/callback-server.ts');
    const opener = options.openBrowser;
    const server = await startCallbackServer({
      ports: [options.port ?? 0],
      hostname: '127.0.0.1',
      matches: (params) => flow !== undefined && params.state === flow.state,
      onCallback: (params) => resolveCallback({ ...params }),
      // A browser of ours opens the one-time loopback login address, and only it may deliver the callback; an opener of the caller's gets the provider URL.
      bindToBrowser: typeof opener !== 'function',
      onRefused: (message) => void process.stderr.write(`${message}\n`),
    });
    try {
      flow = this.initiateAuthCodeFlow({ ...options, redirectUri: options.redirectUri ?? server.redirectUri });
      const authUri = flow.authUri;
      server.setLoginTarget(authUri);
      const printUrl = () => void process.stderr.write(`To log in, open this URL in a browser:\n  ${server.startUrl}\n`);
      // Not awaited: the browser's page only completes once the callback is answered.
      if (opener === false) printUrl();
      else if (opener) void Promise.resolve().then(() => opener(authUri)).catch(printUrl);
      else void import('../../adapters/browser/open.ts').then((browser) => browser.openInBrowser(server.startUrl)).catch(printUrl);
      const params = await raceTimeout(callback, (options.timeout ?? 600) * 1000, options.signal);
      try {
        const tokens = await this.obtainTokenByAuthCodeFlow(flow, params, { signal: options.signal });
        await server.respond(true, 'You are logged in. You can close this window and return to the terminal.');
        return tokens;
      } catch (error) {
        await server.respond(false, `The login failed: ${(error as Error).message}`);
        throw error;
      }
    } finally {
      await server.close();
    }
  }

  /** Ask for a device code (RFC 8628 3.1). */
  async initiateDeviceFlow(options: { scope?: string | string[]; signal?: AbortSignal } = {}): Promise<DeviceFlowState> {
    const scope = scopeList(options.scope);
    const { body, status } = await this.#post(this.#endpoint('device_authorization_endpoint'), scope.length ? { scope: scope.join(' ') } : {}, 'The device authorization request', options.signal);
    const code = parseDeviceCodeResponse(body, status);
    return { ...code, expires_at: Date.now() / 1000 + code.expires_in, scope };
  }

  /**
   * Poll until the person approves, denies or the code expires, honouring
   * `interval` and `slow_down` (+5 s). `exitCondition(flow)` is checked after
   * every poll that is still pending: `() => true` polls once and returns the
   * pending answer, for callers with their own loop.
   */
  async obtainTokenByDeviceFlow(flow: DeviceFlowState, options: { exitCondition?: (flow: DeviceFlowState) => boolean; signal?: AbortSignal } = {}): Promise<TokenResponse | DeviceFlowPending> {
    const exit = options.exitCondition ?? ((state: DeviceFlowState) => state.expires_at < Date.now() / 1000);
    for (;;) {
      try {
        return await this.obtainToken(DEVICE_FLOW.GRANT_TYPE, { device_code: flow.device_code }, { signal: options.signal });
      } catch (error) {
        if (!(error instanceof AuthError)) throw error;
        const pending = error.code === 'authorization_pending' || error.code === 'slow_down';
        if (!pending && !(isRetriable(error) && error.code !== 'invalid_response')) throw error;
        if (error.code === 'slow_down') flow.interval += 5;
        if (exit(flow)) {
          if (pending) return { error: error.code as DeviceFlowPending['error'], interval: flow.interval };
          throw error;
        }
        if (flow.expires_at < Date.now() / 1000) throw new AuthError('expired_token', 'The device code expired before the login was approved. Start it again.');
        await sleep(flow.interval * 1000, undefined, { signal: options.signal }).catch(() => {
          throw new AuthError('cancelled', 'The device login was cancelled.');
        });
      }
    }
  }

  /**
   * Use a refresh token. `tokenItem` is the raw token or any object
   * `rtGetter` reads it from. When the refresh token is dead (`invalid_grant`,
   * or 400/401 `invalid_request`/`unauthorized_client`, which some providers
   * send for an unknown or expired one) `onRemovingRt(tokenItem)` runs;
   * on a rotated refresh token `onUpdatingRt(tokenItem, newRt)` runs (both
   * awaited) unless `onUpdatingRt` is `false` (migration: the new token then
   * reaches `onObtainingTokens` instead).
   */
  async obtainTokenByRefreshToken(tokenItem: unknown, options: { scope?: string | string[]; rtGetter?: (item: unknown) => string; onRemovingRt?: (item: unknown) => void | Promise<void>; onUpdatingRt?: false | ((item: unknown, newRt: string) => void | Promise<void>); signal?: AbortSignal } = {}): Promise<TokenResponse> {
    const rtGetter = options.rtGetter ?? ((item: unknown) => (typeof item === 'string' ? item : (item as { refresh_token: string }).refresh_token));
    const onUpdatingRt = options.onUpdatingRt === undefined ? this.options.onUpdatingRt : options.onUpdatingRt;
    try {
      const response = await this.obtainToken('refresh_token', { refresh_token: rtGetter(tokenItem) }, { scope: options.scope, signal: options.signal, keepRtInEvent: onUpdatingRt === false || onUpdatingRt === undefined });
      if (response.refresh_token !== undefined && onUpdatingRt) await onUpdatingRt(tokenItem, response.refresh_token);
      return response;
    } catch (error) {
      if (error instanceof AuthError && refreshTokenIsDead(error)) await (options.onRemovingRt ?? this.options.onRemovingRt)?.(tokenItem);
      throw error;
    }
  }

  /** Resource-owner password grant (legacy apps only). */
  obtainTokenByUsernamePassword(username: string, password: string, options: { scope?: string | string[]; signal?: AbortSignal } = {}): Promise<TokenResponse> {
    return this.obtainToken('password', { username, password }, options);
  }

  /** Client-credentials grant: a token for the client itself. */
  obtainTokenForClient(options: { scope?: string | string[]; signal?: AbortSignal } = {}): Promise<TokenResponse> {
    return this.obtainToken('client_credentials', {}, options);
  }

  /** Assertion grant (RFC 7521): e.g. {@link GRANT_TYPE_JWT} with a JWT from {@link signJwtAssertion}. */
  obtainTokenByAssertion(assertion: string, grantType: string, options: { scope?: string | string[]; signal?: AbortSignal } = {}): Promise<TokenResponse> {
    return this.obtainToken(grantType, { assertion }, options);
  }

  /** Token exchange (RFC 8693). */
  exchangeToken(subjectToken: string, subjectTokenType: string, options: { requestedTokenType?: string; audience?: string; resource?: string; actorToken?: string; actorTokenType?: string; scope?: string | string[]; signal?: AbortSignal } = {}): Promise<TokenResponse> {
    return this.obtainToken(GRANT_TYPE_TOKEN_EXCHANGE, {
      subject_token: subjectToken, subject_token_type: subjectTokenType, requested_token_type: options.requestedTokenType,
      audience: options.audience, resource: options.resource, actor_token: options.actorToken, actor_token_type: options.actorTokenType,
    }, options);
  }

  /** Revoke a token (RFC 7009). Succeeds also for tokens the provider no longer knows. */
  async revokeToken(token: string, tokenTypeHint?: 'access_token' | 'refresh_token', options: { signal?: AbortSignal } = {}): Promise<void> {
    const endpoint = this.#endpoint('revocation_endpoint');
    const auth = await this.#authenticateClient(endpoint);
    const response = await postForm(endpoint, { ...auth.form, token, ...(tokenTypeHint ? { token_type_hint: tokenTypeHint } : {}) }, { ...this.#http, headers: auth.headers, signal: options.signal });
    if (response.status !== 200) successJson(response.status, response.text, 'The revocation request', response);
  }

  /** The userinfo claims for an access token. */
  async userinfo(accessToken: string, options: { signal?: AbortSignal } = {}): Promise<Record<string, unknown>> {
    const response = await request('GET', this.#endpoint('userinfo_endpoint'), undefined, { ...this.#http, headers: { authorization: `Bearer ${accessToken}` }, signal: options.signal });
    const claims = successJson(response.status, response.text, 'The userinfo request', response);
    if (this.#firstIdToken?.sub !== undefined && claims.sub !== this.#firstIdToken.sub) {
      throw new AuthError('invalid_response', 'The userinfo sub differs from the ID token\'s sub (OIDC Core 5.3.2); do not use these claims.');
    }
    return claims;
  }

  /** The RP-initiated logout URL (OpenID Connect RP-Initiated Logout 1.0). */
  endSessionUrl(options: { idTokenHint?: string; postLogoutRedirectUri?: string; state?: string } = {}): string {
    const url = new URL(this.#endpoint('end_session_endpoint'));
    url.searchParams.set('client_id', this.clientId);
    if (options.idTokenHint) url.searchParams.set('id_token_hint', options.idTokenHint);
    if (options.postLogoutRedirectUri) url.searchParams.set('post_logout_redirect_uri', options.postLogoutRedirectUri);
    if (options.state) url.searchParams.set('state', options.state);
    return url.toString();
  }
}

function raceTimeout<T>(promise: Promise<T>, ms: number, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => finish(() => reject(new AuthError('timeout', `The browser login was not finished within ${Math.round(ms / 1000)} s. Run it again.`))), ms);
    const onAbort = () => finish(() => reject(new AuthError('cancelled', 'The browser login was cancelled.')));
    const finish = (then: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      then();
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then((value) => finish(() => resolve(value)), (error: unknown) => finish(() => reject(error)));
  });
}


