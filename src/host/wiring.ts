// The lifecycle statechart wired to the real adapters: every actor and
// action the machines leave open. One provided machine serves every host;
// each adapter finds its host through the reference the machines hand it in
// its input (a HostPort: no secret, it serialises as `{ host }`).
import { fromCallback, fromPromise } from 'xstate';
import type { CallbackServer } from '../adapters/browser/callback-server.ts';
import { listLogins, putToken, type StoredSummary, type StoreLease } from '../adapters/store/contract.ts';
import { refreshInStore, takeLoginTurn } from '../adapters/store/transactions.ts';
import { debug } from '../debug.ts';
import { AuthError } from '../errors.ts';
import { authMachine } from '../machines/auth.machine.ts';
import { codeFlowMachine, type CallbackServerCommand, type CallbackServerEvent } from '../machines/code-flow.machine.ts';
import { deviceFlowMachine } from '../machines/device-flow.machine.ts';
import { refreshAheadMs } from '../machines/delays.ts';
import { asAuthError, type HostPort } from '../machines/shared.ts';
import { parsePastedCallback } from '../protocol/callback.ts';
import { sameIdentity } from '../protocol/identity.ts';
import { serverOfKey } from '../protocol/store-key.ts';
import { tokenStatus } from '../protocol/token.ts';
import type { HostSettings } from '../servers/backend.ts';
import type { FlowKind, Token } from '../types.ts';
import type { HeldToken } from './held-token.ts';
import { showDeviceCode, showLoginRefused, showLoginUrl, showWaitingForLogin, showWarning, type Presenter } from './presenter.ts';

/** What the wiring needs of its host: where the server and store are now, how to show things, and its held token. */
export interface WiredHost {
  readonly key: string;
  /** Read at each step: a later call may change them between runs. */
  readonly settings: HostSettings;
  /** The presenter of the run in flight. */
  readonly presenter: Presenter;
  /** What the run in flight asked. */
  readonly request?: RunWishes | undefined;
  /** The actor of another login in this process (the provider login an exchange uses). */
  actorOf(settings: HostSettings): { run(options: RunWishes & Presenter & { force: boolean; minValidity?: number | undefined; signal?: AbortSignal | undefined }): Promise<Token> };
  readonly tokens: HeldToken;
  /** Keep this login's turn until the login ends. */
  holdLoginTurn(lease: StoreLease | undefined): void;
  releaseLoginTurn(): void;
}

