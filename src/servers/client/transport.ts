// How a Client talks to its provider: endpoints from the metadata, client
// authentication (none, Basic with its RFC 6749 2.3.1 fallback, post, JWT
// assertions), form POSTs whose errors never carry what was sent, and the
// provider's keys for ID-token validation.
import type { JSONWebKeySet } from 'jose';
import { postForm, request, type HttpOptions, type HttpResponse } from '../../adapters/http/http.ts';
import { AuthError, secretValues } from '../../errors.ts';
import { parseKeySet, scopeList, successJson, type ProviderMetadata } from '../../protocol/oauth.ts';
import { isDpopNonceChallenge, isDpopTokenType } from '../../protocol/dpop.ts';
import { rememberDpopNonce, signDpopProof, type DpopKey } from './dpop.ts';
import { cachedJson } from './metadata-cache.ts';
import { basicHeader, signJwtAssertion, type AuthRequestOptions, type ClientAuthMethod, type ClientOptions } from './options.ts';

/** One client's way to its provider (kept private by {@link Client}). */
export class ClientTransport {
  readonly configuration: ProviderMetadata;
  readonly clientId: string;
  readonly options: ClientOptions;

  constructor(configuration: ProviderMetadata, clientId: string, options: ClientOptions) {
    this.configuration = configuration;
    this.clientId = clientId;
    this.options = options;
  }

  get http(): HttpOptions {
    return { timeoutMs: (this.options.timeout ?? 30) * 1000, fetch: this.options.fetch, certificate: this.options.tlsClientCertificate };
  }

  endpoint(name: keyof ProviderMetadata & `${string}_endpoint`): string {
    // RFC 8705 5: with a client certificate, the provider's mTLS aliases of its endpoints, where it names them.
    const aliases = this.options.tlsClientCertificate ? this.configuration.mtls_endpoint_aliases : undefined;
    const alias = aliases !== null && typeof aliases === 'object' ? (aliases as Record<string, unknown>)[name] : undefined;
    const url = typeof alias === 'string' && /^https:\/\//.test(alias) ? alias : this.configuration[name];
    if (typeof url !== 'string') throw new AuthError('unsupported_flow', `The provider has no ${name}; this grant or call is not available there.`);
    return url;
  }

  get authMethod(): ClientAuthMethod {
    return this.options.clientAuthMethod ?? (this.options.clientSecret ? 'client_secret_basic' : this.options.privateKey ? 'private_key_jwt' : this.options.tlsClientCertificate ? 'tls_client_auth' : 'none');
  }

