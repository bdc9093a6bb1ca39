import { assign, fromCallback, fromPromise, sendParent, sendTo, setup } from 'xstate';
import { AuthError } from '../errors.ts';
import type { CallbackParams } from '../protocol/callback.ts';
import type { Token } from '../types.ts';
import { asAuthError, notProvided, type HostPort } from './shared.ts';

/** What the code flow ends with. */
export type CodeFlowOutput = {
    /** The login worked. */
    ok: true;
    /** The token it gave. Secret. */
    token: Token;
  } | {
    /** The login failed. */
    ok: false;
    /** Why. */
    error: AuthError;
  };

/** Events the loopback callback server sends to the flow. */
export type CallbackServerEvent =
  | { type: 'server.listening'; redirectUri: string; loginUrl: string }
  | { type: 'server.callback'; params: CallbackParams }
  | { type: 'server.responded' }
  | { type: 'server.error'; error: AuthError };

/** Events the flow sends to the callback server: the page the browser gets. */
export type CallbackServerCommand = {
  /** Answer the browser's held callback request. */
  type: 'respond';
  /** Whether the page says the login worked. */
  ok: boolean;
  /** What the page says. */
  message: string;
};

/** Context of the code flow: where the callback goes and what it brought. */
export interface CodeFlowContext {
  /** The loopback redirect URI, once the callback server listens. */
  redirectUri: string | undefined;
  /** The loopback login address the browser opens, once the callback server listens. */
  loginUrl: string | undefined;
  /** What the callback brought (the code is a secret). */
  params: CallbackParams | undefined;
  /** The token, once the code was exchanged. Secret. */
  token: Token | undefined;
  /** Why the login failed. */
  error: AuthError | undefined;
  /** The host's reference for its adapters, handed to every invoked actor. */
  port?: HostPort | undefined;
}

/** Input of the code flow. */
export interface CodeFlowInput {
  /** The host's reference for its adapters, handed to every invoked actor. */
  port?: HostPort | undefined;
}

/** How long the browser's callback request may wait for its answer page once the flow is over. */
const RESPOND_GRACE_MS = 2000;

/**
 * Authorization code + PKCE through the application server's login route:
 * serve a loopback callback, show and open the login URL, take the code from
 * the callback, exchange it, save the token, and only then tell the browser
 * that the login worked.
 */
export const codeFlowMachine = setup({
  types: {
    context: {} as CodeFlowContext,
    input: {} as CodeFlowInput,
    events: {} as CallbackServerEvent,
    output: {} as CodeFlowOutput,
  },
  actors: {
    callbackServer: fromCallback<CallbackServerCommand, { port?: HostPort | undefined }>(() => {
      throw new AuthError('unexpected', 'The actor "callbackServer" was not provided; wire it in with machine.provide().');
    }),
    exchangeCode: fromPromise<Token, { params: CallbackParams; redirectUri: string; port?: HostPort | undefined }>(notProvided('exchangeCode')),
    saveToken: fromPromise<void, { token: Token; port?: HostPort | undefined }>(notProvided('saveToken')),
  },
  actions: {
    announce: sendParent(({ context }) => ({ type: 'code.url', url: context.loginUrl as string, redirectUri: context.redirectUri as string })),
    reportSuccess: sendTo('server', { type: 'respond', ok: true, message: 'Login successful. You can close this tab and return to the terminal.' }),
    reportFailure: sendTo('server', ({ context }) => ({
      type: 'respond',
      ok: false,
      message: `Login failed: ${context.error?.message ?? 'unknown error'}`,
    })),
  },
  guards: {
    deniedOrFailed: ({ event }) => event.type === 'server.callback' && event.params.error !== undefined,
  },
}).createMachine({
  id: 'codeFlow',
  context: ({ input }) => ({ redirectUri: undefined, loginUrl: undefined, params: undefined, token: undefined, error: undefined, port: input.port }),
  invoke: { id: 'server', src: 'callbackServer', input: ({ context }) => ({ port: context.port }) },
  initial: 'listening',
  states: {
    listening: {
      on: {
        'server.listening': {
          target: 'awaitingCallback',
          actions: [assign({ redirectUri: ({ event }) => event.redirectUri, loginUrl: ({ event }) => event.loginUrl }), 'announce'],
        },
        'server.error': { target: 'failed', actions: assign({ error: ({ event }) => event.error }) },
      },
    },
    awaitingCallback: {
      on: {
        'server.callback': [
          {
            guard: 'deniedOrFailed',
            target: 'reportingFailure',
            actions: assign({
              error: ({ event }) => {
                const { error, error_description: description } = event.params;
                const code = error ?? 'access_denied';
                const why = description ? ` (${description})` : '';
                return new AuthError(code, `The identity provider ended the login with ${code}${why}. Run the login again and approve the request.`);
              },
            }),
          },
          { target: 'exchanging', actions: assign({ params: ({ event }) => event.params }) },
        ],
      },
    },
    exchanging: {
      invoke: {
        src: 'exchangeCode',
        input: ({ context }) => ({ params: context.params as CallbackParams, redirectUri: context.redirectUri as string, port: context.port }),
        onDone: { target: 'saving', actions: assign({ token: ({ event }) => event.output }) },
        onError: { target: 'reportingFailure', actions: assign({ error: ({ event }) => asAuthError(event.error) }) },
      },
    },
    saving: {
      invoke: {
        src: 'saveToken',
        input: ({ context }) => ({ token: context.token as Token, port: context.port }),
        onDone: 'reportingSuccess',
        onError: { target: 'reportingFailure', actions: assign({ error: ({ event }) => asAuthError(event.error) }) },
      },
    },
    reportingSuccess: {
      entry: 'reportSuccess',
      on: { 'server.responded': 'done' },
      after: { [RESPOND_GRACE_MS]: 'done' },
    },
    reportingFailure: {
      entry: 'reportFailure',
      on: { 'server.responded': 'failed' },
      after: { [RESPOND_GRACE_MS]: 'failed' },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) =>
    context.token !== undefined && context.error === undefined
      ? { ok: true, token: context.token }
      : { ok: false, error: context.error ?? new AuthError('unexpected', 'The code flow ended without a token.') },
});
