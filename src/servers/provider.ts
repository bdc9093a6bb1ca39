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
import type { Client } from './client/client.ts';
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
}

/** Refresh tokens whose lifetime the provider does not say are assumed to live this long (a rejection still ends them). */
export const UNKNOWN_REFRESH_LIFETIME = 30 * 24 * 3600;


function toToken(response: TokenResponse): Token {
  const now = nowSeconds();
  const token = parseTokenResponse(response, now);
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
  const key = providerKey(settings.issuer, settings.clientId, scope, settings.account);
  let client: Promise<Client> | undefined;
  const getClient = () => {
    client ??= import('./client/client.ts').then(({ Client }) => Client.discover(settings.issuer, settings.clientId, {
      ...settings.client,
      clientSecret: settings.clientSecret,
      timeout: options.timeout,
      fetch: options.fetch,
      cache: { folder: options.cacheFolder },
    }));
    client.catch(() => (client = undefined)); // A failed discovery is tried again next time.
    return client;
  };
  let pending: AuthCodeFlow | undefined;
  return {
    key,
    command: `oidc-auth --issuer ${shellQuote(settings.issuer)} --client-id ${shellQuote(settings.clientId)}${settings.scope ? ` --scope ${shellQuote(scope.join(' '))}` : ''}${namedAccount(settings.account) ? ` --account ${settings.account}` : ''}`,
    async requestDeviceCode(signal) {
      return (await getClient()).initiateDeviceFlow({ scope, signal });
    },
    async pollDeviceToken(deviceCode, signal) {
      return toToken(await (await getClient()).obtainToken(DEVICE_GRANT_TYPE, { device_code: deviceCode }, { signal }));
    },
    async refresh(refreshToken, stored, signal) {
      const c = await getClient();
      const { decodeJwt } = await import('jose');
      c.setFirstIdTokenClaims(stored?.id_token ? decodeJwt(stored.id_token) : undefined);
      const fresh = toToken(await c.obtainTokenByRefreshToken(refreshToken, { signal }));
      return mergeRefreshed(stored ?? { refresh_token: refreshToken, refresh_expires: 0 }, fresh);
    },
    callback: { ports: settings.redirectPorts ?? [0], fallbackToAnyPort: true, hostname: '127.0.0.1', matches: (params) => callbackMatches(params, pending?.state) },
    async loginUrl(redirectUri, _signal, options) {
      const c = await getClient();
      const supported = c.configuration.prompt_values_supported;
      pending = c.initiateAuthCodeFlow({ redirectUri, scope, prompt: loginPrompt(scope, options?.chooseAccount === true, Array.isArray(supported) ? supported : undefined) });
      return pending.authUri;
    },
    async identify(token, signal) {
      try {
        const c = await getClient();
        return c.configuration.userinfo_endpoint ? identityFromClaims(await c.userinfo(token.access_token, { signal })) : undefined;
      } catch {
        return undefined; // Who logged in is shown where it can be told, never required.
      }
    },
    async exchangeCode(params, _redirectUri, signal) {
      const flow = pending;
      if (!flow) throw new AuthError('state_mismatch', 'A login callback arrived but no login is in progress. Start the login again.');
      pending = undefined;
      return toToken(await (await getClient()).obtainTokenByAuthCodeFlow(flow, { ...params }, { signal }));
    },
  };
}
