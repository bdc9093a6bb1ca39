// Attacks, tried as an attacker would: a hostile page in the person's browser,
// another user on the same machine, a hostile server. Each test reproduces the
// attack against the SDK and checks what the person would check afterwards:
// whose token is stored, where the secrets went, what reached the terminal.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { authenticate, DeviceFlow, TokenStore, type AuthError, type Token } from '../src/index.ts';
import { withFileLock } from '../src/adapters/store/lock.ts';
import { parseDeviceCodeResponse } from '../src/protocol/device.ts';
import { providerKey } from '../src/protocol/store-key.ts';
import { parseTokenResponse } from '../src/protocol/token.ts';
import { startWebStatus } from '../examples/web-status/server.ts';
import { runCli, startCli } from './helpers/cli.ts';
import { closedAfterEach } from './helpers/servers.ts';
import { Person } from './fixtures/person.ts';
import { startScriptedProvider } from './fixtures/scripted-provider.ts';
import { loopbackRedirects } from './fixtures/idp.ts';
import { startWorld } from './fixtures/world.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-security-'));
fs.chmodSync(dir, 0o755);
// The private caches of this test process live here, not in the real home.
process.env.XDG_CACHE_HOME = path.join(dir, 'private-cache');
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const closeLater = closedAfterEach();
const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
/** Callback ports of this file's code-flow logins (registered at the test provider; other files use 53100-53105). */
const CSRF_PORTS = [53110, 53111];
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

function sendRaw(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    request.on('error', reject);
  });
}

function storeIn(folder: string): TokenStore {
  fs.mkdirSync(folder, { recursive: true });
  return new TokenStore({ path: path.join(folder, 'token-store.json'), lockTimeout: 2000, onWarning: () => {} });
}

function token(access = 'at-victim', refresh = 'rt-victim', lifetime = 3600): Token {
  const now = Math.floor(Date.now() / 1000);
  return { access_token: access, token_type: 'Bearer', expires: now + lifetime, refresh_token: refresh, refresh_expires: now + 7200, scope: 'openid', headers: { Authorization: `Bearer ${access}` } };
}

/** A loopback server answering every request with `handler`; counts hits. */
async function serve(handler: http.RequestListener): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return closeLater({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  });
}

/** Run a node snippet in a child (things that might hang or spin), killed after `limitMs`. */
function child(code: string, options: { limitMs: number; uid?: number; cwd?: string }): Promise<{ code: number | null; stdout: string; stderr: string; killed: boolean; cpuMs: number }> {
  const script = path.join(dir, `child-${Math.random().toString(36).slice(2)}.ts`);
  fs.writeFileSync(script, `${code}\nconst u = process.cpuUsage(); process.stdout.write('\\ncpu=' + Math.round((u.user + u.system) / 1000) + '\\n');\n`);
  fs.chmodSync(script, 0o644);
  const command = options.uid === undefined ? [process.execPath, script] : ['setpriv', `--reuid=${options.uid}`, `--regid=${options.uid}`, '--clear-groups', process.execPath, script];
  return new Promise((resolve) => {
    const proc = spawn(command[0] as string, command.slice(1), { cwd: options.cwd ?? path.join(import.meta.dirname, '..'), env: { PATH: process.env.PATH, HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      killed = true;
      proc.kill('SIGKILL');
    }, options.limitMs);
    proc.on('close', (exit) => {
      clearTimeout(timer);
      resolve({ code: exit, stdout, stderr, killed, cpuMs: Number(/cpu=(\d+)/.exec(stdout)?.[1] ?? -1) });
    });
  });
}

const SRC = path.join(import.meta.dirname, '..', 'src');

/** Run `fn` on a fresh 64 KiB tmpfs (root only), unmounted afterwards; skips where mounting is not allowed. */
async function onTinyTmpfs(t: { skip(message: string): void }, name: string, fn: (mount: string) => Promise<void>): Promise<void> {
  const mount = path.join(dir, name);
  fs.mkdirSync(mount);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mount]);
  } catch {
    return t.skip('mounting a tmpfs is not allowed here');
  }
  try {
    await fn(mount);
  } finally {
    execFileSync('umount', [mount]);
  }
}

/** A lock file left a minute ago by a pid that does not exist here. */
function staleLock(lock: string, mode: number): void {
  fs.writeFileSync(lock, JSON.stringify({ pid: 999_999_999, hostname: os.hostname(), nonce: 'stale' }), { mode });
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(lock, old, old);
}

