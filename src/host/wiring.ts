// The lifecycle statechart wired to the real adapters for one host: every
// actor and action the machines leave open, as closures over that host.
// Only references travel through the machines' inputs, never secrets the
// inspector could see (a refresh token is read from the store here).
import { fromCallback, fromPromise } from 'xstate';
import type { CallbackServer } from '../adapters/browser/callback-server.ts';
import { putToken, type StoreLease } from '../adapters/store/contract.ts';
import { refreshInStore, takeLoginTurn } from '../adapters/store/transactions.ts';
import { debug } from '../debug.ts';
import { authMachine } from '../machines/auth.machine.ts';
import { codeFlowMachine, type CallbackServerCommand, type CallbackServerEvent } from '../machines/code-flow.machine.ts';
import { deviceFlowMachine } from '../machines/device-flow.machine.ts';
import { asAuthError } from '../machines/shared.ts';
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

/** The loopback callback server as an actor: it starts, serves the login address, takes a pasted address too, answers the browser, and closes. */
function callbackServerActor(host: WiredHost) {
  return fromCallback<CallbackServerCommand>(({ sendBack: send, receive }) => {
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
}

/** The lifecycle machine for `host`, with its adapters provided. */
export function wiredMachine(host: WiredHost) {
  const saveToken = fromPromise<void, { token: Token }>(async ({ input }) => {
    const version = await putToken(host.settings.store, host.key, input.token);
    host.tokens.obtained(input.token, version);
  });
  return authMachine.provide({
    actors: {
      loadToken: fromPromise(async ({ input }) => {
        const { store } = host.settings;
        const { token, version } = await store.read(host.key);
        host.tokens.read(token, version);
        const status = tokenStatus(token, undefined, input.minValidity);
        debug(() => `${host.key}: stored token in ${store.id}: ${token ? `${status}, access token valid ${Math.round(token.expires - Date.now() / 1000)} s more (needed: ${Math.max(60, input.minValidity)} s)` : 'none'}`);
        return { token, status };
      }),
      refreshToken: fromPromise(async ({ input, signal }) => {
        const { backend, store } = host.settings;
        const refreshed = await refreshInStore(store, host.key, (refreshToken, stored, abort) => backend.refresh(refreshToken, stored, abort), { explicit: input.refreshToken, minValidity: input.minValidity, signal });
        if (refreshed.fresh) host.tokens.obtained(refreshed.token, refreshed.version);
        else host.tokens.read(refreshed.token, refreshed.version);
        return refreshed.token;
      }),
      loginTurn: fromPromise(async ({ input, signal }) => {
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
          requestDeviceCode: fromPromise(({ signal }) => host.settings.backend.requestDeviceCode(signal)),
          pollToken: fromPromise(({ input, signal }) => host.settings.backend.pollDeviceToken(input.deviceCode, signal)),
          saveToken,
        },
      }),
      codeFlow: codeFlowMachine.provide({
        actors: {
          callbackServer: callbackServerActor(host),
          exchangeCode: fromPromise(({ input, signal }) => host.settings.backend.exchangeCode(input.params, input.redirectUri, signal)),
          saveToken,
        },
      }),
    },
    actions: {
      releaseLoginTurn: () => host.releaseLoginTurn(),
      showDeviceCode: (_, params) => showDeviceCode(host.presenter, params.code),
      showLoginUrl: (_, params) => showLoginUrl(host.presenter, params.url, params.redirectUri),
    },
  });
}
