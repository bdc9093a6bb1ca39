// Model-based tests: @xstate/graph walks each statechart and finds the
// shortest path to every state it can reach; each path is then replayed
// against stub adapters on xstate's SimulatedClock. A state that becomes
// unreachable, or a new state that is neither final nor has a way out,
// fails here.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getAdjacencyMap, getShortestPaths } from '@xstate/graph';
import { createActor, fromCallback, fromPromise, SimulatedClock, type AnyActorRef, type AnyEventObject, type AnyStateMachine, type AnyStateNode } from 'xstate';
import { AuthError } from '../src/errors.ts';
import { authMachine, type AuthRequest } from '../src/machines/auth.machine.ts';
import { codeFlowMachine } from '../src/machines/code-flow.machine.ts';
import { deviceFlowMachine } from '../src/machines/device-flow.machine.ts';
import type { DeviceCode, Token } from '../src/types.ts';

const token: Token = { access_token: 'at', token_type: 'Bearer', expires: 2e9, refresh_token: 'rt', refresh_expires: 2e9, scope: '', headers: { Authorization: 'Bearer at' } };
const deviceCode: DeviceCode = { uri: 'https://idp.example/d', user_code: 'ABCD', device_code: 'dc', interval: 5, verification_uri: 'https://idp.example/d', expires_in: 600 };
const error = (code: string) => new AuthError(code, code);
const request = (over: Partial<AuthRequest>): AuthRequest => ({ mode: 'authenticate', force: false, flow: 'auto', interactive: true, whyNotInteractive: 'test', timeout: 600, ...over });

/** What each invoked actor (by its `src`) may end with: its outputs and its errors. */
type Outcomes = Record<string, { outputs: unknown[]; errors: unknown[] }>;

interface Model {
  machine: AnyStateMachine;
  input?: unknown;
  /** Events from outside (the caller, the parent, the callback server). */
  events: AnyEventObject[];
  outcomes: Outcomes;
  /** The part of the context that decides where the machine can go next (with the state value, one graph node). */
  decisive(context: Record<string, unknown>): unknown;
}

/** Stub adapters: every invoked actor waits forever, so only the replayed events move the machine. */
const waiting = fromPromise(() => new Promise<never>(() => {})) as never;
const quiet = fromCallback(() => () => {}) as never;

const MODELS: Model[] = [
  {
    machine: authMachine.provide({
      // The children are modelled by their outcomes (below); the flows are walked as machines of their own.
      actors: { loadToken: waiting, refreshToken: waiting, loginTurn: waiting, deviceFlow: waiting, codeFlow: waiting, exchangeToken: waiting },
    }),
    input: { host: 'https://app.example' },
    events: [
      ...[request({}), request({ interactive: false }), request({ flow: 'code' }), request({ force: true }), request({ mode: 'refresh', refreshToken: 'rt' }), request({ mode: 'poll', deviceCode }), request({ exchanges: true }), request({ exchanges: true, force: true }), request({ keepFresh: true })]
        .map((r) => ({ type: 'AUTHENTICATE', request: r })),
      { type: 'CANCEL' },
      { type: 'device.code', code: deviceCode },
      { type: 'code.url', url: 'http://localhost:1/login', redirectUri: 'http://localhost:1/callback' },
    ],
    outcomes: {
      loadToken: { outputs: [{ token, status: 'valid' }, { token, status: 'refreshable' }, { token: undefined, status: 'expired' }], errors: [error('store_error')] },
      refreshToken: { outputs: [token], errors: [error('invalid_grant')] },
      loginTurn: { outputs: [{}, { token }], errors: [error('lock_timeout')] },
      deviceFlow: { outputs: [{ ok: true, token }, { ok: false, unsupported: true, error: error('unsupported_flow') }, { ok: false, unsupported: false, error: error('access_denied') }], errors: [] },
      codeFlow: { outputs: [{ ok: true, token }, { ok: false, error: error('access_denied') }], errors: [] },
      exchangeToken: { outputs: [token], errors: [error('exchange_refused'), error('login_required')] },
    },
    decisive: (context) => {
      const r = context.request as AuthRequest | undefined;
      return r && [r.mode, r.flow, r.interactive, r.force, r.exchanges === true, r.keepFresh === true, context.token !== undefined, Number(context.freshFailures ?? 0) > 0, context.deviceCode !== undefined];
    },
  },
  {
    machine: deviceFlowMachine.provide({ actors: { requestDeviceCode: waiting, pollToken: waiting, saveToken: waiting }, actions: { announce: () => {} } }),
    input: {},
    events: [],
    outcomes: {
      requestDeviceCode: { outputs: [deviceCode], errors: [error('unsupported_flow'), error('network')] },
      pollToken: { outputs: [token], errors: [error('authorization_pending'), error('slow_down'), new AuthError('server_error', 'down', { status: 503 }), error('access_denied')] },
      saveToken: { outputs: [undefined], errors: [error('store_error')] },
    },
    decisive: (context) => [context.code !== undefined, Number(context.failures) > 0],
  },
  {
    machine: codeFlowMachine.provide({ actors: { callbackServer: quiet, exchangeCode: waiting, saveToken: waiting }, actions: { announce: () => {}, reportSuccess: () => {}, reportFailure: () => {} } }),
    input: {},
    events: [
      { type: 'server.listening', redirectUri: 'http://localhost:1/callback', loginUrl: 'http://localhost:1/login' },
      { type: 'server.callback', params: { code: 'c', state: 's' } },
      { type: 'server.callback', params: { error: 'access_denied', state: 's' } },
      { type: 'server.responded' },
      { type: 'server.error', error: error('port_unavailable') },
    ],
    outcomes: {
      exchangeCode: { outputs: [token], errors: [error('invalid_grant')] },
      saveToken: { outputs: [undefined], errors: [error('store_error')] },
    },
    decisive: (context) => [context.token !== undefined, context.error !== undefined],
  },
];