/** Try to take `lock` in a child process (as `uid`), 1.5 s timeout: what it printed and the CPU it used. */
function takeLockInChild(lock: string, uid?: number) {
  return child(`
    import { withFileLock } from ${JSON.stringify(path.join(SRC, 'adapters', 'store', 'lock.ts'))};
    try { await withFileLock(${JSON.stringify(lock)}, () => 1, { timeoutMs: 1500, staleMs: 500 }); console.log('got it'); }
    catch (error) { console.log('code=' + error.code); console.log(error.message); }
  `, { limitMs: 8000, uid, cwd: dir });
}

/**
 * Open the one-time loopback login address as the person's browser would and
 * stop at the provider: its URL (with this login's state), and the browser,
 * which holds the cookie the callback must carry.
 */
async function openLoginAddress(startUrl: string): Promise<{ provider: URL; browser: Person }> {
  let stopped = false;
  const browser = new Person({ stopBefore: (next) => !stopped && next !== startUrl && (stopped = true) });
  const at = await browser.visit(startUrl);
  return { provider: new URL(at.url), browser };
}

describe('login CSRF on the host-mode callback (a hostile page in the browser)', () => {
  async function startLogin() {
    const world = closeLater(await startWorld({ idp: { redirectUris: loopbackRedirects(CSRF_PORTS) } }));
    let show: (value: { url: string; redirectUri: string }) => void = () => {};
    const shown = new Promise<{ url: string; redirectUri: string }>((resolve) => (show = resolve));
    const login = authenticate({
      host: world.app.host, store: world.store, interactive: true, flow: 'code', redirectPorts: CSRF_PORTS, timeout: 20, openBrowser: false,
      onLoginUrl: (url, redirectUri) => show({ url, redirectUri }),
    });
    login.catch(() => {});
    return { world, login, ...(await shown) };
  }

  it("a page that sends the attacker's code and state gets 400; the person's own login still lands and stores their token", async () => {
    const { world, login, url, redirectUri } = await startLogin();
    const forged = `${redirectUri.replace('localhost', '127.0.0.1')}?code=attackers-code&state=${encodeURIComponent(`attacker|${redirectUri}|attackers-verifier`)}`;
    const attack = await sendRaw(forged, { host: new URL(redirectUri).host });
    assert.equal(attack.status, 400, 'the forged callback is refused');
    assert.equal(world.app.requests.code, 0, 'no code exchange for the forged callback');
    const seen = await new Person().visit(url);
    assert.equal(seen.status, 200, seen.text);
    const token = await login;
    assert.equal(world.app.requests.code, 1);
    assert.deepEqual(world.store.get(world.app.host), token);
  });

  it('the URL shown is the loopback /login, with no state in it; it redirects to the provider URL whose state the SDK learnt from the login route', async () => {
    const { world, login, url, redirectUri } = await startLogin();
    assert.match(url, new RegExp(`^${redirectUri.replace(/\/callback$/, '').replace(/[.:/]/g, '\\$&')}/login/[A-Za-z0-9_-]{43}$`), 'the one-time login address');
    const { provider, browser } = await openLoginAddress(url);
    assert.equal(`${provider.origin}${provider.pathname}`, `${world.idp.issuer}/auth`);
    assert.equal(provider.searchParams.get('state')?.split('|')[1], redirectUri, "the server's state for this redirect URI");
    assert.equal(world.app.requests.login, 1, 'the route was asked once, by the SDK');
    await browser.visit(provider.toString());
    await login;
  });

  it('a request with a non-loopback Host (DNS rebinding) gets 421 and is not taken', async () => {
    const { world, login, url, redirectUri } = await startLogin();
    const { provider, browser } = await openLoginAddress(url);
    const state = provider.searchParams.get('state') ?? '';
    const port = new URL(redirectUri).port;
    const rebound = await sendRaw(`http://127.0.0.1:${port}/callback?error=access_denied&state=${encodeURIComponent(state)}`, { host: `evil.example:${port}`, cookie: browser.cookie });
    assert.equal(rebound.status, 421);
    await browser.visit(provider.toString());
    await login;
    assert.equal(world.app.requests.code, 1);
  });

  it('an error callback without the right state cannot abort the login', async () => {
    const { world, login, url, redirectUri } = await startLogin();
    const host = { host: new URL(redirectUri).host };
    const base = redirectUri.replace('localhost', '127.0.0.1');
    assert.equal((await sendRaw(`${base}?error=login_required`, host)).status, 400);
    assert.equal((await sendRaw(`${base}?error=access_denied&state=${encodeURIComponent(`x|${redirectUri}|y`)}`, host)).status, 400);
    await new Person().visit(url);
    const token = await login;
    assert.deepEqual(world.store.get(world.app.host), token);
  });

  it('a used callback replayed into the next login is refused', async () => {
    const { world, login, url, redirectUri } = await startLogin();
    const first = await new Person().visit(url);
    await login;
    let listening: () => void = () => {};
    const ready = new Promise<void>((resolve) => (listening = resolve));
    const again = authenticate({
      host: world.app.host, store: world.store, interactive: true, flow: 'code', redirectPorts: [Number(new URL(redirectUri).port)], timeout: 5, force: true, openBrowser: false, onLoginUrl: () => listening(),
    });
    again.catch(() => {});
    await ready; // The next login's callback server listens.
    const replay = await sendRaw(first.url.replace('localhost', '127.0.0.1'), { host: new URL(first.url).host });
    assert.equal(replay.status, 400, 'the old state does not belong to this login');
    assert.equal(world.app.requests.code, 1, 'the replayed code is not exchanged');
    DeviceFlow.resetInstances();
    await assert.rejects(again);
  });
});

