import { AuthError } from '../errors.ts';
import type { Backend } from './backend.ts';
import { buildLoginUrl, callbackMatches, providerRedirect, verifierFromState, type CallbackParams, type LoginQuery } from '../protocol/callback.ts';
import { parseDeviceCodeResponse } from '../protocol/device.ts';
import { meansNoDeviceFlow, successBody } from '../protocol/error-response.ts';
import { joinUrl } from '../protocol/host.ts';
import { identityFromClaims } from '../protocol/identity.ts';
import { shellQuote } from '../protocol/shell.ts';
import { hostKey, namedAccount } from '../protocol/store-key.ts';
import { secretValues } from '../errors.ts';
import { parseTokenResponse } from '../protocol/token.ts';
import type { Config, DeviceCode, Identity, Token } from '../types.ts';
import { get, postForm } from '../adapters/http/http.ts';
import { GRANT_TYPE_TOKEN_EXCHANGE } from './client/options.ts';

/** The transport settings the route calls share. */
export interface RouteOptions {
  signal?: AbortSignal | undefined;
  fetch?: typeof globalThis.fetch | undefined;
}

async function tokenRequest(config: Config, form: Record<string, string>, what: string, options: RouteOptions): Promise<Token> {
  try {
    const response = await postForm(joinUrl(config.host, config.tokenRoute), form, { timeoutMs: config.requestTimeout * 1000, ...options });
    return parseTokenResponse(successBody(response, what), undefined, response.status);
  } catch (error) {
    // The form holds the refresh token, device code or verifier: a server that echoes one never leaks it through us.
    throw error instanceof AuthError ? error.withoutSecrets(secretValues(form)) : error;
  }
}

/** RFC 8693: the type of the token exchanged, and of the one asked for. */
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** The userinfo route beside the login route (`/auth/v2/login` -> `/auth/v2/userinfo`). */
export function userinfoRoute(config: Config): string {
  return config.loginRoute.replace(/login\/?$/, 'userinfo');
}

/**
 * Who `accessToken` belongs to, from `GET {host}/auth/v2/userinfo`
 * (py-oidc-auth answers `username`, `email`, ...); undefined when the server
 * cannot say (no such route, an error): who logged in is shown, never required.
 */
export async function userinfo(config: Config, accessToken: string, options: RouteOptions = {}): Promise<Identity | undefined> {
  try {
    const response = await get(joinUrl(config.host, userinfoRoute(config)), { timeoutMs: config.requestTimeout * 1000, headers: { authorization: `Bearer ${accessToken}` }, ...options });
    return identityFromClaims(successBody(response, 'The userinfo request'));
  } catch {
    return undefined;
  }
}

/** What a py-oidc-auth server's refusal of a token exchange means, and what to do. */
function exchangeRefused(config: Config, issuer: string, error: AuthError): AuthError {
  const host = config.host;
  const detail = typeof (error.detail as { detail?: unknown } | undefined)?.detail === 'string' ? (error.detail as { detail: string }).detail : '';
  let why: string;
  if (/missing \(device\) code or refresh_token/i.test(detail) || error.status === 404 || error.status === 405 || error.status === 422) {
    why = `${host} does not exchange tokens (it is not in py-oidc-auth's broker mode). Log in to it directly (without exchangeFrom / --exchange-from).`;
  } else if (error.status === 401) {
    why = `${host} does not accept access tokens of ${issuer}: it trusts another provider, or the token's audience or signature is not one it accepts. ` +
      'Check the provider the server is configured with, and ask for an audience it accepts (exchangeFrom.audience, --audience).';
  } else if (error.status === 403) {
    why = `${host} accepted the token of ${issuer} but refuses its claims (roles or groups it requires). Ask the server's operators for access.`;
  } else {
    return error;
  }
  return new AuthError('exchange_refused', `The token exchange at ${host} was refused (HTTP ${error.status}${detail ? `: ${detail}` : ''}). ${why}`, { status: error.status, detail: error.detail, cause: error });
}

/**
 * RFC 8693 token exchange at the token route: the server's own token for an
 * access token of the provider it trusts (py-oidc-auth's broker mode). The
 * answer carries no refresh of its own: it is obtained again by another exchange.
 */
export async function exchangeToken(config: Config, subjectToken: string, from: { issuer: string; audience?: string | undefined }, options: RouteOptions = {}): Promise<Token> {
  const form: Record<string, string> = { grant_type: GRANT_TYPE_TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE, requested_token_type: ACCESS_TOKEN_TYPE };
  if (from.audience !== undefined) form.audience = from.audience;
  try {
    const token = await tokenRequest(config, form, 'The token exchange', options);
    // py-oidc-auth answers its own JWT as refresh_token too, but holds no provider refresh token for it: never refresh with it.
    return { ...token, refresh_token: '', refresh_expires: 0 };
  } catch (error) {
    throw error instanceof AuthError ? exchangeRefused(config, from.issuer, error) : error;
  }
}

