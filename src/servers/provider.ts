// A standard OpenID provider as a Backend: the same statecharts as the
// py-oidc-auth mode, talking to the provider's own endpoints through Client.
import type { Backend } from './backend.ts';
import { AuthError } from '../errors.ts';
import { callbackMatches } from '../protocol/callback.ts';
import { DEVICE_GRANT_TYPE, type AuthCodeFlow, type TokenResponse } from '../protocol/oauth.ts';
import { DEFAULT_PROVIDER_SCOPE, namedAccount, providerKey, scopeList } from '../protocol/store-key.ts';
import { identityFromClaims } from '../protocol/identity.ts';
import { shellQuote } from '../protocol/shell.ts';
import { mergeRefreshed, nowSeconds, parseTokenResponse } from '../protocol/token.ts';
import type { Token } from '../types.ts';
import { chooseDpopAlgorithm } from '../protocol/dpop.ts';
import type { Client } from './client/client.ts';
import type { DpopKey } from './client/dpop.ts';
import type { ClientOptions } from './client/options.ts';

/** How to reach a standard provider. */
export interface ProviderSettings {
  issuer: string;
  clientId: string;
  clientSecret?: string | undefined;
  /** @default ['openid', 'offline_access'] */
  scope?: string | string[] | undefined;
  /** Loopback ports tried in order for the code-flow redirect `http://127.0.0.1:<port>/callback`. @default [0] (any free port) */
  redirectPorts?: number[] | undefined;
  /** Everything else the Client takes (auth method, keys, clock tolerance, ...). */
  client?: Omit<ClientOptions, 'clientSecret'> | undefined;
  /** A named account (its own store entry); none: the default account. */
  account?: string | undefined;
  /** Bind the login's tokens to a key of its own (DPoP, RFC 9449): its own store entry, and a provider without DPoP is an error. */
  dpop?: boolean | undefined;
  /** Push the code login's parameters (PAR, RFC 9126); also done when the provider's metadata requires it. */
  par?: boolean | undefined;
}

/** Refresh tokens whose lifetime the provider does not say are assumed to live this long (a rejection still ends them). */
export const UNKNOWN_REFRESH_LIFETIME = 30 * 24 * 3600;


/** The token of a response; `dpopKey` is the private JWK of the key it is bound to (DPoP), kept with it. */
function toToken(response: TokenResponse, dpopKey?: Readonly<Record<string, string>>): Token {
  const now = nowSeconds();
  const token = parseTokenResponse(response, now, undefined, { dpop: dpopKey !== undefined });
  if (dpopKey) token.dpop_key = dpopKey;
  if (token.refresh_token !== '' && response.refresh_expires_in === undefined && response.refresh_expires === undefined) {
    token.refresh_expires = Math.floor(now + UNKNOWN_REFRESH_LIFETIME);
  }
  if (typeof response.id_token === 'string') token.id_token = response.id_token;
  // The Client validated the ID token: its claims say who logged in.
  const who = identityFromClaims(response.id_token_claims);
  if (who) token.who = who;
  return token;
}

/** The `prompt` of a login: `consent` where offline access is asked (oidc-provider and others need it for a refresh token), and a choice of account for a second one. */
export function loginPrompt(scope: readonly string[], chooseAccount: boolean, supported: readonly string[] | undefined): string | undefined {
  const prompts: string[] = [];
  if (chooseAccount) prompts.push(supported?.includes('select_account') ? 'select_account' : 'login');
  if (scope.includes('offline_access')) prompts.push('consent');
  return prompts.length > 0 ? prompts.join(' ') : undefined;
}