/** Who the provider says the access token is for (oidc-provider's userinfo endpoint). */
async function whoseToken(issuer: string, accessToken: string): Promise<string> {
  const response = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  assert.equal(response.status, 200, 'userinfo answers for the stored access token');
  return ((await response.json()) as { sub: string }).sub;
}

describe('another user on the same machine (the loopback login)', () => {
  /** A code-flow login in host mode whose login address and refusal messages the test sees. */
  async function startLogin(options: { idp?: { redirectUris: string[] }; ports?: number[] } = {}) {
    const world = closeLater(await startWorld({ idp: options.idp ?? { redirectUris: loopbackRedirects(CSRF_PORTS) } }));
    const refusals: string[] = [];
    let show: (value: { url: string; redirectUri: string }) => void = () => {};
    const shown = new Promise<{ url: string; redirectUri: string }>((resolve) => (show = resolve));
    const login = authenticate({
      host: world.app.host, store: world.store, interactive: true, flow: 'code', redirectPorts: options.ports ?? CSRF_PORTS, timeout: 30, openBrowser: false,
      onLoginUrl: (url, redirectUri) => show({ url, redirectUri }),
      onLoginRefused: (message) => refusals.push(message),
    });
    login.catch(() => {});
    return { world, login, refusals, ...(await shown) };
  }

  it("another user who knows the whole login address gets a bare 403 for the login address and the callback; the person's own login then lands with the person's identity", { skip: !isRoot && 'needs root to act as another user (setpriv)' }, async () => {
    const { world, login, refusals, url, redirectUri } = await startLogin();
    // Mallory runs the whole attack as another user: open the login address, log in at the provider as herself, deliver her callback.
    const attack = await child(`
      import { Person } from ${JSON.stringify(path.join(import.meta.dirname, 'fixtures', 'person.ts'))};
      const seen = await new Person({ login: 'mallory' }).visit(${JSON.stringify(url)});
      console.log(JSON.stringify({ status: seen.status, url: seen.url, length: seen.text.length }));
      const forged = await fetch(${JSON.stringify(`${redirectUri}?code=mallorys-code&state=any`)}).then(async (r) => ({ status: r.status, length: (await r.text()).length }), () => ({ status: 0, length: 0 }));
      console.log(JSON.stringify(forged));
    `, { limitMs: 20_000, uid: NOBODY, cwd: dir });
    assert.equal(attack.code, 0, attack.stderr);
    const [opened, delivered] = attack.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { status: number; url: string; length: number });
    assert.deepEqual(opened, { status: 403, url, length: 0 }, 'the login address answers another user 403 and says nothing else');
    assert.deepEqual({ status: delivered?.status, length: delivered?.length }, { status: 403, length: 0 }, 'so does the callback');
    assert.equal(world.app.requests.code, 0, 'no code was exchanged');
    // Nothing was consumed: the person opens the same address and logs in.
    const seen = await new Person({ login: 'alice' }).visit(url);
    assert.equal(seen.status, 200, seen.text);
    const token = await login;
    assert.equal(await whoseToken(world.idp.issuer, token.access_token), 'alice', 'the stored token is the person\'s own');
    assert.deepEqual(world.store.get(world.app.host), token);
    assert.equal(refusals.length, 1, refusals.join('\n'));
    assert.match(refusals[0] ?? '', /^Another user's connection to the login port \d+ was refused/);
    const secret = new URL(url).pathname.split('/').pop() ?? '';
    assert.ok(secret.length >= 32 && !refusals[0]?.includes(secret), 'the message does not carry the login address\'s secret');
  });

  it('the CLI: another user\'s request is refused and the terminal says so once, without the secret; the person\'s login goes on', { skip: !isRoot && 'needs root to act as another user (setpriv)' }, async () => {
    const world = closeLater(await startWorld({ idp: { redirectUris: loopbackRedirects(CSRF_PORTS) } }));
    let attacked: Promise<unknown> | undefined;
    const run = startCli([world.app.host, '--flow', 'code', '-p', String(CSRF_PORTS[0]), '--no-browser', '--interactive', '--timeout', '20', '--store', world.store.path], {}, {
      onStderr: (stderr) => {
        const url = /(http:\/\/localhost:\d+\/login\/[A-Za-z0-9_-]+)/.exec(stderr)?.[1];
        if (!url || attacked) return;
        attacked = (async () => {
          for (let i = 0; i < 2; i += 1) await child(`console.log((await fetch(${JSON.stringify(url)}, { redirect: 'manual' })).status);`, { limitMs: 10_000, uid: NOBODY, cwd: dir });
          await new Person({ login: 'alice' }).visit(url);
        })();
      },
    });
    const result = await run.done;
    await attacked;
    assert.equal(result.code, 0, result.stderr);
    const told = result.stderr.split('\n').filter((line) => line.includes('refused'));
    assert.equal(told.length, 1, result.stderr);
    assert.match(told[0] ?? '', new RegExp(`^! Another user's connection to the login port ${CSRF_PORTS[0]} was refused`));
    const secret = /\/login\/([A-Za-z0-9_-]+)/.exec(result.stderr)?.[1] ?? '';
    assert.ok(!(told[0] ?? '').includes(secret));
  });

  it('a callback with the right state from another client than the browser that opened the login address is refused; that browser then finishes', async () => {
    const { world, login, refusals, url } = await startLogin();
    let stopped = false;
    const browser = new Person({ login: 'alice', stopBefore: (next) => !stopped && next.includes('/callback?') && (stopped = true) });
    const held = await browser.visit(url);
    assert.match(held.url, /\/callback\?code=/, 'the browser holds the real callback, with the code and the right state');
    const other = await sendRaw(held.url.replace('localhost', '127.0.0.1'));
    assert.equal(other.status, 403, other.text);
    assert.match(other.text, /did not come from the browser that opened the login address/);
    assert.equal(world.app.requests.code, 0, 'its code was not exchanged');
    const finished = await browser.visit(held.url);
    assert.equal(finished.status, 200, finished.text);
    const token = await login;
    assert.equal(await whoseToken(world.idp.issuer, token.access_token), 'alice');
    assert.equal(world.app.requests.code, 1);
    assert.deepEqual(refusals, [refusals[0]]);
    assert.match(refusals[0] ?? '', /callback from another client than the browser that opened the login address was refused/);
  });

  it('the login address works once: a second opening gets 403 (told once), the first browser still finishes', async () => {
    const { world, login, refusals, url } = await startLogin();
    let stopped = false;
    const first = new Person({ login: 'alice', stopBefore: (next) => !stopped && next.startsWith(world.idp.issuer) && (stopped = true) });
    const atProvider = await first.visit(url);
    assert.ok(atProvider.url.startsWith(`${world.idp.issuer}/auth?`), atProvider.url);
    for (let again = 0; again < 2; again += 1) {
      const second = await sendRaw(url.replace('localhost', '127.0.0.1'));
      assert.equal(second.status, 403);
      assert.match(second.text, /already been opened, and it works only once/);
      assert.doesNotMatch(second.text, /state=|\/auth\?/, 'the provider URL is not given out');
    }
    const done = await new Person({ login: 'alice' }).visit(atProvider.url).catch(() => undefined);
    assert.equal(done?.status, 403, 'another browser that got hold of the provider URL cannot deliver the callback either');
    const finished = await first.visit(atProvider.url);
    assert.equal(finished.status, 200, finished.text);
    await login;
    assert.equal(refusals.filter((message) => /opened a second time/.test(message)).length, 1, refusals.join('\n'));
    assert.ok(!refusals.join('\n').includes(new URL(url).pathname), 'no message carries the login address');
  });
});