/** `POST {host}{deviceRoute}`: a new device code. A server without a device flow gives `unsupported_flow`. */
export async function requestDeviceCode(config: Config, options: RouteOptions = {}): Promise<DeviceCode> {
  const response = await postForm(joinUrl(config.host, config.deviceRoute), undefined, { timeoutMs: config.requestTimeout * 1000, ...options });
  try {
    return parseDeviceCodeResponse(successBody(response, 'The device authorization request'), response.status);
  } catch (error) {
    if (error instanceof AuthError && meansNoDeviceFlow(error)) {
      throw new AuthError('unsupported_flow', `${config.host} offers no device login (HTTP ${error.status}). Use the code flow (flow: "code"), which opens a browser on this machine.`, {
        status: error.status,
        detail: error.detail,
      });
    }
    throw error;
  }
}

/** One device-flow poll (`device-code=...`). Pending, slow_down, denial and expiry arrive as errors with those codes. */
export function pollDeviceToken(config: Config, deviceCode: string, options: RouteOptions = {}): Promise<Token> {
  return tokenRequest(config, { 'device-code': deviceCode }, 'The device login', options);
}

/** Refresh (`refresh-token=...`). */
export function refreshWith(config: Config, refreshToken: string, options: RouteOptions = {}): Promise<Token> {
  return tokenRequest(config, { 'refresh-token': refreshToken }, 'The token refresh', options);
}

/** Exchange the callback's code; the verifier comes from `state`. */
export function exchangeCode(config: Config, params: CallbackParams, redirectUri: string, options: RouteOptions = {}): Promise<Token> {
  const verifier = verifierFromState(params.state);
  if (params.code === undefined || verifier === undefined) {
    return Promise.reject(new AuthError('invalid_response', 'The login callback carried no code or no PKCE verifier in its state. Run the login again.'));
  }
  return tokenRequest(config, { code: params.code, redirect_uri: redirectUri, code_verifier: verifier, grant_type: 'authorization_code' }, 'The code exchange', options);
}

/**
 * `GET {host}{loginRoute}?redirect_uri=...` without following its redirect:
 * the identity provider's URL and the `state` the server put into it (which
 * carries the PKCE verifier). Only a callback with exactly this state is
 * then taken, so no web page can inject a login of its own.
 */
export async function startLogin(config: Config, redirectUri: string, options: RouteOptions & LoginQuery = {}): Promise<{ url: string; state: string }> {
  const route = buildLoginUrl(joinUrl(config.host, config.loginRoute), redirectUri, options);
  const response = await get(route, { timeoutMs: config.requestTimeout * 1000, ...options });
  if (response.status >= 400) successBody(response, `The login route ${route}`); // Throws the server's error as it is.
  return providerRedirect(response.status, response.location, route);
}

/** Which login of a py-oidc-auth server: an account, scopes other than the server's default. */
export interface RouteLogin {
  account?: string | undefined;
  /** Scopes sent to the login route (`scope`); none: the server's default scopes. */
  scope?: readonly string[] | undefined;
  /** A provider login whose access token the server exchanges for its own (RFC 8693). */
  exchangeFrom?: { issuer: string; audience?: string | undefined } | undefined;
}

/** The command that logs in to a py-oidc-auth server, for messages. */
function hostCommand(host: string, login: RouteLogin): string {
  const scope = login.scope && login.scope.length > 0 ? ` --scope ${shellQuote(login.scope.join(' '))}` : '';
  const account = namedAccount(login.account) ? ` --account ${login.account}` : '';
  return `oidc-auth ${host}${account}${scope}`;
}

/** The py-oidc-auth routes of `config.host` as a {@link Backend}. */
export function routesBackend(config: Config, fetch?: typeof globalThis.fetch, login: RouteLogin = {}): Backend {
  const scope = login.scope && login.scope.length > 0 ? [...login.scope] : undefined;
  const key = hostKey(config.host, { account: login.account, scope });
  let pendingState: string | undefined;
  return {
    key,
    command: hostCommand(hostKey(config.host), login),
    requestDeviceCode: (signal) => {
      if (scope) {
        return Promise.reject(new AuthError('unsupported_flow', `py-oidc-auth's device route takes no scope, so a login with the scopes ${scope.join(' ')} goes through the code flow (flow: "code"), which opens a browser on this machine.`));
      }
      return requestDeviceCode(config, { signal, fetch });
    },
    pollDeviceToken: (deviceCode, signal) => pollDeviceToken(config, deviceCode, { signal, fetch }),
    refresh: (refreshToken, _stored, signal) => refreshWith(config, refreshToken, { signal, fetch }),
    callback: { ports: config.redirectPorts, hostname: 'localhost', matches: (params) => callbackMatches(params, pendingState) },
    async loginUrl(redirectUri, signal, options) {
      pendingState = undefined;
      // A second account of this server: py-oidc-auth passes prompt=login on, so the provider asks who logs in instead of reusing the first one's session.
      const started = await startLogin(config, redirectUri, { signal, fetch, scope, prompt: options?.chooseAccount ? 'login' : undefined });
      pendingState = started.state;
      return started.url;
    },
    identify: (token, signal) => userinfo(config, token.access_token, { signal, fetch }),
    ...(login.exchangeFrom ? { exchange: (subjectToken: string, signal: AbortSignal) => exchangeToken(config, subjectToken, login.exchangeFrom!, { signal, fetch }) } : {}),
    exchangeCode(params, redirectUri, signal) {
      pendingState = undefined; // One callback per login: a replay finds no state to match.
      return exchangeCode(config, params, redirectUri, { signal, fetch });
    },
  };
}