/** The wishes of a run that another login (the one an exchange uses) runs with too. */
export interface RunWishes {
  flow: FlowKind;
  interactive: boolean;
  whyNotInteractive: string;
  timeout: number;
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
      // With another account of this server stored, the provider is asked to let the person choose, not to reuse that session.
      const chooseAccount = await otherAccounts(host).then((others) => others.length > 0, () => false);
      const renew = backend.renewLoginUrl?.bind(backend);
      started.setLoginTarget(await backend.loginUrl(started.redirectUri, abort.signal, { chooseAccount }), renew ? () => renew(abort.signal) : undefined);
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

/** The other accounts of this host's server stored in its store, with who they are. */
async function otherAccounts(host: WiredHost): Promise<StoredSummary[]> {
  const server = serverOfKey(host.key);
  return (await listLogins(host.settings.store)).filter((login) => login.host !== host.key && login.server === server);
}

/** Who a fresh login belongs to: what its token says, else what the server answers (undefined when it cannot tell). */
async function identified(host: WiredHost, token: Token, signal: AbortSignal): Promise<Token> {
  if (token.who || !host.settings.backend.identify) return token;
  const who = await host.settings.backend.identify(token, signal).catch(() => undefined);
  return who ? { ...token, who } : token;
}

/** Tell the person when the login that came back is one another account of this server already holds. */
async function warnIfSamePerson(host: WiredHost, token: Token): Promise<void> {
  if (!token.who) return;
  const same = (await otherAccounts(host).catch(() => [])).filter((login) => sameIdentity(login.who, token.who));
  if (same.length === 0) return;
  showWarning(host.presenter, `This login (${token.who.name}) is the same person as the account${same.length > 1 ? 's' : ''} ${same.map((login) => `"${login.account}"`).join(', ')} of ${serverOfKey(host.key)}. ` +
    'If you meant another identity, log out at the provider in the browser (or use a private window) and log in again with --force.');
}

const saveToken = fromPromise<void, { token: Token; port?: HostPort | undefined }>(async ({ input }) => {
  const host = hostOf(input.port);
  const version = await putToken(host.settings.store, host.key, input.token);
  host.tokens.obtained(input.token, version);
  await warnIfSamePerson(host, input.token);
});

/** The provider login's access token, exchanged at the server for its own token, and stored. */
const exchangeToken = fromPromise<Token, { host: string; minValidity: number; port?: HostPort | undefined }>(async ({ input, signal }) => {
  const host = hostOf(input.port);
  const { backend, store, exchangeFrom } = host.settings;
  if (!exchangeFrom || !backend.exchange) throw new AuthError('unexpected', `${host.key} has no provider login to exchange a token of.`);
  const wishes = host.request;
  // The provider login runs as its own host would: its cached token, a refresh, or (where a person is there) a login.
  const provider = host.actorOf(exchangeFrom).run({
    force: false,
    flow: wishes?.flow ?? 'auto',
    interactive: wishes?.interactive ?? false,
    whyNotInteractive: wishes?.whyNotInteractive ?? 'not interactive',
    timeout: wishes?.timeout ?? 600,
    minValidity: input.minValidity,
    ...host.presenter,
    signal,
  });
  const subject = await provider;
  debug(() => `${host.key}: exchanging the access token of ${exchangeFrom.backend.key} (valid ${Math.round(subject.expires - Date.now() / 1000)} s more)`);
  const exchanged = await backend.exchange(subject.access_token, signal);
  const token = subject.who && !exchanged.who ? { ...exchanged, who: subject.who } : exchanged;
  const version = await putToken(store, host.key, token);
  host.tokens.obtained(token, version);
  return token;
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
      // A background refresh: any stored token with more left than the one held is taken as it is.
      const minValidity = input.aheadOf === undefined ? input.minValidity : Math.max(60, Math.ceil(input.aheadOf - Date.now() / 1000) + 1);
      const refreshed = await refreshInStore(store, host.key, (refreshToken, stored, abort) => backend.refresh(refreshToken, stored, abort), { explicit: input.refreshToken, minValidity, signal });
      if (refreshed.fresh) host.tokens.obtained(refreshed.token, refreshed.version);
      else host.tokens.read(refreshed.token, refreshed.version);
      return refreshed.token;
    }),
    exchangeToken,
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
        pollToken: fromPromise(async ({ input, signal }) => {
          const host = hostOf(input.port);
          return identified(host, await host.settings.backend.pollDeviceToken(input.deviceCode, signal), signal);
        }),
        saveToken,
      },
    }),
    codeFlow: codeFlowMachine.provide({
      actors: {
        callbackServer,
        exchangeCode: fromPromise(async ({ input, signal }) => {
          const host = hostOf(input.port);
          return identified(host, await host.settings.backend.exchangeCode(input.params, input.redirectUri, signal), signal);
        }),
        saveToken,
      },
    }),
  },
  delays: {
    refreshAhead: ({ context }) => refreshAheadMs(context.token?.expires ?? 0, context.freshFailures ?? 0, Date.now() / 1000, Math.random()),
  },
  actions: {
    releaseLoginTurn: ({ context }) => hostOf(context.port).releaseLoginTurn(),
    showDeviceCode: ({ context }, params) => showDeviceCode(hostOf(context.port).presenter, params.code),
    showLoginUrl: ({ context }, params) => showLoginUrl(hostOf(context.port).presenter, params.url, params.redirectUri),
  },
});
