// keepFresh with the real stack: the host's statechart refreshes ahead of
// expiry against the real provider, and its timer never keeps a process alive.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { authenticate, authState } from '../src/index.ts';
import { resetHostActors } from '../src/host/registry.ts';
import { personApproves, startWorld } from './fixtures/world.ts';
import { nodeScript } from './helpers/cli.ts';
import { closedAfterEach } from './helpers/servers.ts';

const track = closedAfterEach();

describe('keepFresh', () => {
  it('2-second tokens: refreshed in the background about once per lifetime, the view shows it, and stopping the actor stops it', async () => {
    const world = track(await startWorld({ idp: { accessTokenTtl: 2 } }));
    const person = personApproves();
    const options = { host: world.app.host, store: world.store, interactive: true, openBrowser: false as const, flow: 'device' as const, onDeviceCode: person.onDeviceCode };
    const first = await authenticate({ ...options, keepFresh: true });
    const states = new Set<string>();
    const unsubscribe = authState(options).subscribe((view) => states.add(view.state));
    const before = world.app.requests.refresh;
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const refreshes = world.app.requests.refresh - before;
    assert.ok(refreshes >= 3 && refreshes <= 8, `${refreshes} background refreshes in 6 s of 2-second tokens`);
    assert.ok(states.has('refreshing-ahead'), [...states].join(' '));
    assert.notEqual(world.store.get(world.app.host)?.access_token, first.access_token, 'the stored token moved on');
    assert.equal(authState(options).view.backgroundError, undefined);
    unsubscribe();
    resetHostActors();
    const after = world.app.requests.refresh;
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(world.app.requests.refresh, after, 'no refresh once the actor stopped');
  });

  it('never keeps a process alive: a script that asks with keepFresh and a cached token ends by itself', async () => {
    const world = track(await startWorld());
    const person = personApproves();
    await authenticate({ host: world.app.host, store: world.store, interactive: true, openBrowser: false, flow: 'device', onDeviceCode: person.onDeviceCode });
    const script = path.join(world.dir, 'keep-fresh.ts');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(script, `import { authenticate, TokenStore } from ${JSON.stringify(path.join(import.meta.dirname, '..', 'src', 'index.ts'))};
const token = await authenticate({ host: ${JSON.stringify(world.app.host)}, store: new TokenStore({ path: ${JSON.stringify(world.store.path)} }), interactive: false, keepFresh: true });
console.log(token.expires > Date.now() / 1000 ? 'ok' : 'expired');\n`);
    const started = Date.now();
    assert.equal(await nodeScript(script, []), 'ok\n');
    assert.ok(Date.now() - started < 10_000, 'it ended by itself, long before the background refresh was due');
  });
});
