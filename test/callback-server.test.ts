// The loopback callback: loopback only, strict about what it accepts, and
// safe about what it reflects.
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import { afterEach, describe, it } from 'node:test';
import { startCallbackServer, type CallbackServer } from '../src/adapters/callback-server.ts';
import { authenticate, DeviceFlow, type AuthError } from '../src/index.ts';
import { callbackMatches, type CallbackParams } from '../src/protocol/callback.ts';
import { startWorld, type World } from './fixtures/world.ts';

let server: CallbackServer | undefined;
let world: World | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  await world?.close();
  world = undefined;
});

function nonLoopbackAddress(): string | undefined {
  return Object.values(os.networkInterfaces()).flat().find((info) => info && info.family === 'IPv4' && !info.internal)?.address;
}

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.on('connect', () => (socket.destroy(), resolve(true)));
    socket.on('error', () => resolve(false));
  });
}

describe('the loopback callback server', () => {
  it('listens on loopback only', async (t) => {
    server = await startCallbackServer({ ports: [0], matches: () => true, onCallback: () => {} });
    assert.equal(await connects('127.0.0.1', server.port), true);
    const outside = nonLoopbackAddress();
    if (!outside) return t.skip('this machine has no non-loopback IPv4 address to try from');
    assert.equal(await connects(outside, server.port), false, `not reachable on ${outside}`);
  });

  it('a wrong state gets 400 and the flow keeps listening; stray paths 404; only GET; long URLs 414; a second callback 409', async () => {
    const seen: CallbackParams[] = [];
    const expected = 'r|this-login|verifier';
    server = await startCallbackServer({ ports: [0], matches: (params) => callbackMatches(params, expected), onCallback: (params) => seen.push(params) });
    const base = server.redirectUri.replace('localhost', '127.0.0.1');
    const good = `${base}?code=c1&state=${encodeURIComponent(expected)}`;
    const wrong = await fetch(`${base}?code=c0&state=${encodeURIComponent('r|http://localhost:1/callback|v')}`);
    assert.equal(wrong.status, 400);
    assert.equal(wrong.headers.get('cache-control'), 'no-store');
    assert.equal(wrong.headers.get('x-content-type-options'), 'nosniff');
    assert.equal((await fetch(base.replace('/callback', '/favicon.ico'))).status, 404);
    assert.equal((await fetch(good, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`${base}?code=${'x'.repeat(9000)}`)).status, 414);
    assert.equal(seen.length, 0, 'none of those counted');
    const held = fetch(good);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(seen.length, 1, 'the right callback is taken, after all the wrong ones');
    assert.equal((await fetch(good)).status, 409, 'a second callback is refused');
    await server.respond(true, 'done');
    assert.equal((await held).status, 200);
  });

  it('a provider error with <script> in error_description is escaped on the page and ends the login with its code', async () => {
    world = await startWorld();
    let pageText: Promise<string> | undefined;
    const login = authenticate({
      host: world.app.host, store: world.store, interactive: true, flow: 'code', redirectPorts: [0], openBrowser: false,
      onLoginUrl: async (url, redirectUri) => {
        const provider = (await fetch(url.replace('localhost', '127.0.0.1'), { redirect: 'manual' })).headers.get('location') ?? '';
        const state = encodeURIComponent(new URL(provider).searchParams.get('state') ?? '');
        pageText = fetch(`${redirectUri.replace('localhost', '127.0.0.1')}?state=${state}&error=access_denied&error_description=${encodeURIComponent('<script>alert(1)</script> & "quotes"')}`)
          .then((response) => response.text());
      },
    });
    await assert.rejects(login, (error: AuthError) => error.code === 'access_denied');
    const html = (await pageText) ?? '';
    assert.ok(!html.includes('<script>'), html);
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &quot;quotes&quot;/);
    DeviceFlow.resetInstances();
  });
});