describe('the web-status example (a hostile page in the browser)', () => {
  it('answers a DNS-rebinding Host with 421, and its code-flow view carries the loopback /login URL, never the state', async () => {
    const world = closeLater(await startWorld({ idp: { redirectUris: loopbackRedirects(CSRF_PORTS) } }));
    const status = closeLater(await startWebStatus({ host: world.app.host, store: world.store, interactive: true, flow: 'code', redirectPorts: CSRF_PORTS, timeout: 20 }));
    const port = new URL(status.url).port;
    const rebound = await sendRaw(`${status.url}events`, { host: `evil.example:${port}` });
    assert.equal(rebound.status, 421);
    assert.doesNotMatch(rebound.text, /state|login/i);
    const view = await new Promise<string>((resolve) => {
      http.get(`${status.url}events`, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes('code-awaiting-callback')) {
            res.destroy();
            resolve(text);
          }
        });
      });
    });
    assert.match(view, /"loginUrl":"http:\/\/localhost:5311[01]\/login\/[A-Za-z0-9_-]{43}"/);
    assert.doesNotMatch(view, /state=/);
    status.login.catch(() => {});
  });
});

describe('planted metadata cache (another local user, a shared folder)', () => {
  it('a discovery document planted beside a store in a shared folder is never read: the refresh goes to the real provider', async () => {
    const provider = closeLater(await startScriptedProvider());
    const attacker = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"attackers","expires_in":3600}'));
    const shared = path.join(dir, 'shared-project');
    const store = storeIn(shared);
    const key = providerKey(provider.issuer, 'scripted-client', ['openid', 'offline_access']);
    await store.put(key, token('at-old', 'rt-victim', -10));
    const url = `${provider.issuer}/.well-known/openid-configuration`;
    const planted = path.join(shared, 'oidc-metadata', `${createHash('sha256').update(url).digest('hex').slice(0, 32)}.json`);
    fs.mkdirSync(path.dirname(planted), { recursive: true });
    fs.writeFileSync(planted, JSON.stringify({ url, expires_at: Date.now() / 1000 + 3600, body: { issuer: provider.issuer, token_endpoint: `${attacker.url}/token`, authorization_endpoint: `${attacker.url}/auth` } }));
    provider.token = { status: 200, body: JSON.stringify({ access_token: 'at-fresh', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-fresh' }) };
    const fresh = await authenticate({ issuer: provider.issuer, clientId: 'scripted-client', store });
    assert.equal(fresh.access_token, 'at-fresh');
    assert.deepEqual(attacker.hits, [], 'nothing was sent to the planted endpoint');
    assert.equal(provider.hits['/token'], 1);
  });

  it('a cached document that no longer passes the checks of a fresh one is fetched again', async () => {
    const provider = closeLater(await startScriptedProvider());
    const store = storeIn(path.join(dir, 'private-store'));
    const key = providerKey(provider.issuer, 'scripted-client', ['openid', 'offline_access']);
    await store.put(key, token('at-old', 'rt-victim', -10));
    provider.token = { status: 200, body: JSON.stringify({ access_token: 'at-fresh-2', token_type: 'Bearer', expires_in: 3600 }) };
    await authenticate({ issuer: provider.issuer, clientId: 'scripted-client', store });
    const folder = path.join(process.env.XDG_CACHE_HOME as string, 'oidc-auth-client', 'metadata');
    const files = fs.readdirSync(folder).filter((name) => name.endsWith('.json'));
    assert.ok(files.length > 0, `the private cache is used: ${folder}`);
    for (const name of files) {
      const file = path.join(folder, name);
      const entry = JSON.parse(fs.readFileSync(file, 'utf8')) as { body: Record<string, unknown> };
      if (entry.body.issuer === provider.issuer) fs.writeFileSync(file, JSON.stringify({ ...entry, body: { ...entry.body, issuer: 'https://impostor.example' } }));
    }
    DeviceFlow.resetInstances();
    const { clearMetadataMemory } = await import('../src/servers/client/metadata-cache.ts');
    clearMetadataMemory();
    await store.put(key, token('at-old', 'rt-victim', -10));
    const discoveries = provider.hits['/.well-known/openid-configuration'] ?? 0;
    await authenticate({ issuer: provider.issuer, clientId: 'scripted-client', store });
    assert.equal(provider.hits['/.well-known/openid-configuration'], discoveries + 1, 'the damaged cache entry was replaced by a fresh fetch');
    assert.equal(fs.statSync(folder).mode & 0o077, 0, 'the cache folder is private');
  });
});

describe('planted or linked store (another local user)', () => {
  it('a store file owned by another user is refused with store_error, its token never used', { skip: !isRoot && 'needs root to make a file owned by another user' }, async () => {
    const store = storeIn(path.join(dir, 'foreign-owner'));
    fs.writeFileSync(store.path, JSON.stringify({ 'https://app.example': { token: token('at-attacker'), stored_at: 0 } }), { mode: 0o600 });
    fs.chownSync(store.path, NOBODY, NOBODY);
    assert.throws(() => store.get('https://app.example'), (error: AuthError) => error.code === 'store_error' && /owned by another user/.test(error.message));
    await assert.rejects(store.put('https://other.example', token()), (error: AuthError) => error.code === 'store_error');
    assert.doesNotMatch(fs.readFileSync(store.path, 'utf8'), /at-victim/, 'no token written into their file');
    const cli = await runCli(['https://app.example', '--store', store.path]);
    assert.equal(cli.stdout, '', 'the CLI prints no token from it');
    assert.match(cli.stderr, /owned by another user/);
  });

  it('a symlink at the store path is refused; the link target keeps its content and mode', async () => {
    const folder = path.join(dir, 'linked');
    const store = storeIn(folder);
    const target = path.join(dir, 'precious.txt');
    fs.writeFileSync(target, 'my notes\n', { mode: 0o644 });
    fs.symlinkSync(target, store.path);
    assert.throws(() => store.get('https://app.example'), (error: AuthError) => error.code === 'store_error' && /symbolic link/.test(error.message));
    await assert.rejects(store.put('https://app.example', token()), (error: AuthError) => error.code === 'store_error');
    assert.equal(fs.readFileSync(target, 'utf8'), 'my notes\n');
    assert.equal(fs.statSync(target).mode & 0o777, 0o644);
    assert.ok(fs.lstatSync(store.path).isSymbolicLink(), 'the link is left for the person to look at');
  });

  it('a symlink at the lock path is refused and its target untouched', async () => {
    const store = storeIn(path.join(dir, 'linked-lock'));
    const target = path.join(dir, 'precious-2.txt');
    fs.writeFileSync(target, 'keep\n', { mode: 0o644 });
    fs.symlinkSync(target, store.lockPath);
    await assert.rejects(store.put('https://app.example', token()), (error: AuthError) => error.code === 'store_error' && /symbolic link/.test(error.message));
    assert.equal(fs.readFileSync(target, 'utf8'), 'keep\n');
  });
});

describe('locks that spin or break', () => {
  it("another user's lock in a sticky folder: store_error at once, naming the owner, without spinning", { skip: !isRoot && 'needs root to act as two users' }, async () => {
    const sticky = path.join(dir, 'sticky');
    fs.mkdirSync(sticky, { mode: 0o1777 });
    fs.chmodSync(sticky, 0o1777);
    const lock = path.join(sticky, 'store.json.lock');
    staleLock(lock, 0o644);
    const result = await takeLockInChild(lock, NOBODY);
    assert.equal(result.killed, false, `ended by itself: ${result.stdout}${result.stderr}`);
    assert.match(result.stdout, /code=store_error/);
    assert.match(result.stdout, /owned by another user/);
    assert.ok(result.cpuMs < 700, `${result.cpuMs} ms of CPU`);
  });

  it('a stale lock of mine on a read-only mount: lock_timeout in time that says it cannot be removed, without spinning', { skip: !isRoot && 'needs root to mount a read-only tmpfs' }, async (t) => {
    await onTinyTmpfs(t, 'readonly', async (mount) => {
      const lock = path.join(mount, 'store.json.lock');
      staleLock(lock, 0o600);
      execFileSync('mount', ['-o', 'remount,ro', mount]);
      const result = await takeLockInChild(lock);
      assert.equal(result.killed, false, `ended by itself: ${result.stdout}${result.stderr}`);
      assert.match(result.stdout, /code=lock_timeout/);
      assert.match(result.stdout, /cannot be removed/);
      assert.ok(result.cpuMs < 700, `it waited instead of spinning: ${result.cpuMs} ms of CPU in 1.5 s`);
    });
  });

  it('a FIFO at the lock path or the store path: store_error at once, no hang', async () => {
    for (const which of ['lock', 'store'] as const) {
      const folder = path.join(dir, `fifo-${which}`);
      fs.mkdirSync(folder);
      const file = path.join(folder, 'token-store.json');
      execFileSync('mkfifo', [which === 'lock' ? `${file}.lock` : file]);
      const result = await child(`
        import { TokenStore } from ${JSON.stringify(path.join(SRC, 'adapters', 'store', 'file-store.ts'))};
        const store = new TokenStore({ path: ${JSON.stringify(file)}, lockTimeout: 1000 });
        try { ${which === 'store' ? 'store.get("https://a.example");' : ''} await store.put('https://a.example', { access_token: 'a', token_type: 'Bearer', expires: 9e9, refresh_token: '', refresh_expires: 0, scope: '', headers: {} }); console.log('written'); }
        catch (error) { console.log('code=' + error.code); console.log(error.message); }
      `, { limitMs: 6000 });
      assert.equal(result.killed, false, `${which}: no hang`);
      assert.match(result.stdout, /code=store_error/, which);
      assert.match(result.stdout, /not a regular file/, which);
    }
  });

  it('a directory at the lock path: store_error that names it, not a raw EISDIR', async () => {
    const store = storeIn(path.join(dir, 'dir-lock'));
    fs.mkdirSync(store.lockPath);
    await assert.rejects(store.put('https://app.example', token()), (error: AuthError) => error.code === 'store_error' && error.message.includes(store.lockPath) && /not a regular file/.test(error.message));
  });

  it('a live lock of a process in another PID namespace (same hostname, pid unknown here) is not broken while its heartbeat is fresh', async () => {
    const store = storeIn(path.join(dir, 'container-lock'));
    fs.writeFileSync(store.lockPath, JSON.stringify({ pid: 999_999_999, hostname: os.hostname(), nonce: 'container', ns: 'pid:[1] boot:other' }));
    const heartbeat = setInterval(() => {
      const now = new Date();
      fs.utimesSync(store.lockPath, now, now);
    }, 100);
    try {
      await assert.rejects(withFileLock(store.lockPath, () => 'stolen', { timeoutMs: 1200, staleMs: 5000 }), (error: AuthError) => error.code === 'lock_timeout');
    } finally {
      clearInterval(heartbeat);
    }
    assert.equal(JSON.parse(fs.readFileSync(store.lockPath, 'utf8')).nonce, 'container', 'the holder still has its lock');
  });

  it('a holder of this namespace that died is still recovered at once', async () => {
    const store = storeIn(path.join(dir, 'dead-lock'));
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => dead.on('close', resolve));
    const { lockHolder } = await import('../src/adapters/store/lock.ts');
    fs.writeFileSync(store.lockPath, JSON.stringify({ ...lockHolder(), pid: dead.pid, nonce: 'dead' }));
    const started = Date.now();
    assert.equal(await withFileLock(store.lockPath, () => 'mine', { timeoutMs: 3000, staleMs: 10_000 }), 'mine');
    assert.ok(Date.now() - started < 1000);
  });

  it('a full disk while writing the lock leaves no empty lock behind', { skip: !isRoot && 'needs root to mount a tiny tmpfs' }, async (t) => {
    await onTinyTmpfs(t, 'full', async (mount) => {
      try {
        fs.writeFileSync(path.join(mount, 'filler'), Buffer.alloc(1024 * 1024));
      } catch {
        // Full now.
      }
      const lock = path.join(mount, 'store.json.lock');
      await assert.rejects(withFileLock(lock, () => 1, { timeoutMs: 500 }), (error: AuthError) => error.code === 'store_error' && /space/i.test(error.message));
      assert.equal(fs.existsSync(lock), false, 'no empty lock left');
    });
  });
});

describe('terminal injection (a hostile server)', () => {
  const OSC52 = '\u001b]52;c;ZWNobyBwd25lZA==\u0007';
  it('escape sequences in a user_code or verification_uri are refused; in an error description they are stripped', async () => {
    assert.throws(() => parseDeviceCodeResponse({ device_code: 'd', user_code: `AB${OSC52}CD`, verification_uri: 'https://x.example/device' }), (error: AuthError) => error.code === 'invalid_response');
    assert.throws(() => parseDeviceCodeResponse({ device_code: 'd', user_code: 'ABCD', verification_uri: `https://x.example/\u001b[2Jdevice` }), (error: AuthError) => error.code === 'invalid_response');
    const server = await serve((req, res) => {
      const upstream = JSON.stringify({ error: 'invalid_grant', error_description: `gone${OSC52}\u001b[2J\u009b31m` });
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ detail: `Upstream OIDC error: ${upstream}` }));
      req.resume();
    });
    const store = storeIn(path.join(dir, 'tty'));
    await store.put(server.url, token('at', 'rt', -10));
    const cli = await runCli([server.url, '--store', store.path]);
    assert.doesNotMatch(cli.stderr, CONTROL, JSON.stringify(cli.stderr));
    assert.match(cli.stderr, /gone/);
  });

  it('a callback error with escapes reaches the caller without them', async () => {
    const world = closeLater(await startWorld());
    const login = authenticate({
      host: world.app.host, store: world.store, interactive: true, flow: 'code', redirectPorts: [0], timeout: 10, openBrowser: false,
      onLoginUrl: async (url, redirectUri) => {
        const { provider, browser } = await openLoginAddress(url);
        const state = provider.searchParams.get('state') ?? '';
        void sendRaw(`${redirectUri.replace('localhost', '127.0.0.1')}?state=${encodeURIComponent(state)}&error=${encodeURIComponent(`x${OSC52}`)}&error_description=${encodeURIComponent(`\u001b[2Jcleared`)}`, { host: new URL(redirectUri).host, cookie: browser.cookie });
      },
    });
    await assert.rejects(login, (error: AuthError) => !CONTROL.test(error.message) && !CONTROL.test(error.code) && /cleared/.test(error.message));
  });
});

