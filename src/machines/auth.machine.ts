import { assign, fromPromise, setup } from 'xstate';
import { AuthError } from '../errors.ts';
import type { PublicDeviceCode } from '../protocol/device.ts';
import { publicDeviceCode } from '../protocol/device.ts';
import type { TokenStatus } from '../protocol/token.ts';
import type { DeviceCode, FlowKind, Token } from '../types.ts';
import { codeFlowMachine } from './code-flow.machine.ts';
import { refreshAheadMs, seconds } from './delays.ts';
import { deviceFlowMachine } from './device-flow.machine.ts';
import { asAuthError, notProvided, type HostPort } from './shared.ts';

/** One run of the lifecycle, as the caller asked for it. */
export interface AuthRequest {
  /** What started the run. */
  mode: 'authenticate' | 'refresh' | 'poll';
  /** Skip the cached token and refresh token: log in again. */
  force: boolean;
  /** Which interactive login to run when one is needed: `device`, `code` or `auto`. */
  flow: FlowKind;
  /** Whether a person can take part (already decided by the caller). */
  interactive: boolean;
  /** Why no person can take part, for the `login_required` message. */
  whyNotInteractive: string;
  /** Seconds a person has to finish an interactive login. */
  timeout: number;
  /** Seconds the token must stay valid; less left means refresh (at least 60). */
  minValidity?: number | undefined;
  /** `refresh` mode: the refresh token to use. */
  refreshToken?: string | undefined;
  /** `poll` mode: the device code to poll with. */
  deviceCode?: DeviceCode | undefined;
  /** The server's token comes from an RFC 8693 exchange of another login's token (`exchangeFrom`), never from a login of its own. */
  exchanges?: boolean | undefined;
  /** Refresh in the background ahead of expiry, for as long as the actor lives (`keepFresh`). */
  keepFresh?: boolean | undefined;
}

/** The cached token and where it stands, as the store adapter reads it. */
export interface CachedToken {
  /** The stored token, if there is one. */
  token: Token | undefined;
  /** Whether it is valid, needs a refresh, or is missing. */
  status: TokenStatus;
}

/** Context of a host's actor. Holds no functions; `token` is redacted before anyone outside sees it. */
export interface AuthContext {
  /** The store key this actor is for. */
  host: string;
  /** The command that logs in where a person can (for the `login_required` message). */
  command: string;
  /** Why the last refresh failed, when a login follows it (told in `login_required`). */
  refreshError?: AuthError | undefined;
  /** Counts the runs started on this actor. */
  run: number;
  /** The run in progress, or the last one. */
  request: AuthRequest | undefined;
  /** The token once authenticated. Secret: redacted in every view and in the inspector. */
  token: Token | undefined;
  /** Why the run failed. */
  error: AuthError | undefined;
  /** While the device flow waits: the code to show, without the device code itself. */
  deviceCode: PublicDeviceCode | undefined;
  /** While the code flow waits: the loopback login address to show. */
  loginUrl: string | undefined;
  /** The code flow's loopback redirect URI (to name it when the login times out). */
  redirectUri?: string | undefined;
  /** Seconds ticked while the person is asked to act (the device code or the login URL shown): one new snapshot a second, for countdowns. */
  ticks: number;
  /** The host's reference for its adapters, handed to every invoked actor. */
  port?: HostPort | undefined;
  /** Background refreshes that failed in a row (`keepFresh`): the next try waits longer. */
  freshFailures?: number | undefined;
  /** Why the last background refresh failed, shown in the view until one succeeds. */
  freshError?: AuthError | undefined;
}

/** Events a host's actor accepts. */
export type AuthEvent =
  | {
    /** Start a run (or join the one in flight). */
    type: 'AUTHENTICATE';
    /** What the caller asked for. */
    request: AuthRequest;
  }
  | {
    /** End a login in progress with `cancelled`. */
    type: 'CANCEL';
    /** The message of the `cancelled` error. */
    reason?: string;
  }
  | {
    /** The device flow has a code to show. */
    type: 'device.code';
    /** The device authorization answer (its device code stays out of the context). */
    code: DeviceCode;
  }
  | {
    /** The code flow is listening and has a login address to show. */
    type: 'code.url';
    /** The loopback login address. */
    url: string;
    /** The redirect URI the provider must accept. */
    redirectUri: string;
  };

/** Input: the normalised host this actor is for. */
export interface AuthInput {
  /** The store key this actor is for. */
  host: string;
  /** The CLI command that logs in to this server. @default `oidc-auth <host>` */
  command?: string | undefined;
  /** The host's reference for its adapters (opaque here), handed to every invoked actor. */
  port?: HostPort | undefined;
}

