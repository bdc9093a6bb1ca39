// The loopback callback: loopback only, strict about what it accepts, and
// safe about what it reflects.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import os from 'node:os';
import { afterEach, describe, it } from 'node:test';
import { isBindRefused, startCallbackServer, type CallbackServer } from '../src/adapters/browser/callback-server.ts';
import { authenticate, DeviceFlow, type AuthError } from '../src/index.ts';
import { callbackMatches, type CallbackParams } from '../src/protocol/callback.ts';
import { startWorld, type World } from './fixtures/world.ts';
import { accepts } from './helpers/ports.ts';
import { CookieJar } from './fixtures/person.ts';

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

/** Open a one-time login address as a browser: where it redirects, and the cookie it sets as a `Cookie` header. */
async function openLoginAddress(startUrl: string): Promise<{ location: string; cookie: string }> {
  const opened = await fetch(startUrl.replace('localhost', '127.0.0.1'), { redirect: 'manual' });
  assert.equal(opened.status, 302);
  const jar = new CookieJar();
  jar.take(opened);
  return { location: opened.headers.get('location') ?? '', cookie: jar.header };
}

describe('the loopback callback server', () => {
  it('listens on loopback only', async (t) => {
    server = await startCallbackServer({ ports: [0], matches: () => true, onCallback: () => {} });
    assert.equal(await accepts('127.0.0.1', server.port), true);
    const outside = nonLoopbackAddress();
    if (!outside) return t.skip('this machine has no non-loopback IPv4 address to try from');
    assert.equal(await accepts(outside, server.port), false, `not reachable on ${outside}`);
  });

  it('a wrong state gets 400 and the flow keeps listening; stray paths 404; only GET; long URLs 414; a second callback 409', async () => {
    const seen: CallbackParams[] = [];
    const expected = 'r|this-login|verifier';
    server = await startCallbackServer({ ports: [0], matches: (params) => callbackMatches(params, expected), onCallback: (params) => seen.push(params) });
    server.setLoginTarget('http://provider.example/auth');
    const base = server.redirectUri.replace('localhost', '127.0.0.1');
    const good = `${base}?code=c1&state=${encodeURIComponent(expected)}`;
    const headers = { cookie: (await openLoginAddress(server.startUrl)).cookie };
    const wrong = await fetch(`${base}?code=c0&state=${encodeURIComponent('r|http://localhost:1/callback|v')}`);
    assert.equal(wrong.status, 400);
    assert.equal(wrong.headers.get('cache-control'), 'no-store');
    assert.equal(wrong.headers.get('x-content-type-options'), 'nosniff');
    assert.equal((await fetch(base.replace('/callback', '/favicon.ico'))).status, 404);
    assert.equal((await fetch(good, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`${base}?code=${'x'.repeat(9000)}`)).status, 414);
    assert.equal(seen.length, 0, 'none of those counted');
    const held = fetch(good, { headers });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(seen.length, 1, 'the right callback is taken, after all the wrong ones');
    assert.equal((await fetch(good, { headers })).status, 409, 'a second callback is refused');
    await server.respond(true, 'done');
    assert.equal((await held).status, 200);
  });

  it('the login address: one-time, its secret exact; it sets an HttpOnly, SameSite=Lax cookie for the callback host, and only a callback with that cookie is taken', async () => {
    const seen: CallbackParams[] = [];
    const refused: string[] = [];
    const expected = 'r|this-login|verifier';
    server = await startCallbackServer({ ports: [0], matches: (params) => callbackMatches(params, expected), onCallback: (params) => seen.push(params), onRefused: (message) => refused.push(message) });
    const start = new URL(server.startUrl);
    assert.equal(start.host, new URL(server.redirectUri).host, 'the login address and the redirect URI share a host, so the cookie reaches the callback');
    const secret = start.pathname.split('/')[2] ?? '';
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/, '256 random bits');
    const local = (pathname: string) => `http://127.0.0.1:${server?.port}${pathname}`;
    assert.equal((await fetch(local('/login/'), { redirect: 'manual' })).status, 404);
    assert.equal((await fetch(local('/login'), { redirect: 'manual' })).status, 404, 'no login without the secret');
    assert.equal((await fetch(local(`/login/${secret.slice(0, -1)}x`), { redirect: 'manual' })).status, 404, 'nor with a wrong one');
    assert.equal((await fetch(local(start.pathname), { redirect: 'manual' })).status, 503, 'not ready: nothing consumed');
    server.setLoginTarget('http://provider.example/auth?state=s');
    const opened = await fetch(local(start.pathname), { redirect: 'manual' });
    assert.equal(opened.status, 302);
    assert.equal(opened.headers.get('location'), 'http://provider.example/auth?state=s');
    const [setCookie = ''] = opened.headers.getSetCookie();
    assert.match(setCookie, new RegExp(`^oidc-auth-login-${server.port}=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Lax; Path=/$`));
    assert.ok(!setCookie.includes(secret), 'the cookie is not the address\'s secret');
    const again = await fetch(local(start.pathname), { redirect: 'manual' });
    assert.equal(again.status, 403, 'the address works once');
    assert.equal(again.headers.get('location'), null);
    const callback = local(`/callback?code=c1&state=${encodeURIComponent(expected)}`);
    assert.equal((await fetch(callback)).status, 403, 'no cookie');
    assert.equal((await fetch(callback, { headers: { cookie: `oidc-auth-login-${server.port}=${'A'.repeat(43)}` } })).status, 403, 'a wrong cookie');
    assert.equal((await fetch(callback, { headers: { cookie: `oidc-auth-login-1=${setCookie.split(';')[0]?.split('=')[1]}` } })).status, 403, "another port's cookie name");
    assert.equal(seen.length, 0);
    const held = fetch(callback, { headers: { cookie: `other=1; ${setCookie.split(';')[0]}` } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(seen.length, 1, 'the callback with the cookie is taken');
    await server.respond(true, 'done');
    assert.equal((await held).status, 200);
    assert.equal(refused.length, 2, refused.join('\n'));
    assert.ok(refused.every((message) => !message.includes(secret)));
  });

  it('bindToBrowser: false (a caller that sends the browser straight to the provider): the state alone decides', async () => {
    const seen: CallbackParams[] = [];
    server = await startCallbackServer({ ports: [0], bindToBrowser: false, matches: (params) => callbackMatches(params, 's'), onCallback: (params) => seen.push(params) });
    const held = fetch(`http://127.0.0.1:${server.port}/callback?code=c&state=s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(seen.length, 1);
    await server.respond(true, 'done');
    assert.equal((await held).status, 200);
  });

  it('a provider error with <script> in error_description is escaped on the page and ends the login with its code', async () => {
    world = await startWorld();
    let pageText: Promise<string> | undefined;
    const login = authenticate({
      host: world.app.host, store: world.store, interactive: true, flow: 'code', redirectPorts: [0], openBrowser: false,
      onLoginUrl: async (url, redirectUri) => {
        const { location, cookie } = await openLoginAddress(url);
        const state = encodeURIComponent(new URL(location).searchParams.get('state') ?? '');
        pageText = fetch(`${redirectUri.replace('localhost', '127.0.0.1')}?state=${state}&error=access_denied&error_description=${encodeURIComponent('<script>alert(1)</script> & "quotes"')}`, { headers: { cookie } })
          .then((response) => response.text());
      },
    });
    await assert.rejects(login, (error: AuthError) => error.code === 'access_denied');
    const html = (await pageText) ?? '';
    assert.ok(!html.includes('<script>'), html);
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &quot;quotes&quot;/);
    DeviceFlow.resetInstances();
  });

  it('a port refused with EACCES (or Windows\' WSAEACCES, 10013) counts as unavailable, never as busy', () => {
    for (const error of [{ code: 'EACCES' }, { code: 'WSAEACCES' }, { errno: 10013 }, { errno: -10013 }]) assert.equal(isBindRefused(error), true, JSON.stringify(error));
    for (const error of [{ code: 'EADDRINUSE' }, { errno: -98 }, undefined, 'EACCES']) assert.equal(isBindRefused(error), false, JSON.stringify(error));
  });

  it('ports the system refuses (EACCES: below 1024 for an unprivileged user) are skipped; when all are refused the error says reserved, not busy; a standard provider falls back to any port', { skip: process.getuid?.() !== 0 && 'needs root to act as an unprivileged user (setpriv)' }, () => {
    const module = JSON.stringify(path.join(import.meta.dirname, '..', 'src', 'adapters', 'browser', 'callback-server.ts'));
    const script = `
      import net from 'node:net';
      import { startCallbackServer } from ${module};
      const base = { matches: () => false, onCallback: () => {} };
      const outcome = async (options) => { try { const s = await startCallbackServer({ ...base, ...options }); await s.close(); return { port: s.port }; } catch (e) { return { code: e.code, message: e.message }; } };
      const free = await new Promise((resolve) => { const probe = net.createServer().listen(0, '127.0.0.1', () => { const p = probe.address().port; probe.close(() => resolve(p)); }); });
      console.log(JSON.stringify({ free, all: await outcome({ ports: [80, 81] }), next: await outcome({ ports: [80, free] }), fallback: await outcome({ ports: [80], fallbackToAnyPort: true }) }));`;
    const output = execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', cwd: '/' });
    const { free, all, next, fallback } = JSON.parse(output) as { free: number; all: { code: string; message: string }; next: { port: number }; fallback: { port: number } };
    assert.equal(all.code, 'port_unavailable');
    assert.match(all.message, /The callback ports \(80, 81\) are reserved or not allowed for this user, not busy/);
    assert.match(all.message, /netsh interface ipv4 show excludedportrange protocol=tcp/);
    assert.match(all.message, /\(redirectPorts, -p\), or use the device flow/);
    assert.doesNotMatch(all.message, /Close the program that holds them/);
    assert.equal(next.port, free, 'the refused port is skipped for the next one');
    assert.ok(fallback.port > 1023, `a port the system chose: ${fallback.port}`);
  });

  it('a standard provider\'s login falls back to a port the system chooses when its ports are busy', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const busy = (holder.address() as net.AddressInfo).port;
    try {
      await assert.rejects(startCallbackServer({ ports: [busy], hostname: '127.0.0.1', matches: () => false, onCallback: () => {} }), (error: AuthError) => error.code === 'port_unavailable' && /Close the program that holds them/.test(error.message));
      server = await startCallbackServer({ ports: [busy], fallbackToAnyPort: true, hostname: '127.0.0.1', matches: () => false, onCallback: () => {} });
      assert.notEqual(server.port, busy);
      assert.equal(server.redirectUri, `http://127.0.0.1:${server.port}/callback`);
    } finally {
      holder.close();
    }
  });
});
