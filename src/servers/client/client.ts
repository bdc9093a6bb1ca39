// A low-level OAuth 2.0 / OpenID Connect client with every grant of MSAL's
// oauth2cli Client (camelCase names, same semantics), plus token exchange,
// revocation, userinfo and the end-session URL. The grants that take more
// than one request are in grants.ts; the way to the provider in transport.ts.
import type { JWTPayload } from 'jose';
import { postForm, type HttpOptions } from '../../adapters/http/http.ts';
import { isDpopTokenType } from '../../protocol/dpop.ts';
import { AuthError } from '../../errors.ts';
import { sanitizingInspector } from '../../protocol/inspection.ts';
import {
  checkAuthCodeResponse, parseAuthResponse, parseOAuthTokenResponse, parseProviderMetadata, parsePushedRequest, scopeList, successJson,
  type AuthCodeFlow, type ProviderMetadata, type TokenResponse,
} from '../../protocol/oauth.ts';
import * as grants from './grants.ts';
import { cachedJson } from './metadata-cache.ts';
import { GRANT_TYPE_TOKEN_EXCHANGE, pkcePair, randomText, type AuthRequestOptions, type BrowserLoginOptions, type ClientOptions, type DeviceFlowPending, type DeviceFlowState, type RefreshOptions } from './options.ts';
import { ClientTransport } from './transport.ts';

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
  /** The client id this client sends. */
  readonly clientId: string;
  /** The options it was made with. */
  readonly options: ClientOptions;
  #firstIdToken: JWTPayload | undefined;
  readonly #transport: ClientTransport;

  constructor(serverConfiguration: Partial<ProviderMetadata> & { token_endpoint: string }, clientId: string, options: ClientOptions = {}) {
    this.configuration = { issuer: '', ...serverConfiguration } as ProviderMetadata;
    this.clientId = clientId;
    this.options = options;
    this.#transport = new ClientTransport(this.configuration, clientId, options);
  }

  /**
   * Fetch `${issuer}/.well-known/openid-configuration` (cached), check its issuer exactly, and make a client.
   * @see {@link https://openid.net/specs/openid-connect-discovery-1_0.html | OpenID Connect Discovery 1.0}
   * @see {@link https://www.rfc-editor.org/rfc/rfc8414#section-3 | RFC 8414 3}
   */
  static async discover(issuer: string, clientId: string, options: ClientOptions = {}): Promise<Client> {
    const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const http: HttpOptions = { timeoutMs: (options.timeout ?? 30) * 1000, fetch: options.fetch, certificate: options.tlsClientCertificate };
    const metadata = await cachedJson(url, 'The discovery document', http, options.cache ?? {}, (body) => parseProviderMetadata(body, issuer));
    return new Client(metadata, clientId, options);
  }

  /**
   * Any token request: `grant_type` plus fields. Validates an ID token if one
   * comes back, then tells `onObtainingTokens`.
   * @see {@link https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3 | RFC 6749 4.1.3}
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
    const endpoint = this.#transport.endpoint('token_endpoint');
    const { body, status } = await this.#transport.post(endpoint, form, `The token request (${grantType})`, options.signal);
    const response = parseOAuthTokenResponse(body, status);
    if (this.options.dpop && !isDpopTokenType(response.token_type)) {
      // RFC 9449 5: a token asked for with a proof must be bound to the key; a bearer token in its place is a downgrade.
      throw new AuthError('invalid_response', `The provider answered a DPoP request with a ${JSON.stringify(response.token_type)} token, not a DPoP-bound one, so it was refused (a bearer token is worth as much to whoever copies it). ` +
        'Check that the provider binds tokens for this client (DPoP enabled), or log in without DPoP.', { status });
    }
    if (response.id_token !== undefined && !this.options.skipIdTokenValidation) {
      // jose loads on the first ID token, not at import.
      const { validateIdToken } = await import('./id-token.ts');
      const claims = await validateIdToken(response.id_token, this.#transport.keys(), {
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

  /**
   * The authorization URL (oauth2cli's `build_auth_request_uri`).
   * @see {@link https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1 | RFC 6749 4.1.1}
   */
  buildAuthRequestUri(options: AuthRequestOptions = {}): string {
    return this.#transport.authRequestUri(options);
  }

  /**
   * Start an authorization-code flow with PKCE S256, `state` and `nonce`. The result is serialisable.
   * @see {@link https://www.rfc-editor.org/rfc/rfc7636 | RFC 7636}
   * @see {@link https://www.rfc-editor.org/rfc/rfc8252#section-7.3 | RFC 8252 7.3}
   */
  initiateAuthCodeFlow(options: { redirectUri: string; scope?: string | string[]; state?: string; prompt?: string; loginHint?: string; maxAge?: number; extra?: Record<string, string> }): AuthCodeFlow {
    const { verifier, challenge } = pkcePair();
    const state = options.state ?? randomText(16);
    const nonce = randomText(16);
    const scope = scopeList(options.scope);
    // OpenID Connect Core 11: offline_access needs prompt=consent, or providers drop it (and the refresh token dies with the browser session).
    const prompt = options.prompt ?? (scope.includes('offline_access') ? 'consent' : undefined);
    const authUri = this.buildAuthRequestUri({ ...options, scope, state, nonce, codeChallenge: challenge, prompt });
    const flow: AuthCodeFlow = { authUri, state, redirectUri: options.redirectUri, scope, codeVerifier: verifier, nonce };
    if (options.maxAge !== undefined) flow.maxAge = options.maxAge;
    if (this.configuration.issuer) flow.issuer = this.configuration.issuer;
    return flow;
  }

  /** Whether this client pushes its authorization requests: asked for (`par`), or required by the provider's metadata. */
  get pushesAuthorizationRequests(): boolean {
    return this.options.par === true || this.configuration.require_pushed_authorization_requests === true;
  }

  /**
   * Push the parameters of a flow's authorization URL to the provider
   * (PAR), with client authentication and, with `dpop`, a proof; resolves
   * to the URL the browser opens, which carries only `client_id` and
   * `request_uri`, and the seconds that `request_uri` lives.
   * @see {@link https://www.rfc-editor.org/rfc/rfc9126#section-2 | RFC 9126 2}
   */
  async pushAuthorizationRequest(authUri: string, options: { signal?: AbortSignal } = {}): Promise<{
    /** The address the browser opens: the authorization endpoint with `client_id` and `request_uri` only. */
    url: string;
    /** Seconds the `request_uri` lives. */
    expiresIn: number;
  }> {
    const endpoint = this.#transport.endpoint('pushed_authorization_request_endpoint');
    const form = Object.fromEntries(new URL(authUri).searchParams);
    const { body, status } = await this.#transport.post(endpoint, form, 'The pushed authorization request', options.signal);
    const pushed = parsePushedRequest(body, status);
    const url = new URL(this.#transport.endpoint('authorization_endpoint'));
    url.search = new URLSearchParams({ client_id: this.clientId, request_uri: pushed.request_uri }).toString();
    return { url: url.toString(), expiresIn: pushed.expires_in };
  }

  /**
   * Finish a flow from {@link Client.initiateAuthCodeFlow} with what reached
   * the redirect URI. Checks state, RFC 9207 `iss`, scope subset, then
   * exchanges the code (with the PKCE verifier) and checks the ID token's nonce.
   * @see {@link https://www.rfc-editor.org/rfc/rfc9207 | RFC 9207}
   * @see {@link https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2 | RFC 6749 4.1.2}
   */
  async obtainTokenByAuthCodeFlow(flow: AuthCodeFlow, authResponse: string | URLSearchParams | Record<string, string | undefined>, options: { scope?: string | string[]; signal?: AbortSignal } = {}): Promise<TokenResponse> {
    const code = checkAuthCodeResponse(flow, parseAuthResponse(authResponse), {
      issRequired: this.configuration.authorization_response_iss_parameter_supported === true,
      scope: options.scope === undefined ? undefined : scopeList(options.scope),
    });
    return this.obtainTokenByAuthorizationCode(code, { redirectUri: flow.redirectUri, codeVerifier: flow.codeVerifier, nonce: flow.nonce, maxAge: flow.maxAge, scope: options.scope, signal: options.signal });
  }

  /**
   * Exchange a code you received yourself.
   * @see {@link https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3 | RFC 6749 4.1.3}
   */
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
   * @see {@link https://www.rfc-editor.org/rfc/rfc8252 | RFC 8252}
   * @see {@link https://www.rfc-editor.org/rfc/rfc7636 | RFC 7636}
   */
  obtainTokenByBrowser(options: BrowserLoginOptions = {}): Promise<TokenResponse> {
    return grants.obtainTokenByBrowser(this, options);
  }

  /**
   * Ask for a device code (RFC 8628 3.1).
   * @see {@link https://www.rfc-editor.org/rfc/rfc8628#section-3.1 | RFC 8628 3.1}
   */
  initiateDeviceFlow(options: { scope?: string | string[]; signal?: AbortSignal } = {}): Promise<DeviceFlowState> {
    return grants.initiateDeviceFlow(this.#transport, options);
  }

  /**
   * Poll until the person approves, denies or the code expires, honouring
   * `interval` and `slow_down` (+5 s). `exitCondition(flow)` is checked after
   * every poll that is still pending: `() => true` polls once and returns the
   * pending answer, for callers with their own loop.
   * @see {@link https://www.rfc-editor.org/rfc/rfc8628#section-3.4 | RFC 8628 3.4}
   */
  obtainTokenByDeviceFlow(flow: DeviceFlowState, options: { exitCondition?: (flow: DeviceFlowState) => boolean; signal?: AbortSignal } = {}): Promise<TokenResponse | DeviceFlowPending> {
    return grants.obtainTokenByDeviceFlow(this, flow, options);
  }

  /**
   * Use a refresh token. `tokenItem` is the raw token or any object
   * `rtGetter` reads it from. When the refresh token is dead (`invalid_grant`,
   * or 400/401 `invalid_request`/`unauthorized_client`, which some providers
   * send for an unknown or expired one) `onRemovingRt(tokenItem)` runs;
   * on a rotated refresh token `onUpdatingRt(tokenItem, newRt)` runs (both
   * awaited) unless `onUpdatingRt` is `false` (migration: the new token then
   * reaches `onObtainingTokens` instead).
   * @see {@link https://www.rfc-editor.org/rfc/rfc6749#section-6 | RFC 6749 6}
   */
  obtainTokenByRefreshToken(tokenItem: unknown, options: RefreshOptions = {}): Promise<TokenResponse> {
    return grants.obtainTokenByRefreshToken(this, tokenItem, options);
  }

  /**
   * Resource-owner password grant (legacy apps only).
   * @see {@link https://www.rfc-editor.org/rfc/rfc6749#section-4.3 | RFC 6749 4.3}
   */
  obtainTokenByUsernamePassword(username: string, password: string, options: { scope?: string | string[]; signal?: AbortSignal } = {}): Promise<TokenResponse> {
    return this.obtainToken('password', { username, password }, options);
  }

  /**
   * Client-credentials grant: a token for the client itself.
   * @see {@link https://www.rfc-editor.org/rfc/rfc6749#section-4.4 | RFC 6749 4.4}
   */
  obtainTokenForClient(options: { scope?: string | string[]; signal?: AbortSignal } = {}): Promise<TokenResponse> {
    return this.obtainToken('client_credentials', {}, options);
  }

  /**
   * Assertion grant (RFC 7521): e.g. {@link GRANT_TYPE_JWT} with a JWT from {@link signJwtAssertion}.
   * @see {@link https://www.rfc-editor.org/rfc/rfc7523#section-2.1 | RFC 7523 2.1}
   * @see {@link https://www.rfc-editor.org/rfc/rfc7522#section-2.1 | RFC 7522 2.1}
   */
  obtainTokenByAssertion(assertion: string, grantType: string, options: { scope?: string | string[]; signal?: AbortSignal } = {}): Promise<TokenResponse> {
    return this.obtainToken(grantType, { assertion }, options);
  }

  /**
   * Token exchange (RFC 8693).
   * @see {@link https://www.rfc-editor.org/rfc/rfc8693#section-2.1 | RFC 8693 2.1}
   */
  exchangeToken(subjectToken: string, subjectTokenType: string, options: { requestedTokenType?: string; audience?: string; resource?: string; actorToken?: string; actorTokenType?: string; scope?: string | string[]; signal?: AbortSignal } = {}): Promise<TokenResponse> {
    return this.obtainToken(GRANT_TYPE_TOKEN_EXCHANGE, {
      subject_token: subjectToken, subject_token_type: subjectTokenType, requested_token_type: options.requestedTokenType,
      audience: options.audience, resource: options.resource, actor_token: options.actorToken, actor_token_type: options.actorTokenType,
    }, options);
  }

  /**
   * Revoke a token (RFC 7009). Succeeds also for tokens the provider no longer knows.
   * @see {@link https://www.rfc-editor.org/rfc/rfc7009#section-2.1 | RFC 7009 2.1}
   */
  async revokeToken(token: string, tokenTypeHint?: 'access_token' | 'refresh_token', options: { signal?: AbortSignal } = {}): Promise<void> {
    const endpoint = this.#transport.endpoint('revocation_endpoint');
    const auth = await this.#transport.authenticateClient(endpoint);
    const response = await postForm(endpoint, { ...auth.form, token, ...(tokenTypeHint ? { token_type_hint: tokenTypeHint } : {}) }, { ...this.#transport.http, headers: auth.headers, signal: options.signal });
    if (response.status !== 200) successJson(response.status, response.text, 'The revocation request', response);
  }

  /**
   * The userinfo claims for an access token.
   * @see {@link https://openid.net/specs/openid-connect-core-1_0.html#UserInfo | OpenID Connect Core 1.0, 5.3}
   */
  async userinfo(accessToken: string, options: { signal?: AbortSignal; tokenType?: string } = {}): Promise<Record<string, unknown>> {
    const response = await this.#transport.resource('GET', this.#transport.endpoint('userinfo_endpoint'), accessToken, options.tokenType, options.signal);
    const claims = successJson(response.status, response.text, 'The userinfo request', response);
    if (this.#firstIdToken?.sub !== undefined && claims.sub !== this.#firstIdToken.sub) {
      throw new AuthError('invalid_response', 'The userinfo sub differs from the ID token\'s sub (OIDC Core 5.3.2); do not use these claims.');
    }
    return claims;
  }

  /**
   * The RP-initiated logout URL (OpenID Connect RP-Initiated Logout 1.0).
   * @see {@link https://openid.net/specs/openid-connect-rpinitiated-1_0.html | OpenID Connect RP-Initiated Logout 1.0}
   */
  endSessionUrl(options: { idTokenHint?: string; postLogoutRedirectUri?: string; state?: string } = {}): string {
    return this.#transport.endSessionUrl(options);
  }

}