function loginRequired(host: string, command: string, why: string, refreshError?: AuthError): AuthError {
  const refresh = refreshError ? ` Refreshing the stored token failed first (${refreshError.code}: ${refreshError.message})` : '';
  return new AuthError(
    'login_required',
    `No valid token for ${host}, and no interactive login is possible here (${why}).${refresh} ` +
      `Log in where a person can: run \`${command}\` in a terminal; for a batch job, save the token there with ` +
      `\`${command} --json > token.json\`, copy it here and set OIDC_TOKEN_FILE=/path/to/token.json.`,
    { cause: refreshError, status: refreshError?.status },
  );
}

function cancelled(reason?: string): AuthError {
  return new AuthError('cancelled', reason ?? 'The login was cancelled.');
}

function timedOut(context: AuthContext): AuthError {
  const timeout = context.request?.timeout ?? 0;
  // A provider that refuses the redirect URI shows the person an error page and never calls back: the likely cause of a silent wait.
  const redirect = context.redirectUri
    ? ` If the browser showed an error about the redirect URI, the provider does not accept ${context.redirectUri}: register exactly that URI there, or pass a registered port (redirectPorts, -p).`
    : '';
  return new AuthError('timeout', `The login was not finished within ${timeout} s.${redirect} Run it again, or allow more time with the timeout option (--timeout).`);
}

/**
 * The token lifecycle of one host: cached -> refreshing -> device-polling /
 * code-awaiting-callback -> authenticated / failed; a server whose token
 * comes from another login goes cached -> exchanging instead. One actor per host and
 * process; callers that arrive while a run is in flight share it.
 */
