import { assign, fromPromise, sendParent, setup } from 'xstate';
import type { AuthError } from '../errors.ts';
import { isRetriable } from '../protocol/error-response.ts';
import type { DeviceCode, Token } from '../types.ts';
import { seconds } from './delays.ts';
import { asAuthError, notProvided, type HostPort } from './shared.ts';

/** What the device flow ends with. */
export type DeviceFlowOutput =
  | {
    /** The login worked. */
    ok: true;
    /** The token it gave. Secret. */
    token: Token;
  }
  | {
    /** The login failed. */
    ok: false;
    /** Why. */
    error: AuthError;
    /** Whether the server has no device flow, so that another login may be tried instead. */
    unsupported: boolean;
  };

/** Input: a device code the caller already has (skip the request), or none. */
export interface DeviceFlowInput {
  /** A device code already requested; the flow then only polls. Its `device_code` is a secret. */
  code?: DeviceCode | undefined;
  /** The host's reference for its adapters, handed to every invoked actor. */
  port?: HostPort | undefined;
}

/** Context of the device flow. `code.device_code` is a secret. */
export interface DeviceFlowContext {
  /** The device authorization answer, once requested. */
  code: DeviceCode | undefined;
  /** Seconds between polls; grows by 5 on every `slow_down`. */
  interval: number;
  /** Failed polls in a row (network, 5xx, 429), for back-off. */
  failures: number;
  /** The token, once the person approved. Secret. */
  token: Token | undefined;
  /** Why the login failed. */
  error: AuthError | undefined;
  /** Whether the server answered that it has no device flow. */
  unsupported: boolean;
  /** The host's reference for its adapters, handed to every invoked actor. */
  port?: HostPort | undefined;
}

/** Longest wait between polls after network trouble. */
const MAX_BACKOFF_SECONDS = 60;

/**
 * RFC 8628 device authorization: request a code, announce it, wait one
 * interval, poll; `authorization_pending` polls again, `slow_down` adds 5 s
 * to every later interval, network trouble and 5xx back off and retry until
 * the code expires; `access_denied` and `expired_token` end at once.
 */
export const deviceFlowMachine = setup({
  types: {
    context: {} as DeviceFlowContext,
    input: {} as DeviceFlowInput,
    output: {} as DeviceFlowOutput,
  },
  actors: {
    requestDeviceCode: fromPromise<DeviceCode, { port?: HostPort | undefined }>(notProvided('requestDeviceCode')),
    pollToken: fromPromise<Token, { deviceCode: string; port?: HostPort | undefined }>(notProvided('pollToken')),
    saveToken: fromPromise<void, { token: Token; port?: HostPort | undefined }>(notProvided('saveToken')),
  },
  actions: {
    announce: sendParent(({ context }) => ({ type: 'device.code', code: context.code as DeviceCode })),
  },
  guards: {
    hasCode: ({ context }) => context.code !== undefined,
    pending: (_, params: { error: AuthError }) => params.error.code === 'authorization_pending',
    slowDown: (_, params: { error: AuthError }) => params.error.code === 'slow_down',
    retriable: (_, params: { error: AuthError }) => isRetriable(params.error),
  },
  delays: {
    interval: ({ context }) => seconds(context.interval),
    backoff: ({ context }) => seconds(Math.min(context.interval * 2 ** context.failures, MAX_BACKOFF_SECONDS)),
    codeLifetime: ({ context }) => seconds(context.code?.expires_in ?? 0),
  },
}).createMachine({
  id: 'deviceFlow',
  context: ({ input }) => ({
    code: input.code,
    interval: input.code?.interval ?? 5,
    failures: 0,
    token: undefined,
    error: undefined,
    unsupported: false,
    port: input.port,
  }),
  initial: 'start',
  states: {
    start: {
      always: [{ guard: 'hasCode', target: 'active' }, { target: 'requesting' }],
    },
    requesting: {
      invoke: {
        src: 'requestDeviceCode',
        input: ({ context }) => ({ port: context.port }),
        onDone: {
          target: 'active',
          actions: [assign({ code: ({ event }) => event.output, interval: ({ event }) => event.output.interval }), 'announce'],
        },
        onError: {
          target: 'failed',
          actions: assign(({ event }) => {
            const error = asAuthError(event.error);
            return { error, unsupported: error.code === 'unsupported_flow' };
          }),
        },
      },
    },
    active: {
      after: {
        codeLifetime: {
          target: 'failed',
          actions: assign({ error: ({ context }) => expired(context.code?.expires_in ?? 0) }),
        },
      },
      initial: 'waiting',
      states: {
        waiting: {
          after: { interval: 'polling' },
        },
        backingOff: {
          after: { backoff: 'polling' },
        },
        polling: {
          invoke: {
            src: 'pollToken',
            input: ({ context }) => ({ deviceCode: (context.code as DeviceCode).device_code, port: context.port }),
            onDone: {
              target: '#deviceFlow.saving',
              actions: assign({ token: ({ event }) => event.output, failures: 0 }),
            },
            onError: [
              {
                guard: { type: 'pending', params: ({ event }) => ({ error: asAuthError(event.error) }) },
                target: 'waiting',
                actions: assign({ failures: 0 }),
              },
              {
                guard: { type: 'slowDown', params: ({ event }) => ({ error: asAuthError(event.error) }) },
                target: 'waiting',
                actions: assign({ interval: ({ context }) => context.interval + 5, failures: 0 }),
              },
              {
                guard: { type: 'retriable', params: ({ event }) => ({ error: asAuthError(event.error) }) },
                target: 'backingOff',
                actions: assign({ failures: ({ context }) => context.failures + 1 }),
              },
              {
                target: '#deviceFlow.failed',
                actions: assign({ error: ({ event }) => asAuthError(event.error) }),
              },
            ],
          },
        },
      },
    },
    saving: {
      invoke: {
        src: 'saveToken',
        input: ({ context }) => ({ token: context.token as Token, port: context.port }),
        onDone: 'done',
        onError: { target: 'failed', actions: assign({ error: ({ event }) => asAuthError(event.error) }) },
      },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) =>
    context.token !== undefined && context.error === undefined
      ? { ok: true, token: context.token }
      : { ok: false, error: context.error ?? expired(0), unsupported: context.unsupported },
});

function expired(lifetime: number) {
  return asAuthError({
    code: 'expired_token',
    message: `The device code expired after ${lifetime} s before the login was approved. Run the login again and approve it in time.`,
  });
}
