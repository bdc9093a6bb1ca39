import { AuthError } from '../errors.ts';
import type { Backend } from './backend.ts';
import { buildLoginUrl, callbackMatches, providerRedirect, verifierFromState, type CallbackParams } from '../protocol/callback.ts';
import { parseDeviceCodeResponse } from '../protocol/device.ts';
import { meansNoDeviceFlow, successBody } from '../protocol/error-response.ts';
import { joinUrl, normalizeHost } from '../protocol/host.ts';
import { secretValues } from '../errors.ts';
import { parseTokenResponse } from '../protocol/token.ts';
import type { Config, DeviceCode, Token } from '../types.ts';
import { get, postForm } from '../adapters/http/http.ts';

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
export async function startLogin(config: Config, redirectUri: string, options: RouteOptions = {}): Promise<{ url: string; state: string }> {
  const route = buildLoginUrl(joinUrl(config.host, config.loginRoute), redirectUri);
  const response = await get(route, { timeoutMs: config.requestTimeout * 1000, ...options });
  if (response.status >= 400) successBody(response, `The login route ${route}`); // Throws the server's error as it is.
  return providerRedirect(response.status, response.location, route);
}

/** The py-oidc-auth routes of `config.host` as a {@link Backend}. */
export function routesBackend(config: Config, fetch?: typeof globalThis.fetch): Backend {
  const key = normalizeHost(config.host);
  let pendingState: string | undefined;
  return {
    key,
    command: `oidc-auth ${key}`,
    requestDeviceCode: (signal) => requestDeviceCode(config, { signal, fetch }),
    pollDeviceToken: (deviceCode, signal) => pollDeviceToken(config, deviceCode, { signal, fetch }),
    refresh: (refreshToken, _stored, signal) => refreshWith(config, refreshToken, { signal, fetch }),
    callback: { ports: config.redirectPorts, hostname: 'localhost', matches: (params) => callbackMatches(params, pendingState) },
    async loginUrl(redirectUri, signal) {
      pendingState = undefined;
      const login = await startLogin(config, redirectUri, { signal, fetch });
      pendingState = login.state;
      return login.url;
    },
    exchangeCode(params, redirectUri, signal) {
      pendingState = undefined; // One callback per login: a replay finds no state to match.
      return exchangeCode(config, params, redirectUri, { signal, fetch });
    },
  };
}
