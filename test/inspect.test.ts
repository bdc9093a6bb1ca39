// Watching a login: subscriptions for UIs and the Stately inspector, never a secret.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InspectionEvent } from 'xstate';
import { authenticate, authState, Client, type AuthStateView } from '../src/index.ts';
import { authActorOf } from '../src/machines.ts';
import { startScriptedProvider } from './fixtures/scripted-provider.ts';
import { personApproves, startWorld } from './fixtures/world.ts';
import { closedAfterEach } from './helpers/servers.ts';

/** JSON of inspection events: actor refs as their session ids, cycles cut. */
function serialise(events: unknown[]): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(events, (_key, value: unknown) => {
    if (value === null || typeof value !== 'object') return value;
    if ('sessionId' in value && 'send' in value) return { actorRef: (value as { sessionId: string }).sessionId };
    if (seen.has(value)) return '[cycle]';
    seen.add(value);
    return value;
  });
}

const track = closedAfterEach();

describe('watching a login', () => {
  it('the inspector sees the root and child machines of a whole device login, and no token, refresh token or device code', async () => {
    const world = track(await startWorld());
    const deviceCodes: string[] = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const response = await globalThis.fetch(input, init);
      const body = await response.clone().text();
      const code = /"device_code"\s*:\s*"([^"]+)"/.exec(body)?.[1];
      if (code) deviceCodes.push(code);
      return response;
    };
    const events: InspectionEvent[] = [];
    const token = await authenticate({ host: world.app.host, store: world.store, interactive: true, openBrowser: false, fetch, onDeviceCode: personApproves().onDeviceCode, inspect: (event) => events.push(event) });
    assert.equal(deviceCodes.length, 1, 'the test saw the real device code');
    const actors = new Set(events.map((event) => event.actorRef.sessionId));
    assert.ok(actors.size >= 2, 'root and child actors');
    const values = events.filter((event) => event.type === '@xstate.snapshot').map((event) => JSON.stringify((event as { snapshot: { value?: unknown } }).snapshot.value) ?? '');
    for (const state of ['"cached"', '"device-polling"', '"authenticated"', 'polling']) assert.ok(values.some((value) => value.includes(state)), `saw ${state}`);
    const all = serialise(events);
    for (const secret of [token.access_token, token.refresh_token, deviceCodes[0] ?? '']) {
      const at = all.indexOf(secret);
      assert.ok(secret.length > 8 && at < 0, `no secret in the inspection stream: ${all.slice(Math.max(0, at - 300), at + 60)}`);
    }
    assert.match(all, /\[redacted\]/, 'the secrets were there and were removed');
    // The adapters find their host through a reference in the machines' inputs: the inspector sees only its name.
    const ports = [...all.matchAll(/"port":(\{[^}]*\})/g)].map((match) => match[1]);
    assert.ok(ports.length > 0, 'the host reference travels in the inputs and contexts');
    assert.deepEqual([...new Set(ports)], [JSON.stringify({ host: world.app.host.replace(/\/$/, '') })]);
  });

  it('authState(): a view with the device code, its expiry and seconds left, then the token expiry; the raw actor too', async () => {
    const world = track(await startWorld());
    const handle = authState({ host: world.app.host, store: world.store });
    assert.equal(handle.view.state, 'idle');
    const views: AuthStateView[] = [];
    handle.subscribe((view) => views.push(view));
    const token = await authenticate({ host: world.app.host, store: world.store, interactive: true, openBrowser: false, onDeviceCode: personApproves().onDeviceCode });
    const polling = views.find((view) => view.state === 'device-polling' && view.deviceCode);
    assert.ok(polling?.deviceCode?.user_code && polling.deviceCodeExpiresAt);
    assert.ok(polling.secondsLeft !== undefined && polling.secondsLeft > 500 && polling.secondsLeft <= 600);
    assert.equal(views.at(-1)?.state, 'authenticated');
    assert.equal(views.at(-1)?.expires, token.expires);
    assert.equal(authActorOf(handle).getSnapshot().context.token?.access_token, token.access_token, 'the raw actor is the one that logged in');
    JSON.parse(JSON.stringify(views));
  });

  it('Client requests show in the inspector as promise actors, without secrets', async () => {
    const op = track(await startScriptedProvider());
    const events: InspectionEvent[] = [];
    const client = await Client.discover(op.issuer, 'scripted-client', { inspect: (event) => events.push(event), skipIdTokenValidation: true });
    op.token = { status: 200, body: JSON.stringify({ access_token: 'AT-INSPECT-SECRET-123', token_type: 'Bearer', refresh_token: 'RT-INSPECT-SECRET-456' }) };
    await client.obtainTokenByRefreshToken('RT-OLD-SECRET-789');
    const all = serialise(events);
    assert.match(all, /"grantType":"refresh_token"/);
    assert.ok(events.some((event) => event.type === '@xstate.snapshot' && (event as { snapshot: { status?: string } }).snapshot.status === 'done'));
    for (const secret of ['AT-INSPECT-SECRET-123', 'RT-INSPECT-SECRET-456', 'RT-OLD-SECRET-789']) assert.ok(!all.includes(secret), `${secret} leaked`);
  });
});