  /** Client authentication for a request to `endpoint`: form fields and headers. */
  async authenticateClient(endpoint: string): Promise<{ form: Record<string, string>; headers: Record<string, string> }> {
    const { clientSecret, privateKey } = this.options;
    const method = this.authMethod;
    const needSecret = () => {
      if (!clientSecret) throw new AuthError('invalid_client', `Client authentication ${method} needs a client secret (clientSecret).`);
      return clientSecret;
    };
    switch (method) {
      case 'none':
        return { form: { client_id: this.clientId }, headers: {} };
      case 'tls_client_auth':
      case 'self_signed_tls_client_auth':
        // RFC 8705 2: the certificate of the TLS connection is the credential; the form names the client.
        if (!this.options.tlsClientCertificate) throw new AuthError('invalid_client', `Client authentication ${method} needs a client certificate (tlsClientCertificate, or --client-cert and --client-key).`);
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
  async post(endpoint: string, form: Record<string, string>, what: string, signal?: AbortSignal): Promise<{ body: Record<string, unknown>; status: number }> {
    const auth = await this.authenticateClient(endpoint);
    try {
      return await this.send(endpoint, { ...auth.form, ...form }, auth.headers, what, signal);
    } catch (error) {
      // RFC 6749 2.3.1 form-encodes id and secret before Basic; several providers compare them undecoded.
      // When the two forms differ and the provider refuses the client, the raw form is tried once.
      const { clientSecret } = this.options;
      const raw = clientSecret ? basicHeader(this.clientId, clientSecret, false) : undefined;
      if (!(error instanceof AuthError && error.code === 'invalid_client' && this.authMethod === 'client_secret_basic' && raw && raw !== auth.headers.authorization)) throw error;
      try {
        return await this.send(endpoint, form, { authorization: raw }, what, signal);
      } catch (second) {
        if (!(second instanceof AuthError)) throw second;
        throw new AuthError(second.code, `${second.message} (Client authentication client_secret_basic was tried with the id and secret form-encoded, as RFC 6749 2.3.1 says, and then as they are; both were refused. Check the secret, or set clientAuthMethod: 'client_secret_post'.)`, { status: second.status, detail: second.detail });
      }
    }
  }

  async send(endpoint: string, sent: Record<string, string>, headers: Record<string, string>, what: string, signal?: AbortSignal): Promise<{ body: Record<string, unknown>; status: number }> {
    try {
      const response = await this.withDpop(this.options.dpop, 'POST', endpoint, undefined, (proof) => postForm(endpoint, sent, { ...this.http, headers: { ...headers, ...proof }, signal }));
      return { body: successJson(response.status, response.text, what, response), status: response.status };
    } catch (error) {
      // Whatever the request carried (codes, tokens, assertions, secrets) never comes back in an error.
      const secrets = [...secretValues(sent), ...(this.options.clientSecret ? [this.options.clientSecret] : [])];
      throw error instanceof AuthError ? error.withoutSecrets(secrets) : error;
    }
  }

  /**
   * Send `attempt` with a fresh DPoP proof when there is a key (none: as it
   * is). A server that answers `use_dpop_nonce` with a usable `DPoP-Nonce`
   * gets the request once more, with a proof carrying it (RFC 9449 8, 9).
   */
  async withDpop(key: DpopKey | undefined, method: string, url: string, accessToken: string | undefined, attempt: (proof: Record<string, string>) => Promise<HttpResponse>): Promise<HttpResponse> {
    if (!key) return attempt({});
    const once = async () => {
      const response = await attempt({ dpop: await signDpopProof(key, method, url, accessToken) });
      return { response, fresh: rememberDpopNonce(key, url, response.dpopNonce) };
    };
    const first = await once();
    if (!isDpopNonceChallenge(first.response.status, first.response)) return first.response;
    if (!first.fresh) {
      throw new AuthError('invalid_response', `${new URL(url).origin} asked for a DPoP nonce (use_dpop_nonce) but sent no usable DPoP-Nonce header, so the request cannot be proven. Report it to the provider's operators.`, { status: first.response.status });
    }
    return (await once()).response;
  }

  /** A request to a resource of the provider (userinfo) with an access token: a DPoP proof for a DPoP token. */
  resource(method: 'GET' | 'POST', url: string, accessToken: string, tokenType: string | undefined, signal?: AbortSignal): Promise<HttpResponse> {
    const dpop = isDpopTokenType(tokenType) ? this.options.dpop : undefined;
    if (isDpopTokenType(tokenType) && !dpop) throw new AuthError('settings_conflict', 'This is a DPoP-bound access token, and the client has no DPoP key (dpop) to prove it with.');
    const authorization = `${dpop ? 'DPoP' : 'Bearer'} ${accessToken}`;
    return this.withDpop(dpop, method, url, accessToken, (proof) => request(method, url, undefined, { ...this.http, headers: { authorization, ...proof }, signal }));
  }

  /** Keys for ID-token validation: cached, refetched once for an unknown kid. */
  keys() {
    const url = this.configuration.jwks_uri;
    const load = (refresh: boolean) => async (): Promise<JSONWebKeySet> => {
      if (!url) throw new AuthError('invalid_id_token', 'The provider publishes no jwks_uri, so its ID tokens cannot be checked.');
      return cachedJson(url, 'The provider\'s key set', this.http, this.options.cache ?? {}, parseKeySet, refresh) as Promise<JSONWebKeySet>;
    };
    return { keys: load(false), refetch: load(true) };
  }

  /** The authorization URL for `options` (Client.buildAuthRequestUri). */
  authRequestUri(options: AuthRequestOptions): string {
    const url = new URL(this.endpoint('authorization_endpoint'));
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

  /** The RP-initiated logout URL (Client.endSessionUrl). */
  endSessionUrl(options: { idTokenHint?: string; postLogoutRedirectUri?: string; state?: string }): string {
    const url = new URL(this.endpoint('end_session_endpoint'));
    url.searchParams.set('client_id', this.clientId);
    if (options.idTokenHint) url.searchParams.set('id_token_hint', options.idTokenHint);
    if (options.postLogoutRedirectUri) url.searchParams.set('post_logout_redirect_uri', options.postLogoutRedirectUri);
    if (options.state) url.searchParams.set('state', options.state);
    return url.toString();
  }
}
