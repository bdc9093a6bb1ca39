// Pure statechart tests: fake actors, xstate's SimulatedClock, no sleeping.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActor, fromCallback, fromPromise, SimulatedClock } from 'xstate';
import { AuthError } from '../src/errors.ts';
import { authMachine, type AuthRequest, type CachedToken } from '../src/machines/auth.machine.ts';
import { refreshAheadMs } from '../src/machines/delays.ts';
import { codeFlowMachine } from '../src/machines/code-flow.machine.ts';
import { deviceFlowMachine } from '../src/machines/device-flow.machine.ts';
import type { DeviceCode, Token } from '../src/types.ts';

const flush = async () => {
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

const token = (name: string): Token => ({
  access_token: `at-${name}`, token_type: 'Bearer', expires: 2e9, refresh_token: `rt-${name}`, refresh_expires: 2e9, scope: 'openid', headers: { Authorization: `Bearer at-${name}` },
});

const code = (over: Partial<DeviceCode> = {}): DeviceCode => ({
  uri: 'https://idp.example/device?user_code=ABCD-EFGH', user_code: 'ABCD-EFGH', device_code: 'secret-device-code', interval: 5,
  verification_uri: 'https://idp.example/device', expires_in: 600, ...over,
});

const request = (over: Partial<AuthRequest> = {}): AuthRequest => ({
  mode: 'authenticate', force: false, flow: 'auto', interactive: true, whyNotInteractive: '', timeout: 600, ...over,
});

const oauth = (error: string, status = 400) => new AuthError(error, error, { status });

interface Script {
  cached?: CachedToken;
  refresh?: () => Promise<Token>;
  device?: () => Promise<DeviceCode>;
  polls?: Array<Token | AuthError>;
}

function harness(script: Script) {
  const clock = new SimulatedClock();
  const calls = { load: 0, refresh: 0, device: 0, polls: [] as number[], saved: [] as Token[], shown: [] as DeviceCode[], codeStarted: 0 };
  const polls = [...(script.polls ?? [])];
  const machine = authMachine.provide({
    actors: {
      loadToken: fromPromise(async () => {
        calls.load += 1;
        return script.cached ?? { token: undefined, status: 'expired' as const };
      }),
      refreshToken: fromPromise(async () => {
        calls.refresh += 1;
        if (!script.refresh) throw oauth('invalid_grant');
        return script.refresh();
      }),
      deviceFlow: deviceFlowMachine.provide({
        actors: {
          requestDeviceCode: fromPromise(async () => {
            calls.device += 1;
            return script.device ? script.device() : code();
          }),
          pollToken: fromPromise(async () => {
            calls.polls.push(clock.now());
            const next = polls.shift() ?? oauth('authorization_pending');
            if (next instanceof AuthError) throw next;
            return next;
          }),
          saveToken: fromPromise(async ({ input }) => void calls.saved.push(input.token)),
        },
      }),
      codeFlow: codeFlowMachine.provide({
        actors: {
          callbackServer: fromCallback(() => {
            calls.codeStarted += 1;
            return () => {};
          }),
        },
      }),
    },
    actions: { showDeviceCode: (_, params) => void calls.shown.push(params.code) },
    // keepFresh's wait as the adapters give it, with the largest jitter: tests know the latest moment.
    delays: { refreshAhead: ({ context }) => refreshAheadMs(context.token?.expires ?? 0, context.freshFailures ?? 0, Date.now() / 1000, 1) },
  });
  const actor = createActor(machine, { clock, input: { host: 'https://app.example' } });
  actor.start();
  const pendingTimers = () => (clock as unknown as { timeouts: Map<unknown, unknown> }).timeouts.size;
  return { clock, calls, actor, pendingTimers };
}

async function advance(clock: SimulatedClock, ms: number) {
  clock.increment(ms);
  await flush();
}

describe('auth machine: cached and refresh', () => {
  it('a valid cached token is used without refresh or login', async () => {
    const h = harness({ cached: { token: token('a'), status: 'valid' } });
    h.actor.send({ type: 'AUTHENTICATE', request: request() });
    await flush();
    assert.ok(h.actor.getSnapshot().matches('authenticated'));
    assert.equal(h.actor.getSnapshot().context.token?.access_token, 'at-a');
    assert.deepEqual([h.calls.refresh, h.calls.device], [0, 0]);
  });

  it('a refreshable token is refreshed', async () => {
    const h = harness({ cached: { token: token('old'), status: 'refreshable' }, refresh: async () => token('new') });
    h.actor.send({ type: 'AUTHENTICATE', request: request() });
    await flush();
    assert.ok(h.actor.getSnapshot().matches('authenticated'));
    assert.equal(h.actor.getSnapshot().context.token?.access_token, 'at-new');
    assert.equal(h.calls.device, 0);
  });

  it('a failed refresh goes on to login; without a person that is login_required', async () => {
    const h = harness({ cached: { token: token('old'), status: 'refreshable' } });
    h.actor.send({ type: 'AUTHENTICATE', request: request({ interactive: false, whyNotInteractive: 'no terminal' }) });
    await flush();
    const snapshot = h.actor.getSnapshot();
    assert.ok(snapshot.matches('failed'));
    assert.equal(snapshot.context.error?.code, 'login_required');
    assert.match(snapshot.context.error?.message ?? '', /no terminal/);
    assert.equal(h.calls.refresh, 1);
    assert.equal(h.calls.device, 0);
  });

  it('a refresh that failed because the store failed ends in store_error, not in a login that could not be kept', async () => {
    const h = harness({ cached: { token: token('old'), status: 'refreshable' }, refresh: () => Promise.reject(new AuthError('store_error', 'Redis is down')) });
    h.actor.send({ type: 'AUTHENTICATE', request: request() });
    await flush();
    const snapshot = h.actor.getSnapshot();
    assert.ok(snapshot.matches('failed'));
    assert.equal(snapshot.context.error?.code, 'store_error');
    assert.deepEqual([h.calls.refresh, h.calls.device], [1, 0], 'no login was started');
  });

  it('force skips the cache and the refresh token', async () => {
    const h = harness({ cached: { token: token('a'), status: 'valid' }, polls: [token('forced')] });
    h.actor.send({ type: 'AUTHENTICATE', request: request({ force: true }) });
    await flush();
    await advance(h.clock, 5000);
    assert.equal(h.calls.load, 0);
    assert.equal(h.actor.getSnapshot().context.token?.access_token, 'at-forced');
  });
});

describe('device flow timing (RFC 8628)', () => {
  it('waits one interval before the first poll, polls on pending, and adds 5 s after slow_down', async () => {
    const h = harness({ polls: [oauth('authorization_pending'), oauth('slow_down'), oauth('authorization_pending'), token('d')] });
    h.actor.send({ type: 'AUTHENTICATE', request: request({ flow: 'device' }) });
    await flush();
    assert.ok(h.actor.getSnapshot().matches('device-polling'));
    assert.equal(h.calls.shown.length, 1, 'the code is shown as soon as it arrives');
    assert.equal(h.actor.getSnapshot().context.deviceCode?.user_code, 'ABCD-EFGH');
    assert.ok(!('device_code' in (h.actor.getSnapshot().context.deviceCode ?? {})), 'the context keeps no device_code');
    await advance(h.clock, 4999);
    assert.deepEqual(h.calls.polls, []);
    await advance(h.clock, 1);
    assert.deepEqual(h.calls.polls, [5000]);
    await advance(h.clock, 5000);
    assert.deepEqual(h.calls.polls, [5000, 10000], 'slow_down answered here');
    await advance(h.clock, 9999);
    assert.equal(h.calls.polls.length, 2, 'no poll before interval + 5 s');
    await advance(h.clock, 1);
    await advance(h.clock, 10000);
    assert.deepEqual(h.calls.polls, [5000, 10000, 20000, 30000], 'the longer interval stays');
    assert.ok(h.actor.getSnapshot().matches('authenticated'));
    assert.equal(h.calls.saved[0]?.access_token, 'at-d');
    assert.equal(h.pendingTimers(), 0, 'no timer is left behind');
  });

  for (const error of ['access_denied', 'expired_token'] as const) {
    it(`${error} ends the flow at once`, async () => {
      const h = harness({ polls: [oauth(error)] });
      h.actor.send({ type: 'AUTHENTICATE', request: request() });
      await flush();
      await advance(h.clock, 5000);
      assert.ok(h.actor.getSnapshot().matches('failed'));
      assert.equal(h.actor.getSnapshot().context.error?.code, error);
      assert.equal(h.calls.polls.length, 1);
      assert.equal(h.pendingTimers(), 0);
    });
  }

  it('stops at expires_in with expired_token', async () => {
    const h = harness({ device: async () => code({ expires_in: 12 }) });
    h.actor.send({ type: 'AUTHENTICATE', request: request() });
    await flush();
    await advance(h.clock, 5000);
    await advance(h.clock, 5000);
    await advance(h.clock, 2000);
    assert.ok(h.actor.getSnapshot().matches('failed'));
    assert.equal(h.actor.getSnapshot().context.error?.code, 'expired_token');
    assert.equal(h.calls.polls.length, 2);
    assert.equal(h.pendingTimers(), 0);
  });

  it('retries network errors and 5xx with growing back-off until a token arrives', async () => {
    const h = harness({ polls: [new AuthError('network', 'reset'), oauth('server_error', 502), token('late')] });
    h.actor.send({ type: 'AUTHENTICATE', request: request() });
    await flush();
    await advance(h.clock, 5000); // poll 1: network
    await advance(h.clock, 10000); // back-off 5 * 2^1 = 10 s -> poll 2: 502
    assert.deepEqual(h.calls.polls, [5000, 15000]);
    await advance(h.clock, 19999);
    assert.equal(h.calls.polls.length, 2, 'back-off doubles');
    await advance(h.clock, 1);
    assert.deepEqual(h.calls.polls, [5000, 15000, 35000]);
    assert.ok(h.actor.getSnapshot().matches('authenticated'));
  });

  it('gives up at the login timeout', async () => {
    const h = harness({});
    h.actor.send({ type: 'AUTHENTICATE', request: request({ timeout: 30 }) });
    await flush();
    for (let t = 0; t < 6; t += 1) await advance(h.clock, 5000);
    assert.ok(h.actor.getSnapshot().matches('failed'));
    assert.equal(h.actor.getSnapshot().context.error?.code, 'timeout');
    assert.equal(h.pendingTimers(), 0);
  });

  it('CANCEL stops the flow and leaves no timer', async () => {
    const h = harness({});
    h.actor.send({ type: 'AUTHENTICATE', request: request() });
    await flush();
    h.actor.send({ type: 'CANCEL' });
    assert.equal(h.actor.getSnapshot().context.error?.code, 'cancelled');
    assert.equal(h.pendingTimers(), 0);
  });

  it('falls back to the code flow when the server has no device flow (auto only)', async () => {
    const unsupported = () => Promise.reject(new AuthError('unsupported_flow', 'no device flow', { status: 404 }));
    const auto = harness({ device: unsupported });
    auto.actor.send({ type: 'AUTHENTICATE', request: request({ flow: 'auto' }) });
    await flush();
    assert.ok(auto.actor.getSnapshot().matches('code-awaiting-callback'));
    assert.equal(auto.calls.codeStarted, 1);

    const deviceOnly = harness({ device: unsupported });
    deviceOnly.actor.send({ type: 'AUTHENTICATE', request: request({ flow: 'device' }) });
    await flush();
    assert.ok(deviceOnly.actor.getSnapshot().matches('failed'));
    assert.equal(deviceOnly.actor.getSnapshot().context.error?.code, 'unsupported_flow');
  });

  it('callers arriving during a run do not start another (the event is ignored)', async () => {
    const h = harness({ polls: [token('one')] });
    h.actor.send({ type: 'AUTHENTICATE', request: request() });
    await flush();
    h.actor.send({ type: 'AUTHENTICATE', request: request({ force: true }) });
    await flush();
    assert.equal(h.actor.getSnapshot().context.run, 1);
    assert.equal(h.calls.device, 1);
  });
});

describe('auth machine: keepFresh', () => {
  const fresh = (name: string, seconds: number): Token => ({ ...token(name), expires: Math.floor(Date.now() / 1000) + seconds });

  it('refreshes in the background a tenth of the time left before expiry (with up to a fifth more as jitter); without keepFresh nothing is scheduled', async () => {
    let n = 0;
    const h = harness({ cached: { token: fresh('a', 3600), status: 'valid' }, refresh: async () => fresh(`r${(n += 1)}`, 3600) });
    h.actor.send({ type: 'AUTHENTICATE', request: request({ keepFresh: true }) });
    await flush();
    assert.ok(h.actor.getSnapshot().matches('authenticated'));
    assert.equal(h.pendingTimers(), 1, 'one timer: the background refresh');
    await advance(h.clock, (3600 - 360 - 73) * 1000);
    assert.equal(h.calls.refresh, 0, 'not before the jitter window');
    await advance(h.clock, 2 * 1000);
    assert.equal(h.calls.refresh, 1, 'one background refresh');
    assert.ok(h.actor.getSnapshot().matches('authenticated'));
    assert.equal(h.actor.getSnapshot().context.token?.access_token, 'at-r1');
    assert.equal(h.pendingTimers(), 1, 'the next one is scheduled');

    const plain = harness({ cached: { token: fresh('a', 3600), status: 'valid' } });
    plain.actor.send({ type: 'AUTHENTICATE', request: request() });
    await flush();
    assert.equal(plain.pendingTimers(), 0);
  });

  it('a failed background refresh is kept for the view and tried again with back-off, never a login; the next success clears it', async () => {
    let fail = true;
    const h = harness({ cached: { token: fresh('a', 600), status: 'valid' }, refresh: async () => {
      if (fail) throw oauth('temporarily_unavailable', 503);
      return fresh('b', 600);
    } });
    h.actor.send({ type: 'AUTHENTICATE', request: request({ keepFresh: true }) });
    await flush();
    await advance(h.clock, 600 * 1000); // past the first try, whatever its jitter
    assert.equal(h.calls.refresh, 1);
    const failed = h.actor.getSnapshot();
    assert.ok(failed.matches('authenticated'), 'still authenticated with the token it has');
    assert.equal(failed.context.freshError?.code, 'temporarily_unavailable');
    assert.deepEqual([h.calls.device, failed.context.error], [0, undefined], 'no login, nothing thrown');
    await advance(h.clock, 5 * 1000);
    assert.equal(h.calls.refresh, 2, 'tried again after 5 s');
    await advance(h.clock, 9 * 1000);
    assert.equal(h.calls.refresh, 2, 'then after 10 s, not sooner');
    fail = false;
    await advance(h.clock, 1 * 1000);
    assert.equal(h.calls.refresh, 3);
    assert.equal(h.actor.getSnapshot().context.freshError, undefined);
    assert.equal(h.actor.getSnapshot().context.token?.access_token, 'at-b');
  });

  it('stops with the actor: no timer is left', async () => {
    const h = harness({ cached: { token: fresh('a', 3600), status: 'valid' } });
    h.actor.send({ type: 'AUTHENTICATE', request: request({ keepFresh: true }) });
    await flush();
    assert.equal(h.pendingTimers(), 1);
    h.actor.stop();
    assert.equal(h.pendingTimers(), 0);
  });
});

describe('keepFresh\'s wait', () => {
  it('a tenth of the time left (at least a minute, at most 30 % of a short token), minus up to a fifth of that as jitter; after failures 5, 10, 20 ... s up to 5 min', () => {
    assert.equal(refreshAheadMs(4600, 0, 1000, 0), 3240 * 1000);
    assert.equal(refreshAheadMs(4600, 0, 1000, 1), 3168 * 1000);
    assert.equal(refreshAheadMs(1300, 0, 1000, 0), 240 * 1000);
    assert.equal(refreshAheadMs(1002, 0, 1000, 0), 1400);
    assert.equal(refreshAheadMs(1000.5, 0, 1000, 0), 1000, 'at least a second');
    assert.deepEqual([1, 2, 3, 7, 20].map((n) => refreshAheadMs(0, n, 0, 0)), [5000, 10_000, 20_000, 300_000, 300_000]);
  });
});
