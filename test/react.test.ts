// UIs with the renderers people use: React (through ink, the renderer of
// terminal UIs, and ink-testing-library) subscribing to a real device login.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Text } from 'ink';
import { render } from 'ink-testing-library';
import { createElement as h, useSyncExternalStore } from 'react';
import { useSelector } from '@xstate/react';
import { authenticate, authState, type DeviceCode, type ServerOptions } from '../src/index.ts';
import { LoginStatus } from '../examples/ink-status/status.ts';
import { authActorOf } from '../src/machines.ts';
import { Person } from './fixtures/person.ts';
import { startWorld } from './fixtures/world.ts';
import { closedAfterEach } from './helpers/servers.ts';

const track = closedAfterEach();

/** console.error calls during `fn` (React reports its warnings there). */
async function reactWarnings<T>(fn: () => Promise<T>): Promise<{ result: T; warnings: string[] }> {
  const warnings: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void warnings.push(args.map(String).join(' '));
  try {
    return { result: await fn(), warnings };
  } finally {
    console.error = original;
  }
}

/** A device login approved by a scripted person after `delayMs` (so a countdown can be seen). */
function approveAfter(delayMs: number): { onDeviceCode(code: DeviceCode): void; codes: DeviceCode[] } {
  const codes: DeviceCode[] = [];
  return {
    codes,
    onDeviceCode(code) {
      codes.push(code);
      setTimeout(() => void new Person().visit(code.uri), delayMs);
    },
  };
}

const line = (view: { state: string; deviceCode?: { user_code: string } | undefined; secondsLeft?: number | undefined }) =>
  `${view.state}|${view.deviceCode?.user_code ?? ''}|${view.secondsLeft ?? ''}`;

describe('React, with a real renderer', () => {
  it('useSyncExternalStore(handle.subscribe, handle.getSnapshot), as React documents it: no warning, a ticking countdown, no secret', { timeout: 30_000 }, async () => {
    const world = track(await startWorld());
    const options: ServerOptions = { host: world.app.host, store: world.store };
    const handle = authState(options);
    function Status() {
      const view = useSyncExternalStore(handle.subscribe, handle.getSnapshot);
      return h(Text, null, line(view));
    }
    const { result, warnings } = await reactWarnings(async () => {
      const app = render(h(Status));
      const approval = approveAfter(2600);
      const token = await authenticate({ ...options, interactive: true, openBrowser: false, onDeviceCode: approval.onDeviceCode });
      await new Promise((resolve) => setTimeout(resolve, 100));
      app.unmount();
      return { frames: app.frames.filter((frame) => frame.trim() !== ''), token, code: approval.codes[0] };
    });
    assert.deepEqual(warnings, [], 'React logged nothing');
    const { frames, token, code } = result;
    const polling = frames.filter((frame) => frame.startsWith(`device-polling|${code?.user_code}|`));
    const seconds = [...new Set(polling.map((frame) => Number(frame.split('|')[2])))];
    assert.ok(seconds.length >= 2 && seconds.every((s, i) => i === 0 || s < (seconds[i - 1] ?? 0)), `the countdown ticks down: ${seconds.join(', ')}`);
    assert.ok(frames.at(-1)?.startsWith('authenticated|'), JSON.stringify(frames));
    assert.ok(frames.length < 30, `${frames.length} renders`);
    for (const frame of frames) assert.ok(!frame.includes(token.access_token) && !frame.includes(token.refresh_token));
  });

  it('oidc-auth-client/react: the examples/ink-status component (useAuthState) through a whole login, and nothing renders once nothing waits', { timeout: 30_000 }, async () => {
    const world = track(await startWorld());
    const server: ServerOptions = { host: world.app.host, store: world.store };
    const { result, warnings } = await reactWarnings(async () => {
      const app = render(h(LoginStatus, { server }));
      const approval = approveAfter(1600);
      const token = await authenticate({ ...server, interactive: true, openBrowser: false, onDeviceCode: approval.onDeviceCode });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const settled = app.frames.length;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const later = app.frames.length;
      app.unmount();
      return { frames: app.frames.slice(0, later), settled, later, token, code: approval.codes[0] };
    });
    assert.deepEqual(warnings, []);
    const { frames, settled, later, token, code } = result;
    assert.ok(frames.some((frame) => frame.includes(`and enter ${code?.user_code}`) && /\d+ s left/.test(frame)), 'the device code and its countdown');
    assert.match(frames.at(-1) ?? '', /authenticated\nLogged in; the token is valid until/);
    assert.equal(later, settled, 'no re-render once authenticated: the tick stopped');
    for (const frame of frames) assert.ok(!frame.includes(token.access_token) && !frame.includes(token.refresh_token));
  });

  it("@xstate/react's useSelector(authActorOf(handle), ...) follows the same actor", { timeout: 30_000 }, async () => {
    const world = track(await startWorld());
    const options: ServerOptions = { host: world.app.host, store: world.store };
    const handle = authState(options);
    function State() {
      const value = useSelector(authActorOf(handle), (snapshot) => JSON.stringify(snapshot.value));
      // The first thing an XState user tries: the handle's own actor, untyped by authActorOf, works with the hook too.
      const status = useSelector(handle.actor, (snapshot) => snapshot.status);
      if (status !== 'active') throw new Error(`the actor is ${status}`);
      return h(Text, null, value);
    }
    const { result, warnings } = await reactWarnings(async () => {
      const app = render(h(State));
      await authenticate({ ...options, interactive: true, openBrowser: false, onDeviceCode: approveAfter(0).onDeviceCode });
      await new Promise((resolve) => setTimeout(resolve, 100));
      app.unmount();
      return app.frames.filter((frame) => frame.trim() !== '');
    });
    assert.deepEqual(warnings, []);
    assert.equal(result[0], '"idle"');
    assert.ok(result.includes('{"device-polling":"waiting"}'), result.join(' '));
    assert.equal(result.at(-1), '{"authenticated":"resting"}', 'authenticated, not keeping fresh (keepFresh: "keeping-fresh")');
  });

  it('subscribe returns a function that unsubscribes (and still has .unsubscribe()); the snapshot object is stable between changes', async () => {
    const world = track(await startWorld());
    const handle = authState({ host: world.app.host, store: world.store });
    assert.equal(authState({ host: world.app.host, store: world.store }), handle, 'one handle per host actor');
    assert.equal(handle.getSnapshot(), handle.getSnapshot());
    assert.equal(handle.view, handle.getSnapshot());
    let calls = 0;
    const stop = handle.subscribe(() => (calls += 1));
    assert.equal(typeof stop, 'function');
    assert.equal(typeof stop.unsubscribe, 'function');
    stop();
    const before = calls;
    handle.actor.send({ type: 'CANCEL' });
    await authenticate({ host: world.app.host, store: world.store, interactive: false }).catch(() => {});
    assert.equal(calls, before, 'no call after unsubscribing');
  });
});