/** The events that can happen in `snapshot`: the model's own, each running child's outcomes, and each delay running out. */
function eventsIn(model: Model, snapshot: { children: Record<string, AnyActorRef | undefined>; _nodes: AnyStateNode[] }): AnyEventObject[] {
  const delays = snapshot._nodes.flatMap((node) => node.after.map((transition) => ({ type: transition.eventType })));
  const fromChildren = Object.entries(snapshot.children).flatMap(([id, child]) => {
    const outcomes = model.outcomes[String(child?.src)] ?? { outputs: [], errors: [] };
    return [
      ...outcomes.outputs.map((output) => ({ type: `xstate.done.actor.${id}`, output })),
      ...outcomes.errors.map((error) => ({ type: `xstate.error.actor.${id}`, error })),
    ];
  });
  return [...model.events, ...fromChildren, ...delays];
}

/** Every state node's path, and whether it is passed through only (nothing but `always` transitions out of it). */
function stateNodes(machine: AnyStateMachine): Array<{ path: string; transient: boolean; node: AnyStateNode }> {
  const all: Array<{ path: string; transient: boolean; node: AnyStateNode }> = [];
  const visit = (node: AnyStateNode) => {
    if (node.path.length > 0) all.push({ path: node.path.join('.'), transient: node.always !== undefined && node.always.length > 0, node });
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root);
  return all;
}

/** The dotted paths of every active state node of a state value. */
function activePaths(value: unknown, prefix: string[] = []): string[] {
  if (typeof value === 'string') return [[...prefix, value].join('.')];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, inner]) => [[...prefix, key].join('.'), ...activePaths(inner, [...prefix, key])]);
}

const pendingTimers = (clock: SimulatedClock) => (clock as unknown as { timeouts: Map<unknown, unknown> }).timeouts.size;

describe('model-based: every state of every machine is reached by a replayed shortest path', () => {
  for (const model of MODELS) {
    const { machine } = model;
    it(`${machine.id}: every state is reachable, none is a dead end, and each shortest path replays to its state on SimulatedClock with no timer left`, () => {
      const serialize = (snapshot: { value: unknown; status: string; context: Record<string, unknown> }) => JSON.stringify([snapshot.value, snapshot.status, model.decisive(snapshot.context)]);
      const paths = getShortestPaths(machine, {
        input: model.input,
        events: (snapshot) => eventsIn(model, snapshot as never),
        serializeState: (snapshot) => serialize(snapshot as never),
        limit: 5000,
      });
      assert.ok(paths.length > 5, `${paths.length} paths`);

      // Reachability: every state node is active in some reached snapshot (or, if passed through only, is targeted from one).
      const reached = new Set(paths.flatMap((path) => activePaths(path.state.value)));
      const targeted = new Set<string>();
      for (const path of paths) {
        for (const node of (path.state as unknown as { _nodes: AnyStateNode[] })._nodes) {
          for (const transitions of [...node.transitions.values(), node.always ?? []]) {
            for (const transition of transitions) for (const target of transition.target ?? []) targeted.add(target.path.join('.'));
          }
        }
      }
      for (const { path, transient, node } of stateNodes(machine)) {
        // A state passed through only is never the resting state of a snapshot: it counts when something leads into it.
        const parent = node.parent;
        const entered = targeted.has(path) || (parent?.initial?.target.includes(node) === true && (parent.path.length === 0 || reached.has(parent.path.join('.'))));
        assert.ok(reached.has(path) || (transient && entered), `${machine.id}.${path} cannot be reached`);
      }

      // No dead ends: every reachable snapshot that is not final has an event that leads elsewhere.
      const adjacency = getAdjacencyMap(machine, { input: model.input, events: (snapshot) => eventsIn(model, snapshot as never), serializeState: (snapshot) => serialize(snapshot as never), limit: 5000 });
      for (const [here, { state, transitions }] of Object.entries(adjacency)) {
        if (state.status === 'done') continue;
        const leaves = Object.values(transitions as Record<string, { state: unknown }>).some((next) => serialize(next.state as never) !== here);
        assert.ok(leaves, `${machine.id} can get stuck in ${JSON.stringify(state.value)}`);
      }

      // Replay: the same events against a real actor with stub adapters on a simulated clock.
      for (const path of paths) {
        const clock = new SimulatedClock();
        const actor = createActor(machine, { input: model.input, clock });
        actor.start();
        for (const step of path.steps.slice(1)) actor.send(step.event);
        const snapshot = actor.getSnapshot();
        assert.deepEqual(snapshot.value, path.state.value, `replayed ${path.steps.map((step) => step.event.type).join(' -> ')}`);
        assert.equal(snapshot.status, path.state.status);
        if (snapshot.status === 'done' || ['idle', 'authenticated', 'failed'].includes(String(snapshot.value))) {
          assert.equal(pendingTimers(clock), 0, `no timer left in ${JSON.stringify(snapshot.value)}`);
        }
        actor.stop();
        assert.equal(pendingTimers(clock), 0, 'no timer left once stopped');
      }
      process.stdout.write(`# ${machine.id}: ${paths.length} shortest paths replayed\n`);
    });
  }
});