/** A {@link Backend} for a standard provider; discovery happens on first use (and is cached in `cacheFolder`). */
export function providerBackend(settings: ProviderSettings, options: { cacheFolder?: string | undefined; timeout?: number | undefined; fetch?: typeof globalThis.fetch | undefined }): Backend {
  const scope = scopeList(settings.scope ?? DEFAULT_PROVIDER_SCOPE);
  const key = providerKey(settings.issuer, settings.clientId, scope, settings.account, settings.dpop === true);
  let client: Promise<Client> | undefined;
  const getClient = () => {
    client ??= import('./client/client.ts').then(({ Client }) => Client.discover(settings.issuer, settings.clientId, {
      ...settings.client,
      ...(settings.par ? { par: true } : {}),
      clientSecret: settings.clientSecret,
      timeout: options.timeout,
      fetch: options.fetch,
      cache: { folder: options.cacheFolder },
    }));
    client.catch(() => (client = undefined)); // A failed discovery is tried again next time.
    return client;
  };
  let pending: AuthCodeFlow | undefined;
  /** The pushed request of the login in progress (PAR). */
  let pushed: { readonly url: string; renew(): Promise<string> } | undefined;
  /** The key of the login in progress (DPoP), and its private JWK: made when it starts, stored with its token. */
  let loginKey: { key: DpopKey; jwk: Readonly<Record<string, string>> } | undefined;
  /** The client for a request with `dpop` (the provider's client, with the key of the login or of the stored token). */
  const clientWith = async (dpop: DpopKey | undefined): Promise<Client> => {
    const c = await getClient();
    if (!dpop) return c;
    const { Client } = await import('./client/client.ts');
    return new Client(c.configuration, c.clientId, { ...c.options, dpop });
  };
  const newLoginKey = async (): Promise<DpopKey | undefined> => {
    loginKey = undefined;
    if (!settings.dpop) return undefined;
    const c = await getClient();
    const { exportDpopKey, generateDpopKey } = await import('./client/dpop.ts');
    const key = await generateDpopKey(chooseDpopAlgorithm(c.configuration.dpop_signing_alg_values_supported, settings.issuer));
    loginKey = { key, jwk: exportDpopKey(key) as Record<string, string> };
    return key;
  };
  const storedKey = async (stored: Token | undefined): Promise<DpopKey | undefined> => {
    if (!stored?.dpop_key) return undefined;
    // Loaded once per key, so that the provider's nonce is kept from one refresh to the next (no challenge round trip each time).
    const { dpopKeyFor } = await import('./client/dpop.ts');
    return dpopKeyFor(stored.dpop_key);
  };
  return {
    key,
    command: `oidc-auth --issuer ${shellQuote(settings.issuer)} --client-id ${shellQuote(settings.clientId)}${settings.scope ? ` --scope ${shellQuote(scope.join(' '))}` : ''}${settings.dpop ? ' --dpop' : ''}${namedAccount(settings.account) ? ` --account ${settings.account}` : ''}`,
    async requestDeviceCode(signal) {
      return (await clientWith(await newLoginKey())).initiateDeviceFlow({ scope, signal });
    },
    async pollDeviceToken(deviceCode, signal) {
      const login = loginKey;
      return toToken(await (await clientWith(login?.key)).obtainToken(DEVICE_GRANT_TYPE, { device_code: deviceCode }, { signal }), login?.jwk);
    },
    async refresh(refreshToken, stored, signal) {
      // A DPoP-bound refresh token is refreshed with the key it is bound to (RFC 9449 5).
      const dpop = await storedKey(stored);
      const c = await clientWith(dpop);
      const { decodeJwt } = await import('jose');
      c.setFirstIdTokenClaims(stored?.id_token ? decodeJwt(stored.id_token) : undefined);
      const fresh = toToken(await c.obtainTokenByRefreshToken(refreshToken, { signal }), dpop ? stored?.dpop_key : undefined);
      return mergeRefreshed(stored ?? { refresh_token: refreshToken, refresh_expires: 0 }, fresh);
    },
    callback: { ports: settings.redirectPorts ?? [0], fallbackToAnyPort: true, hostname: '127.0.0.1', matches: (params) => callbackMatches(params, pending?.state) },
    async loginUrl(redirectUri, signal, options) {
      const dpop = await newLoginKey();
      const c = await clientWith(dpop);
      const supported = c.configuration.prompt_values_supported;
      // dpop_jkt binds the authorization code to the login's key (RFC 9449 10).
      pending = c.initiateAuthCodeFlow({ redirectUri, scope, prompt: loginPrompt(scope, options?.chooseAccount === true, Array.isArray(supported) ? supported : undefined), ...(dpop ? { extra: { dpop_jkt: dpop.thumbprint } } : {}) });
      pushed = undefined;
      if (!c.pushesAuthorizationRequests) return pending.authUri;
      // PAR: the parameters go to the provider now (so that a refusal shows at once); the browser gets only client_id and request_uri.
      const { pushedLogin } = await import('./client/grants.ts');
      pushed = await pushedLogin(c, pending.authUri, signal);
      return pushed.url;
    },
    async renewLoginUrl() {
      if (!pending) throw new AuthError('state_mismatch', 'No login is in progress. Start the login again.');
      return pushed ? pushed.renew() : pending.authUri;
    },
    async identify(token, signal) {
      try {
        const c = await clientWith(await storedKey(token));
        return c.configuration.userinfo_endpoint ? identityFromClaims(await c.userinfo(token.access_token, { signal, tokenType: token.token_type })) : undefined;
      } catch {
        return undefined; // Who logged in is shown where it can be told, never required.
      }
    },
    async exchangeCode(params, _redirectUri, signal) {
      const flow = pending;
      if (!flow) throw new AuthError('state_mismatch', 'A login callback arrived but no login is in progress. Start the login again.');
      pending = undefined;
      const login = loginKey;
      return toToken(await (await clientWith(login?.key)).obtainTokenByAuthCodeFlow(flow, { ...params }, { signal }), login?.jwk);
    },
  };
}
