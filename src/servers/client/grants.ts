// The grants of Client that are more than one request: the whole browser
// login on a loopback receiver, the device flow's request and polling, and a
// refresh with oauth2cli's callbacks. Client's methods call these.
import { setTimeout as sleep } from 'node:timers/promises';
import { AuthError } from '../../errors.ts';
import { parseDeviceCodeResponse } from '../../protocol/device.ts';
import { isRetriable } from '../../protocol/error-response.ts';
import { scopeList, type AuthCodeFlow, type TokenResponse } from '../../protocol/oauth.ts';
import { DEVICE_FLOW, refreshTokenIsDead, type BrowserLoginOptions, type ClientOptions, type DeviceFlowPending, type DeviceFlowState, type RefreshOptions } from './options.ts';
import type { ClientTransport } from './transport.ts';

/** What these grants use of a Client: its options and its single-request grants. */
export interface GrantClient {
  readonly options: ClientOptions;
  initiateAuthCodeFlow(options: { redirectUri: string; scope?: string | string[]; prompt?: string; loginHint?: string; maxAge?: number }): AuthCodeFlow;
  obtainTokenByAuthCodeFlow(flow: AuthCodeFlow, authResponse: Record<string, string | undefined>, options: { signal?: AbortSignal }): Promise<TokenResponse>;
  obtainToken(grantType: string, fields: Record<string, string | undefined>, options: { scope?: string | string[] | undefined; signal?: AbortSignal | undefined; keepRtInEvent?: boolean }): Promise<TokenResponse>;
  readonly pushesAuthorizationRequests: boolean;
  pushAuthorizationRequest(authUri: string, options: { signal?: AbortSignal }): Promise<{ url: string; expiresIn: number }>;
}

/**
 * A pushed authorization request (PAR) for `authUri`'s parameters: its URL
 * now, and a renewal that pushes again once the provider has forgotten it
 * (a request_uri lives a minute or so; the person may open the login later).
 */
export async function pushedLogin(client: Pick<GrantClient, 'pushAuthorizationRequest'>, authUri: string, signal?: AbortSignal): Promise<{ readonly url: string; renew(): Promise<string> }> {
  let url = '';
  let until = 0;
  const push = async () => {
    const pushed = await client.pushAuthorizationRequest(authUri, { signal });
    // Renewed a little before it expires: the browser still has to get there.
    until = Date.now() + Math.max(0, pushed.expiresIn - 5) * 1000;
    return (url = pushed.url);
  };
  await push();
  return { get url() { return url; }, renew: async () => (Date.now() < until ? url : push()) };
}

/** `Client.obtainTokenByBrowser`. */
export async function obtainTokenByBrowser(client: GrantClient, options: BrowserLoginOptions = {}): Promise<TokenResponse> {
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
    flow = client.initiateAuthCodeFlow({ ...options, redirectUri: options.redirectUri ?? server.redirectUri });
    // PAR: the browser gets only client_id and request_uri.
    const pushed = client.pushesAuthorizationRequests ? await pushedLogin(client, flow.authUri, options.signal) : undefined;
    const authUri = pushed?.url ?? flow.authUri;
    server.setLoginTarget(authUri, pushed?.renew);
    const printUrl = () => void process.stderr.write(`To log in, open this URL in a browser:\n  ${server.startUrl}\n`);
    // Not awaited: the browser's page only completes once the callback is answered.
    if (opener === false) printUrl();
    else if (opener) void Promise.resolve().then(() => opener(authUri)).catch(printUrl);
    else void import('../../adapters/browser/open.ts').then((browser) => browser.openInBrowser(server.startUrl)).catch(printUrl);
    const params = await raceTimeout(callback, (options.timeout ?? 600) * 1000, options.signal);
    try {
      const tokens = await client.obtainTokenByAuthCodeFlow(flow, params, { signal: options.signal });
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

/** `Client.initiateDeviceFlow`. */
export async function initiateDeviceFlow(transport: ClientTransport, options: { scope?: string | string[]; signal?: AbortSignal } = {}): Promise<DeviceFlowState> {
  const scope = scopeList(options.scope);
  const { body, status } = await transport.post(transport.endpoint('device_authorization_endpoint'), scope.length ? { scope: scope.join(' ') } : {}, 'The device authorization request', options.signal);
  const code = parseDeviceCodeResponse(body, status);
  return { ...code, expires_at: Date.now() / 1000 + code.expires_in, scope };
}

/** `Client.obtainTokenByDeviceFlow`. */
export async function obtainTokenByDeviceFlow(client: GrantClient, flow: DeviceFlowState, options: { exitCondition?: (flow: DeviceFlowState) => boolean; signal?: AbortSignal } = {}): Promise<TokenResponse | DeviceFlowPending> {
  const exit = options.exitCondition ?? ((state: DeviceFlowState) => state.expires_at < Date.now() / 1000);
  for (;;) {
    try {
      return await client.obtainToken(DEVICE_FLOW.GRANT_TYPE, { device_code: flow.device_code }, { signal: options.signal });
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

/** `Client.obtainTokenByRefreshToken`. */
export async function obtainTokenByRefreshToken(client: GrantClient, tokenItem: unknown, options: RefreshOptions = {}): Promise<TokenResponse> {
  const rtGetter = options.rtGetter ?? ((item: unknown) => (typeof item === 'string' ? item : (item as { refresh_token: string }).refresh_token));
  const onUpdatingRt = options.onUpdatingRt === undefined ? client.options.onUpdatingRt : options.onUpdatingRt;
  try {
    const response = await client.obtainToken('refresh_token', { refresh_token: rtGetter(tokenItem) }, { scope: options.scope, signal: options.signal, keepRtInEvent: onUpdatingRt === false || onUpdatingRt === undefined });
    if (response.refresh_token !== undefined && onUpdatingRt) await onUpdatingRt(tokenItem, response.refresh_token);
    return response;
  } catch (error) {
    if (error instanceof AuthError && refreshTokenIsDead(error)) await (options.onRemovingRt ?? client.options.onRemovingRt)?.(tokenItem);
    throw error;
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


