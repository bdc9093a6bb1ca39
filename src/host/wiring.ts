// The lifecycle statechart wired to the real adapters: every actor and
// action the machines leave open. One provided machine serves every host;
// each adapter finds its host through the reference the machines hand it in
// its input (a HostPort: no secret, it serialises as `{ host }`).
import { fromCallback, fromPromise } from 'xstate';
import type { CallbackServer } from '../adapters/browser/callback-server.ts';
import { putToken, type StoreLease } from '../adapters/store/contract.ts';
import { refreshInStore, takeLoginTurn } from '../adapters/store/transactions.ts';
import { debug } from '../debug.ts';
import { AuthError } from '../errors.ts';
import { authMachine } from '../machines/auth.machine.ts';
import { codeFlowMachine, type CallbackServerCommand, type CallbackServerEvent } from '../machines/code-flow.machine.ts';
import { deviceFlowMachine } from '../machines/device-flow.machine.ts';
import { asAuthError, type HostPort } from '../machines/shared.ts';
import { parsePastedCallback } from '../protocol/callback.ts';
import { tokenStatus } from '../protocol/token.ts';
import type { HostSettings } from '../servers/backend.ts';
import type { Token } from '../types.ts';
import type { HeldToken } from './held-token.ts';
import { showDeviceCode, showLoginRefused, showLoginUrl, showWaitingForLogin, type Presenter } from './presenter.ts';

/** What the wiring needs of its host: where the server and store are now, how to show things, and its held token. */
export interface WiredHost {
  readonly key: string;
  /** Read at each step: a later call may change them between runs. */
  readonly settings: HostSettings;
  /** The presenter of the run in flight. */
  readonly presenter: Presenter;
  readonly tokens: HeldToken;
  /** Keep this login's turn until the login ends. */
  holdLoginTurn(lease: StoreLease | undefined): void;
  releaseLoginTurn(): void;
}

/** Where a port keeps its host: not enumerable, so no copy, log or inspector sees it. */
const HOST = Symbol('host');

/** The reference a host hands its machine (in the input): `{ host }`, with the host itself hidden behind a symbol. */
export function hostPort(host: WiredHost): HostPort {
  return Object.freeze(Object.defineProperty({ host: host.key }, HOST, { value: host, enumerable: false }));
}

/** The host behind a port the machines passed down. */
function hostOf(port: HostPort | undefined): WiredHost {
  const host = (port as { [HOST]?: WiredHost } | undefined)?.[HOST];
  if (!host) throw new AuthError('unexpected', 'An adapter ran without its host (the machine was started without a HostPort in its input).');
  return host;
}

/** The loopback callback server as an actor: it starts, serves the login address, takes a pasted address too, answers the browser, and closes. */
const callbackServer = fromCallback<CallbackServerCommand, { port?: HostPort | undefined }>(({ sendBack: send, receive, input }) => {
  const host = hostOf(input.port);
  const { backend } = host.settings;
  const presenter = host.presenter;
  const sendBack = (event: CallbackServerEvent) => send(event);
  let server: CallbackServer | undefined;
  let stopped = false;
  const abort = new AbortController();
  // node:http loads here, on the first code-flow login, not at import.
  import('../adapters/browser/callback-server.ts').then(({ startCallbackServer }) => startCallbackServer({
    ...backend.callback,
    onCallback: (params) => sendBack({ type: 'server.callback', params }),
    onRefused: (message) => showLoginRefused(presenter, message),
  })).then(
    async (started) => {
      if (stopped) return void started.close();
      server = started;
      // The provider URL carries the state: it stays in the server, and the person opens the loopback login address.
      started.setLoginTarget(await backend.loginUrl(started.redirectUri, abort.signal));
      if (stopped) return;
      sendBack({ type: 'server.listening', redirectUri: started.redirectUri, loginUrl: started.startUrl });
      // No browser on this machine: the address the browser ended on may be pasted instead, with the same state check.
      const read = presenter.readPastedUrl;
      while (read && !stopped) {
        const params = parsePastedCallback(await read(abort.signal));
        if (stopped) return;
        if (params && backend.callback.matches(params, started.redirectUri)) return void sendBack({ type: 'server.callback', params });
        presenter.onPasteRefused?.('That address does not belong to this login (it carries no code, or another login\'s state). Paste the whole address the browser shows after you logged in.');
      }
    },
  ).catch((error: unknown) => {
    if (!stopped) sendBack({ type: 'server.error', error: asAuthError(error) });
  });
  receive((command) => {
    void server?.respond(command.ok, command.message).then(() => {
      if (!stopped) sendBack({ type: 'server.responded' });
    });
  });
  return () => {
    stopped = true;
    abort.abort();
    void server?.close();
  };
});

const saveToken = fromPromise<void, { token: Token; port?: HostPort | undefined }>(async ({ input }) => {
  const host = hostOf(input.port);
  const version = await putToken(host.settings.store, host.key, input.token);
  host.tokens.obtained(input.token, version);
});

/** The lifecycle machine with its adapters provided: one for every host (each actor's input names its host). */
export const wiredMachine = authMachine.provide({
  actors: {
    loadToken: fromPromise(async ({ input }) => {
      const host = hostOf(input.port);
      const { store } = host.settings;
      const { token, version } = await store.read(host.key);
      host.tokens.read(token, version);
      const status = tokenStatus(token, undefined, input.minValidity);
      debug(() => `${host.key}: stored token in ${store.id}: ${token ? `${status}, access token valid ${Math.round(token.expires - Date.now() / 1000)} s more (needed: ${Math.max(60, input.minValidity)} s)` : 'none'}`);
      return { token, status };
    }),
    refreshToken: fromPromise(async ({ input, signal }) => {
      const host = hostOf(input.port);
      const { backend, store } = host.settings;
      const refreshed = await refreshInStore(store, host.key, (refreshToken, stored, abort) => backend.refresh(refreshToken, stored, abort), { explicit: input.refreshToken, minValidity: input.minValidity, signal });
      if (refreshed.fresh) host.tokens.obtained(refreshed.token, refreshed.version);
      else host.tokens.read(refreshed.token, refreshed.version);
      return refreshed.token;
    }),
    loginTurn: fromPromise(async ({ input, signal }) => {
      const host = hostOf(input.port);
      const turn = await takeLoginTurn(host.settings.store, host.key, { ...input, signal, onWait: (holder) => showWaitingForLogin(host.presenter, holder) });
      if (turn.token) {
        host.tokens.read(turn.token, turn.version);
        return { token: turn.token };
      }
      host.holdLoginTurn(turn.lease);
      return {};
    }),
    deviceFlow: deviceFlowMachine.provide({
      actors: {
        requestDeviceCode: fromPromise(({ input, signal }) => hostOf(input.port).settings.backend.requestDeviceCode(signal)),
        pollToken: fromPromise(({ input, signal }) => hostOf(input.port).settings.backend.pollDeviceToken(input.deviceCode, signal)),
        saveToken,
      },
    }),
    codeFlow: codeFlowMachine.provide({
      actors: {
        callbackServer,
        exchangeCode: fromPromise(({ input, signal }) => hostOf(input.port).settings.backend.exchangeCode(input.params, input.redirectUri, signal)),
        saveToken,
      },
    }),
  },
  actions: {
    releaseLoginTurn: ({ context }) => hostOf(context.port).releaseLoginTurn(),
    showDeviceCode: ({ context }, params) => showDeviceCode(hostOf(context.port).presenter, params.code),
    showLoginUrl: ({ context }, params) => showLoginUrl(hostOf(context.port).presenter, params.url, params.redirectUri),
  },
});
