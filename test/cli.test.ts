import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { Token } from '../src/index.ts';
import { personApproves, startWorld, type World } from './fixtures/world.ts';
import { authenticate, Client, TokenStore, type AuthError } from '../src/index.ts';
import os from 'node:os';
import { NATIVE_CLIENT, startIdp } from './fixtures/idp.ts';
import { Person } from './fixtures/person.ts';
import { testToken } from './fixtures/token.ts';
import { runCli } from './helpers/cli.ts';

const built = path.join(import.meta.dirname, '..', 'dist', 'cli.js');

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('oidc-auth CLI', () => {
  it('--help and --version exit 0 on stdout; the built bin runs too', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit codes: 0 ok, 1 authentication failed, 2 usage error/);
    const version = await runCli(['--version']);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.equal((await runCli(['--version'], {}, built)).stdout, version.stdout, 'the built bin (npm test builds dist/ first) runs');
  });

  it('usage errors exit 2', async () => {
    assert.equal((await runCli([])).code, 2);
    assert.equal((await runCli(['https://h.example', '--flow', 'sideways'])).code, 2);
    assert.equal((await runCli(['https://h.example', '--bogus'])).code, 2);
    assert.equal((await runCli(['https://h.example', '-p', '70000'])).code, 2);
    for (const args of [['--issuer', 'https://idp.example'], ['h', '--issuer', 'https://idp.example', '--client-id', 'c'], ['h', '--client-id', 'c'], ['h', '--audience', 'a'], ['h', '--exchange-from', 'ftp://idp', '--client-id', 'c'], ['h', '--exchange-from', 'https://idp'], ['h', '--account', 'a/b'], ['h', '--account', '..'], ['switch', 'h'], ['switch', 'h', 'x y'], ['h', '--json', '--header'], ['h', '--min-validity', '-1'], ['h', '--timeout', '0'], ['--list', 'h'], ['--list', '--clear'], ['a', 'b']]) {
      const result = await runCli(args);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, /Run oidc-auth --help for usage/);
      assert.equal(result.stdout, '');
    }
  });

  it('an unreachable server is exit 1 with what to check', async () => {
    const result = await runCli(['http://127.0.0.1:1', '--interactive', '--flow', 'device', '--no-browser']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Could not reach http:\/\/127\.0\.0\.1:1\/auth\/v2\/device.*Check the network/);
  });

  it('without a terminal and without a token: exit 3 at once, naming OIDC_TOKEN_FILE', async () => {
    world = await startWorld();
    const result = await runCli([world.app.host, '--store', world.store.path]);
    assert.equal(result.code, 3);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /OIDC_TOKEN_FILE/);
    assert.equal(world.app.requests.device, 0);
  });

  it('prints the cached token (stdout only) and --json output works as OIDC_TOKEN_FILE; --list and --remove', async () => {
    world = await startWorld();
    const person = personApproves();
    const token = await authenticate({ host: world.app.host, store: world.store, interactive: true, openBrowser: false, onDeviceCode: person.onDeviceCode });
    const plain = await runCli([world.app.host, '--store', world.store.path]);
    assert.equal(plain.code, 0);
    assert.equal(plain.stdout, `${token.access_token}\n`);
    assert.equal(plain.stderr, '');
    const json = await runCli([world.app.host, '--json', '--store', world.store.path]);
    const file = path.join(world.dir, 'token.json');
    fs.writeFileSync(file, json.stdout);
    assert.equal((JSON.parse(json.stdout) as Token).refresh_token, token.refresh_token);
    const viaEnv = await runCli([world.app.host], { OIDC_TOKEN_FILE: file });
    assert.equal(viaEnv.stdout, `${token.access_token}\n`);
    const list = await runCli(['--list', '--json', '--store', world.store.path]);
    const listed = JSON.parse(list.stdout) as { store: string; hosts: Array<{ host: string; state: string; expires: number }> };
    assert.equal(listed.store, world.store.path);
    assert.deepEqual(listed.hosts.map((r) => [r.host, r.state, r.expires]), [[world.app.host, 'valid', token.expires]]);
    assert.ok(!list.stdout.includes(token.access_token), '--list shows no token');
    assert.equal((await runCli(['--remove', world.app.host, '--store', world.store.path])).code, 0);
    assert.equal((await runCli([world.app.host, '--store', world.store.path])).code, 3);
  });

  it('--header for curl -H, and --min-validity: refresh only when less remains', async () => {
    world = await startWorld();
    const person = personApproves();
    const first = await authenticate({ host: world.app.host, store: world.store, interactive: true, openBrowser: false, onDeviceCode: person.onDeviceCode });
    const header = await runCli([world.app.host, '--header', '--store', world.store.path]);
    assert.deepEqual([header.code, header.stdout, header.stderr], [0, `Authorization: Bearer ${first.access_token}\n`, '']);
    const enough = await runCli([world.app.host, '--min-validity', '600', '--store', world.store.path]);
    assert.equal(enough.stdout, `${first.access_token}\n`);
    assert.equal(world.app.requests.refresh, 0, '600 s of 3600 left is enough: no request');
    const more = await runCli([world.app.host, '--min-validity', '4000', '--json', '--store', world.store.path]);
    assert.equal(more.code, 0, more.stderr);
    assert.equal(world.app.requests.refresh, 1, 'less than 4000 s left: one refresh');
    const refreshed = JSON.parse(more.stdout) as Token;
    assert.notEqual(refreshed.access_token, first.access_token);
    assert.equal(world.store.get(world.app.host)?.access_token, refreshed.access_token, 'the refreshed token is stored');
  });

  it('--list: a table with each state and expiry, never a token; an empty store says so', async () => {
    world = await startWorld();
    const now = Math.floor(Date.now() / 1000);
    const empty = await runCli(['--list', '--store', world.store.path]);
    assert.deepEqual([empty.code, empty.stdout], [0, '']);
    assert.match(empty.stderr, /No tokens stored in/);
    await world.store.put('https://valid.example', testToken('secret-valid-token', { expires: now + 3600, refreshExpires: now + 7200 }));
    await world.store.put('https://stale.example', testToken('secret-stale-token', { expires: now - 10, refreshExpires: now + 7200 }));
    const table = await runCli(['--list', '--store', world.store.path]);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^SERVER\s+ACCOUNT\s+WHO\s+STATE\s+ACCESS TOKEN EXPIRES\s+REFRESH TOKEN EXPIRES$/);
    assert.match(table.stdout, /https:\/\/valid\.example\s+default\s+-\s+valid\s+\d{4}-\d\d-\d\d \d\d:\d\dZ \(in 1 h\)\s+.*\(in 2 h\)/);
    assert.match(table.stdout, /https:\/\/stale\.example\s+default\s+-\s+refreshable\s+.*\(\d+ s ago\)/);
    assert.doesNotMatch(table.stdout + table.stderr, /secret-/);
    assert.doesNotMatch(table.stdout, /\u001b/, 'no colour when stdout is no terminal');
  });

  it('logout forgets the token, says where, and names the logout route', async () => {
    world = await startWorld();
    const person = personApproves();
    await authenticate({ host: world.app.host, store: world.store, interactive: true, openBrowser: false, onDeviceCode: person.onDeviceCode });
    const result = await runCli(['logout', world.app.host, '--store', world.store.path]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, new RegExp(`Removed the token of ${world.app.host.replace(/[.:/]/g, '\\$&')}`));
    assert.match(result.stderr, new RegExp(`open ${world.app.host.replace(/[.:/]/g, '\\$&')}/auth/v2/logout`));
    assert.equal(world.store.get(world.app.host), undefined);
    assert.equal((await runCli([world.app.host, '--store', world.store.path])).code, 3);
  });

  it('npm run demo -- --auto-approve: a real provider and app server, a login, a token summary, a cached second run', async () => {
    const demo = path.join(import.meta.dirname, '..', 'scripts', 'demo.ts');
    const result = await runCli(['--auto-approve'], {}, demo);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /To log in, open http:\/\/127\.0\.0\.1:\d+\/device and enter the code/);
    assert.match(result.stderr, /Token summary \(the token itself is not shown\)/);
    assert.match(result.stderr, /grants seen by the provider: \{"urn:ietf:params:oauth:grant-type:device_code":1\}/);
    assert.match(result.stderr, /exit 0 after \d+ ms; requests to the server: none/);
    assert.doesNotMatch(result.stderr, /oidc-provider (WARNING|NOTICE)/);
  });

  it('--issuer/--client-id: the cached provider token on the fast path, --list, and logout revokes at the provider', async () => {
    const idp = await startIdp();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-cli-issuer-'));
    try {
      const store = new TokenStore({ path: path.join(dir, 'store.json') });
      const token = await authenticate({ issuer: idp.issuer, clientId: NATIVE_CLIENT, store, interactive: true, openBrowser: false, onDeviceCode: (code) => void new Person().visit(code.uri) });
      const args = ['--issuer', idp.issuer, '--client-id', NATIVE_CLIENT, '--store', store.path];
      const printed = await runCli(args);
      assert.deepEqual([printed.code, printed.stdout, printed.stderr], [0, `${token.access_token}\n`, '']);
      const otherScope = await runCli([...args, '--scope', 'openid profile']);
      assert.equal(otherScope.code, 3, 'another scope set has no token yet');
      assert.match(otherScope.stderr, /--scope 'openid profile'/);
      const list = await runCli(['--list', '--json', '--store', store.path]);
      assert.match(list.stdout, new RegExp(`"host": "oidc:${idp.issuer.replace(/[.:/]/g, '\\$&')}#client_id=${NATIVE_CLIENT}`));
      const out = await runCli(['logout', ...args]);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stderr, /Revoked the refresh token at/);
      assert.match(out.stderr, /open .*\/session\/end\?client_id=native-cli\n/);
      assert.ok(token.id_token && !out.stderr.includes(token.id_token), 'the ID token is not printed');
      assert.doesNotMatch(out.stderr, /id_token_hint=/);
      assert.equal(store.get(`oidc:${idp.issuer}#client_id=${NATIVE_CLIENT}&scope=offline_access%20openid`), undefined);
      const client = await Client.discover(idp.issuer, NATIVE_CLIENT);
      await assert.rejects(client.obtainTokenByRefreshToken(token.refresh_token), (error: AuthError) => error.code === 'invalid_grant', 'the refresh token is revoked');
    } finally {
      await idp.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('route options -l/-t/-d, --force, --timeout, --app-name, --clear and --client-secret-env', { timeout: 60_000 }, async () => {
    world = await startWorld({ app: { prefix: '/api' } });
    const person = personApproves();
    const first = await authenticate({ host: world.app.host, store: world.store, interactive: true, openBrowser: false, onDeviceCode: person.onDeviceCode });
    const bare = world.app.host.replace(/\/api$/, '');
    await world.store.put(bare, { ...first, expires: Math.floor(Date.now() / 1000) - 5 });
    const wrongRoute = await runCli([bare, '-t', '/nope/token', '--store', world.store.path]);
    assert.equal(wrongRoute.code, 3);
    assert.match(wrongRoute.stderr, /Refreshing the stored token failed first .*HTTP 404/);
    const refreshed = await runCli([bare, '-t', '/api/auth/v2/token', '--store', world.store.path]);
    assert.equal(refreshed.code, 0, refreshed.stderr);
    assert.equal(world.app.requests.refresh, 1, 'refreshed through the given token route');
    const forced = await runCli([bare, '--force', '--store', world.store.path]);
    assert.equal(forced.code, 3, '--force skips the valid cached token (and no person is here to log in)');
    const noDevice = await runCli([bare, '-d', '/nope/device', '--flow', 'device', '--interactive', '--no-browser', '--store', world.store.path, '--force']);
    assert.equal(noDevice.code, 1);
    assert.match(noDevice.stderr, /offers no device login \(HTTP 404\)/);
    const started = Date.now();
    const login = await runCli([bare, '-l', '/custom/login', '--flow', 'code', '-p', '0', '--interactive', '--no-browser', '--timeout', '1', '--force', '--store', world.store.path]);
    assert.equal(login.code, 1);
    assert.match(login.stderr, new RegExp(`${bare.replace(/[.:/]/g, '\\$&')}/custom/login\\?redirect_uri=`));
    assert.match(login.stderr, /failed with HTTP 404/, 'the SDK asks the given login route itself, and says what it answered');
    const timedOut = await runCli([bare, '--flow', 'code', '-p', '0', '--interactive', '--no-browser', '--timeout', '1', '--force', '--store', world.store.path]);
    assert.equal(timedOut.code, 1);
    assert.match(timedOut.stderr, /http:\/\/localhost:\d+\/login\/[A-Za-z0-9_-]{43}\n/, 'the one-time loopback login address is shown');
    assert.match(timedOut.stderr, /not finished within 1 s/);
    assert.ok(Date.now() - started < 10_000);
    const cache = path.join(world.dir, 'xdg');
    const named = await runCli(['--list', '--json', '--app-name', 'my-app'], { XDG_CACHE_HOME: cache });
    assert.equal((JSON.parse(named.stdout) as { store: string }).store, path.join(cache, 'my-app', 'token-store.json'));
    assert.equal((await runCli(['--clear', '--store', world.store.path])).code, 0);
    assert.deepEqual(world.store.hosts(), []);
    const secret = await runCli(['--issuer', 'https://idp.example', '--client-id', 'c', '--client-secret-env', 'NOT_SET_ANYWHERE']);
    assert.equal(secret.code, 2);
    assert.match(secret.stderr, /NOT_SET_ANYWHERE: that variable is not set/);
  });
});