describe('hostile tokens and bodies', () => {
  it('an access_token with CR/LF or outside the RFC 6750 syntax is refused; so is an unknown token_type', () => {
    for (const accessToken of ['secret-abc\r\nX-Injected: 1', 'secret tok', 'secret"tok']) {
      assert.throws(() => parseTokenResponse({ access_token: accessToken, token_type: 'Bearer', expires_in: 60 }), (error: AuthError) => error.code === 'invalid_response' && !error.message.includes(accessToken));
    }
    assert.throws(() => parseTokenResponse({ access_token: 'abc', token_type: 'MAC', expires_in: 60 }), (error: AuthError) => error.code === 'invalid_response');
    assert.equal(parseTokenResponse({ access_token: 'a-b.c_d~e+f/g==', token_type: 'bearer', expires_in: 60 }).access_token, 'a-b.c_d~e+f/g==');
  });

  it('--header never prints an injected header from a stored token', async () => {
    const store = storeIn(path.join(dir, 'header'));
    fs.writeFileSync(store.path, JSON.stringify({ 'https://app.example': { token: { ...token(), access_token: 'abc\r\nX-Injected: 1' }, stored_at: 0 } }), { mode: 0o600 });
    const cli = await runCli(['https://app.example', '--header', '--store', store.path]);
    assert.doesNotMatch(cli.stdout, /X-Injected/);
  });

  it('a gzip bomb (1 MiB inflating to 1 GiB) is cut off at the size cap without using the memory', async () => {
    // 1,024 gzip members of 1 MiB of zeros each: a valid gzip body of 1 MiB that inflates to 1 GiB.
    const bomb = Buffer.concat(Array.from({ length: 1024 }, () => gzipSync(Buffer.alloc(1024 * 1024), { level: 9 })));
    const server = await serve((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(bomb);
    });
    const result = await child(`
      import { DeviceFlow, TokenStore } from ${JSON.stringify(path.join(SRC, 'index.ts'))};
      const store = new TokenStore({ path: ${JSON.stringify(path.join(dir, 'bomb', 'store.json'))} });
      let peak = 0; const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      try { await new DeviceFlow(${JSON.stringify(server.url)}, { store, requestTimeout: 20 }).refresh('rt-x'); }
      catch (error) { console.log('code=' + error.code); }
      clearInterval(t); peak = Math.max(peak, process.memoryUsage().rss);
      console.log('peakMiB=' + Math.round(peak / 1048576));
    `, { limitMs: 60_000 });
    assert.match(result.stdout, /code=invalid_response/, result.stdout + result.stderr);
    const peak = Number(/peakMiB=(\d+)/.exec(result.stdout)?.[1]);
    assert.ok(peak < 300, `peak RSS ${peak} MiB`);
  });

  it('expires_in of 1e20 is clamped on the way in, and --list shows such an entry', async () => {
    const parsed = parseTokenResponse({ access_token: 'a', token_type: 'Bearer', expires_in: 1e20, refresh_token: 'r', refresh_expires_in: 1e20 });
    const tenYears = Date.now() / 1000 + 10 * 366 * 86400;
    assert.ok(parsed.expires <= tenYears && parsed.refresh_expires <= tenYears, String(parsed.expires));
    const store = storeIn(path.join(dir, 'far-future'));
    fs.writeFileSync(store.path, JSON.stringify({ 'https://app.example': { token: { ...token(), expires: 1e20, refresh_expires: 1e20 }, stored_at: 0 } }), { mode: 0o600 });
    const cli = await runCli(['--list', '--store', store.path]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /https:\/\/app\.example/);
  });

  it('an unknown entry nested 200,000 levels deep does not block writes of the others', async () => {
    const store = storeIn(path.join(dir, 'deep'));
    fs.writeFileSync(store.path, `{"hostile": ${'['.repeat(200_000)}${']'.repeat(200_000)}, "https://kept.example": ${JSON.stringify({ token: token('at-kept'), stored_at: 0 })}}`, { mode: 0o600 });
    await store.put('https://app.example', token('at-new'));
    assert.equal(store.get('https://app.example')?.access_token, 'at-new');
    assert.equal(store.get('https://kept.example')?.access_token, 'at-kept');
  });
});