export const authMachine = setup({
  types: {
    context: {} as AuthContext,
    events: {} as AuthEvent,
    input: {} as AuthInput,
  },
  actors: {
    loadToken: fromPromise<CachedToken, { host: string; minValidity: number; port?: HostPort | undefined }>(notProvided('loadToken')),
    // aheadOf: a background refresh of the token that expires then (a token stored since with more left is taken instead).
    refreshToken: fromPromise<Token, { host: string; refreshToken?: string | undefined; minValidity: number; aheadOf?: number | undefined; port?: HostPort | undefined }>(notProvided('refreshToken')),
    // Without a shared store there is nobody to wait for: go at once.
    loginTurn: fromPromise<{ token?: Token | undefined }, { host: string; timeout: number; minValidity: number; force: boolean; port?: HostPort | undefined }>(async () => ({})),
    deviceFlow: deviceFlowMachine,
    codeFlow: codeFlowMachine,
    // The provider login's access token (refreshed or logged in as needed) exchanged at the server for its own token.
    exchangeToken: fromPromise<Token, { host: string; minValidity: number; port?: HostPort | undefined }>(notProvided('exchangeToken')),
  },
  actions: {
    startRun: assign(({ context, event }) =>
      event.type === 'AUTHENTICATE'
        ? { request: event.request, run: context.run + 1, error: undefined, token: undefined, deviceCode: undefined, loginUrl: undefined, redirectUri: undefined, refreshError: undefined, freshFailures: 0, freshError: undefined }
        : {},
    ),
    tick: assign({ ticks: ({ context }) => context.ticks + 1 }),
    freshOk: assign({ freshFailures: 0, freshError: undefined }),
    // Let another process log in (provided by the adapters that took the turn).
    releaseLoginTurn: () => {},
    // Presentation is injected: the machine only says when the person must act.
    showDeviceCode: (_, _params: { code: DeviceCode }) => {},
    showLoginUrl: (_, _params: { url: string; redirectUri: string }) => {},
  },
  guards: {
    forced: ({ context }) => context.request?.force === true,
    exchanges: ({ context }) => context.request?.exchanges === true,
    forcedExchange: ({ context }) => context.request?.force === true && context.request.exchanges === true,
    keepFresh: ({ context }) => context.request?.keepFresh === true && context.token !== undefined,
    refreshMode: ({ context }) => context.request?.mode === 'refresh',
    pollMode: ({ context }) => context.request?.mode === 'poll',
    valid: (_, params: { status: TokenStatus }) => params.status === 'valid',
    refreshable: (_, params: { status: TokenStatus }) => params.status === 'refreshable',
    notInteractive: ({ context }) => context.request?.interactive !== true,
    codeFlowChosen: ({ context }) => context.request?.flow === 'code',
    fallBackToCode: ({ context }, params: { unsupported: boolean }) => params.unsupported && context.request?.flow === 'auto',
    // The store itself failed (Redis down, an unusable file): a login could not be kept either.
    storeFailed: (_, params: { error: unknown }) => (params.error as { code?: unknown } | null)?.code === 'store_error',
  },
  delays: {
    loginTimeout: ({ context }) => seconds(context.request?.timeout ?? 0),
    tick: 1000,
    // keepFresh's wait: the adapters provide it with the wall clock and jitter (refreshAheadMs); without them, a back-off or an hour.
    refreshAhead: ({ context }) => ((context.freshFailures ?? 0) > 0 ? refreshAheadMs(0, context.freshFailures ?? 0, 0, 0) : 3_600_000),
  },
}).createMachine({
  id: 'auth',
  context: ({ input }) => ({
    host: input.host,
    command: input.command ?? `oidc-auth ${input.host}`,
    port: input.port,
    run: 0,
    request: undefined,
    token: undefined,
    error: undefined,
    deviceCode: undefined,
    loginUrl: undefined,
    ticks: 0,
  }),
  initial: 'idle',
  states: {
    idle: {
      on: { AUTHENTICATE: { target: 'starting', actions: 'startRun' } },
    },
    starting: {
      always: [
        { guard: 'refreshMode', target: 'refreshing' },
        { guard: 'pollMode', target: 'device-polling' },
        { guard: 'forcedExchange', target: 'exchanging' },
        { guard: 'forced', target: 'login' },
        { target: 'cached' },
      ],
    },
    cached: {
      invoke: {
        src: 'loadToken',
        input: ({ context }) => ({ host: context.host, minValidity: context.request?.minValidity ?? 0, port: context.port }),
        onDone: [
          {
            guard: { type: 'valid', params: ({ event }) => ({ status: event.output.status }) },
            target: 'authenticated',
            actions: assign({ token: ({ event }) => event.output.token }),
          },
          { guard: 'exchanges', target: 'exchanging' },
          { guard: { type: 'refreshable', params: ({ event }) => ({ status: event.output.status }) }, target: 'refreshing' },
          { target: 'login' },
        ],
        // A store that cannot be read (its permissions, a link or another user's file there) could not take a login's token either: say why.
        onError: { target: 'failed', actions: assign({ error: ({ event }) => asAuthError(event.error) }) },
      },
    },
    refreshing: {
      invoke: {
        src: 'refreshToken',
        input: ({ context }) => ({ host: context.host, refreshToken: context.request?.refreshToken, minValidity: context.request?.minValidity ?? 0, port: context.port }),
        onDone: { target: 'authenticated', actions: assign({ token: ({ event }) => event.output }) },
        onError: [
          { guard: 'refreshMode', target: 'failed', actions: assign({ error: ({ event }) => asAuthError(event.error) }) },
          { guard: { type: 'storeFailed', params: ({ event }) => ({ error: event.error }) }, target: 'failed', actions: assign({ error: ({ event }) => asAuthError(event.error) }) },
          // A refresh that failed is no reason to give up: log in again (or say how, and why).
          { target: 'login', actions: assign({ refreshError: ({ event }) => asAuthError(event.error) }) },
        ],
      },
    },
    // One provider login, many servers: the server's token for the provider's access token (RFC 8693), never a login of the server's own.
    exchanging: {
      invoke: {
        src: 'exchangeToken',
        input: ({ context }) => ({ host: context.host, minValidity: context.request?.minValidity ?? 0, port: context.port }),
        onDone: { target: 'authenticated', actions: assign({ token: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: assign({ error: ({ event }) => asAuthError(event.error) }) },
      },
      on: {
        CANCEL: { target: 'failed', actions: assign({ error: ({ event }) => cancelled(event.reason) }) },
      },
    },
    login: {
      always: [
        {
          guard: 'notInteractive',
          target: 'failed',
          actions: assign({ error: ({ context }) => loginRequired(context.host, context.command, context.request?.whyNotInteractive ?? 'not interactive', context.refreshError) }),
        },
        { target: 'awaiting-login-turn' },
      ],
    },
    // One login at a time across processes: wait for another process's login, and use its token if it got one.
    'awaiting-login-turn': {
      invoke: {
        src: 'loginTurn',
        input: ({ context }) => ({ host: context.host, timeout: context.request?.timeout ?? 0, minValidity: context.request?.minValidity ?? 0, force: context.request?.force === true, port: context.port }),
        onDone: [
          {
            guard: ({ event }) => event.output.token !== undefined,
            target: 'authenticated',
            actions: assign({ token: ({ event }) => event.output.token }),
          },
          { guard: 'codeFlowChosen', target: 'code-awaiting-callback' },
          { target: 'device-polling' },
        ],
        onError: { target: 'failed', actions: assign({ error: ({ event }) => asAuthError(event.error) }) },
      },
      on: {
        CANCEL: { target: 'failed', actions: assign({ error: ({ event }) => cancelled(event.reason) }) },
      },
    },
    'device-polling': {
      invoke: {
        id: 'device',
        src: 'deviceFlow',
        input: ({ context }) => ({ code: context.request?.deviceCode, port: context.port }),
        onDone: [
          {
            guard: ({ event }) => event.output.ok,
            target: 'authenticated',
            actions: assign({ token: ({ event }) => (event.output.ok ? event.output.token : undefined) }),
          },
          {
            guard: { type: 'fallBackToCode', params: ({ event }) => ({ unsupported: !event.output.ok && event.output.unsupported }) },
            target: 'code-awaiting-callback',
          },
          { target: 'failed', actions: assign({ error: ({ event }) => (event.output.ok ? undefined : event.output.error) }) },
        ],
      },
      initial: 'requesting',
      states: {
        requesting: {},
        // The person has the code: the view ticks once a second for its countdown.
        waiting: { after: { tick: { target: 'waiting', reenter: true, actions: 'tick' } } },
      },
      on: {
        'device.code': {
          target: '.waiting',
          actions: [
            assign({ deviceCode: ({ event }) => publicDeviceCode(event.code) }),
            { type: 'showDeviceCode', params: ({ event }) => ({ code: event.code }) },
          ],
        },
        CANCEL: { target: 'failed', actions: assign({ error: ({ event }) => cancelled(event.reason) }) },
      },
      after: { loginTimeout: { target: 'failed', actions: assign({ error: ({ context }) => timedOut(context) }) } },
    },
    'code-awaiting-callback': {
      invoke: {
        id: 'code',
        src: 'codeFlow',
        input: ({ context }) => ({ port: context.port }),
        onDone: [
          {
            guard: ({ event }) => event.output.ok,
            target: 'authenticated',
            actions: assign({ token: ({ event }) => (event.output.ok ? event.output.token : undefined) }),
          },
          { target: 'failed', actions: assign({ error: ({ event }) => (event.output.ok ? undefined : event.output.error) }) },
        ],
      },
      initial: 'listening',
      states: {
        listening: {},
        // The person has the login URL: the view ticks once a second for its countdown.
        waiting: { after: { tick: { target: 'waiting', reenter: true, actions: 'tick' } } },
      },
      on: {
        'code.url': {
          target: '.waiting',
          actions: [
            assign({ loginUrl: ({ event }) => event.url, redirectUri: ({ event }) => event.redirectUri }),
            { type: 'showLoginUrl', params: ({ event }) => ({ url: event.url, redirectUri: event.redirectUri }) },
          ],
        },
        CANCEL: { target: 'failed', actions: assign({ error: ({ event }) => cancelled(event.reason) }) },
      },
      after: { loginTimeout: { target: 'failed', actions: assign({ error: ({ context }) => timedOut(context) }) } },
    },
    authenticated: {
      entry: [assign({ deviceCode: undefined }), 'releaseLoginTurn'],
      on: { AUTHENTICATE: { target: 'starting', actions: 'startRun' } },
      initial: 'resting',
      states: {
        // Without keepFresh no timer is left behind.
        resting: { always: { guard: 'keepFresh', target: 'keeping-fresh' } },
        // keepFresh: refresh in the background before the token ends; the actor holds the token meanwhile.
        'keeping-fresh': { after: { refreshAhead: { target: '#auth.refreshing-ahead' } } },
      },
    },
    // A background refresh: nobody waits for it, so a failure is kept and shown (and tried again later), never thrown and never a login.
    'refreshing-ahead': {
      invoke: {
        src: 'refreshToken',
        // A token another process stored since, with more left than ours, is taken as it is (no second refresh).
        input: ({ context }) => ({ host: context.host, minValidity: 60, aheadOf: context.token?.expires, port: context.port }),
        onDone: { target: 'authenticated', actions: [assign({ token: ({ event }) => event.output }), 'freshOk'] },
        onError: {
          target: 'authenticated',
          actions: assign({ freshFailures: ({ context }) => (context.freshFailures ?? 0) + 1, freshError: ({ event }) => asAuthError(event.error) }),
        },
      },
      on: { AUTHENTICATE: { target: 'starting', actions: 'startRun' } },
    },
    failed: {
      entry: [assign({ token: undefined }), 'releaseLoginTurn'],
      on: { AUTHENTICATE: { target: 'starting', actions: 'startRun' } },
    },
  },
});

/** The states in which no run is in flight. */
export const SETTLED_STATES = ['idle', 'authenticated', 'failed'] as const;
