// Several accounts of one server: two people log in through oidc-provider's
// real pages, each account is its own store entry and actor, the default
// account stays the Python client's entry, and `switch`, `--list`,
// `--remove --account` do what they say.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, it } from 'node:test';
import { authenticate, authState, listLogins, switchAccount, AuthError, type Token } from '../src/index.ts';
import { resetHostActors } from '../src/host/registry.ts';
import { ACCOUNTS_RECHECK_MS } from '../src/adapters/store/accounts.ts';
import { NATIVE_CLIENT, startIdp } from './fixtures/idp.ts';
import { Person } from './fixtures/person.ts';
import { personApproves, startWorld, type World } from './fixtures/world.ts';
import { runCli, startCli } from './helpers/cli.ts';
import { closedAfterEach } from './helpers/servers.ts';

const track = closedAfterEach();
const PYTHON_TOKEN_FIELDS = ['access_token', 'expires', 'headers', 'refresh_expires', 'refresh_token', 'scope', 'token_type'];

let world: World;
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  resetHostActors();
  world = track(await startWorld());
  // Where `switch` remembers defaults: this test's own folder (the CLI's children get the same).
  env = { XDG_CONFIG_HOME: path.join(world.dir, 'config'), XDG_CACHE_HOME: path.join(world.dir, 'cache-home') };
  Object.assign(process.env, env);
  delete process.env.OIDC_AUTH_ACCOUNT;
});

/** A device login to the world's app server as `login`, for `account`. */
async function logIn(login: string, account?: string): Promise<Token> {
  const person = personApproves({ login });
  const token = await authenticate({ host: world.app.host, account, store: world.store, interactive: true, openBrowser: false, flow: 'device', onDeviceCode: person.onDeviceCode });
  await Promise.all(person.done);
  return token;
}

async function userinfo(accessToken: string): Promise<unknown> {
  const response = await fetch(`${world.app.host}/auth/v2/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
  return ((await response.json()) as { username?: unknown }).username;
}

describe('several accounts of one server', () => {
  it('two people, two accounts: two tokens, both usable; the default one is the Python client\'s entry; --list says who', async () => {
    const personal = await logIn('alice');
    const project = await logIn('bob', 'project');
    assert.notEqual(personal.access_token, project.access_token);
    assert.deepEqual([await userinfo(personal.access_token), await userinfo(project.access_token)], ['alice', 'bob'], 'both tokens are usable, and belong to their people');
    assert.deepEqual([personal.who?.name, project.who?.name], ['alice', 'bob']);
    assert.equal(authState({ host: world.app.host, account: 'project', store: world.store }).view.who?.name, 'bob', 'the view says who');
    assert.equal(world.app.requests.device, 2, 'two logins: the second account did not reuse the first');

    // The store file: the default account under the host (the Python client's key, its fields only), the other beside it.
    const host = world.app.host;
    const file = JSON.parse(fs.readFileSync(world.store.path, 'utf8')) as Record<string, { token: Record<string, unknown>; who?: unknown }>;
    assert.deepEqual(Object.keys(file).sort(), [host, `${host}#account=project`]);
    assert.deepEqual(Object.keys(file[host]?.token ?? {}).sort(), PYTHON_TOKEN_FIELDS, 'the default entry\'s token has exactly the Python client\'s fields');
    assert.deepEqual(file[host]?.who, { name: 'alice' });
    assert.equal(file[host]?.token.access_token, personal.access_token);

    // Each account is read back by its own name; no account means the default one.
    assert.equal((await authenticate({ host, store: world.store, interactive: false })).access_token, personal.access_token);
    assert.equal((await authenticate({ host, account: 'project', store: world.store, interactive: false })).access_token, project.access_token);

    const logins = await listLogins(world.store);
    assert.deepEqual(logins.map((login) => [login.server, login.account, login.who?.name]).sort(), [[host, 'default', 'alice'], [host, 'project', 'bob']]);
    const table = await runCli(['--list', '--store', world.store.path], env);
    assert.match(table.stdout, new RegExp(`${host.replace(/[.:/]/g, '\\$&')}\\s+default\\s+alice\\s+valid`));
    assert.match(table.stdout, new RegExp(`${host.replace(/[.:/]/g, '\\$&')}\\s+project\\s+bob\\s+valid`));
    const json = JSON.parse((await runCli(['--list', '--json', '--store', world.store.path], env)).stdout) as { hosts: Array<Record<string, unknown>> };
    assert.deepEqual(json.hosts.map((row) => [row.account, row.who]).sort(), [['default', 'alice'], ['project', 'bob']]);
    assert.doesNotMatch(table.stdout + JSON.stringify(json), new RegExp(personal.access_token.slice(0, 12)), 'no token in a listing');
  });

  it('switch changes the default account; --account and OIDC_AUTH_ACCOUNT win over it; "default" goes back', async () => {
    const personal = await logIn('alice');
    const project = await logIn('bob', 'project');
    const host = world.app.host;
    const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli([...args, '--store', world.store.path], { ...env, ...extra });
    assert.equal((await cli([host])).stdout, `${personal.access_token}\n`);
    const switched = await cli(['switch', host, 'project']);
    assert.equal(switched.code, 0, switched.stderr);
    assert.match(switched.stderr, /now uses the account "project"/);
    assert.equal((await cli([host])).stdout, `${project.access_token}\n`, 'the switched default');
    // A running program sees another process's switch within ACCOUNTS_RECHECK_MS (its cached path stats the accounts file at most that often).
    await new Promise((resolve) => setTimeout(resolve, ACCOUNTS_RECHECK_MS));
    assert.equal((await authenticate({ host, store: world.store, interactive: false })).access_token, project.access_token, 'the library follows switch too');
    assert.equal((await cli([host, '--account', 'default'])).stdout, `${personal.access_token}\n`, '--account wins');
    assert.equal((await cli([host], { OIDC_AUTH_ACCOUNT: 'default' })).stdout, `${personal.access_token}\n`, 'the variable wins');
    switchAccount({ host, store: world.store, account: 'default' });
    assert.equal((await cli([host])).stdout, `${personal.access_token}\n`, 'back to the default account');
  });

  it('--remove --account removes that account only; an unknown account removes nothing and names the ones there are', async () => {
    const personal = await logIn('alice');
    await logIn('bob', 'project');
    const host = world.app.host;
    const unknown = await runCli(['--remove', host, '--account', 'nosuch', '--store', world.store.path], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no account "nosuch" .* Stored accounts there: (default, project|project, default)/);
    assert.equal((await listLogins(world.store)).length, 2, 'nothing removed');
    const removed = await runCli(['--remove', host, '--account', 'project', '--store', world.store.path], env);
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual((await listLogins(world.store)).map((login) => login.account), ['default']);
    assert.equal(world.store.get(host)?.access_token, personal.access_token, 'the default account is untouched');
    const exported = await runCli(['--export', host, '--account', 'project', '--json', '--store', world.store.path], env);
    assert.equal(exported.code, 2, 'the removed account is unknown now');
  });

  it('bad account names are refused with what is allowed', async () => {
    for (const name of ['a/b', '..', '.', 'x y', '', 'a'.repeat(65), '../../etc']) {
      await assert.rejects(authenticate({ host: world.app.host, account: name, store: world.store, interactive: false }), /account: .* is not an account name: use 1 to 64 letters, digits/, name);
      const cli = await runCli([world.app.host, '--account', name, '--store', world.store.path], env);
      assert.equal(cli.code, 2, name);
      assert.match(cli.stderr, /not an account name/);
    }
    process.env.OIDC_AUTH_ACCOUNT = '../x';
    try {
      await assert.rejects(authenticate({ host: world.app.host, store: world.store, interactive: false }), /OIDC_AUTH_ACCOUNT: "..\/x" is not an account name/);
    } finally {
      delete process.env.OIDC_AUTH_ACCOUNT;
    }
  });

  it('two accounts logging in at once from two processes: two logins, neither waits for the other', async () => {
    const urls = new Map<string, string>();
    const start = (account: string) => startCli([world.app.host, '--account', account, '--store', world.store.path, '--interactive', '--no-browser', '--flow', 'device'], env, {
      onStderr: (stderr) => {
        const url = /\(or open (\S+)\)/.exec(stderr)?.[1];
        if (url && !urls.has(account)) urls.set(account, url);
      },
    });
    const a = start('alpha');
    const b = start('beta');
    // Both show a device code before either is approved: no login turn is shared between accounts.
    for (let waited = 0; urls.size < 2 && waited < 20_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(urls.size, 2, 'both processes are asking for a login at the same time');
    await Promise.all([new Person({ login: 'alice' }).visit(urls.get('alpha') ?? ''), new Person({ login: 'bob' }).visit(urls.get('beta') ?? '')]);
    const [first, second] = await Promise.all([a.done, b.done]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(second.code, 0, second.stderr);
    assert.notEqual(first.stdout, second.stdout);
    assert.doesNotMatch(first.stderr + second.stderr, /Waiting for the login in/);
    assert.deepEqual([await userinfo(first.stdout.trim()), await userinfo(second.stdout.trim())], ['alice', 'bob']);
  });

  it('an account entry planted by another user is refused, and so is a planted accounts file', async () => {
    const host = world.app.host;
    fs.mkdirSync(path.dirname(world.store.path), { recursive: true });
    fs.writeFileSync(world.store.path, JSON.stringify({ [`${host}#account=work`]: { token: { access_token: 'planted', token_type: 'Bearer', expires: 2e9, refresh_token: '', refresh_expires: 0, scope: '' }, stored_at: 0 } }));
    fs.chownSync(world.store.path, 65534, 65534);
    const error = await authenticate({ host, account: 'work', store: world.store, interactive: false }).catch((e: unknown) => e);
    assert.ok(error instanceof AuthError);
    assert.equal(error.code, 'store_error');
    assert.match(error.message, /owned by another user|another user could have put it there/);
    fs.rmSync(world.store.path);

    const accounts = path.join(env.XDG_CONFIG_HOME ?? '', 'oidc-auth', 'accounts.json');
    fs.mkdirSync(path.dirname(accounts), { recursive: true });
    fs.writeFileSync(accounts, JSON.stringify({ format: 1, defaults: { [world.store.id]: { [host]: 'evil' } } }));
    fs.chownSync(accounts, 65534, 65534);
    const planted = await authenticate({ host, store: world.store, interactive: false }).catch((e: unknown) => e);
    assert.ok(planted instanceof AuthError);
    assert.equal(planted.code, 'store_error');
    assert.match(planted.message, /accounts file .* another user could have put it there/);
  });
});

describe('a second account asks the provider who logs in', () => {
  it('issuer mode: the second account\'s login asks prompt=login (oidc-provider lists no select_account); the same person again is told so', async () => {
    const idp = track(await startIdp());
    const prompts: string[] = [];
    const warnings: string[] = [];
    const login = (who: string, account?: string) => authenticate({
      issuer: idp.issuer, clientId: NATIVE_CLIENT, account, store: world.store, interactive: true, flow: 'code', openBrowser: false,
      onLoginUrl: (url) => void new Person({
        login: who,
        stopBefore: (next) => {
          if (next.startsWith(`${idp.issuer}/auth?`)) prompts.push(new URL(next).searchParams.get('prompt') ?? '');
          return false;
        },
      }).visit(url),
      onWarning: (message) => warnings.push(message),
    });
    const first = await login('alice');
    const second = await login('alice', 'admin');
    assert.deepEqual(prompts, ['consent', 'login consent']);
    assert.equal(first.who?.subject, 'alice');
    assert.equal(second.who?.subject, 'alice');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /same person as the account "default"/);
    const third = await login('bob', 'other');
    assert.equal(third.who?.name, 'bob');
    assert.equal(warnings.length, 1, 'another person: no warning');
  });

  it('host mode: prompt=login on the login route for a second account, consent for the first; host-mode scopes reach the route and are their own entry', async () => {
    const login = (who: string, options: { account?: string; scope?: string } = {}) => authenticate({
      host: world.app.host, ...options, store: world.store, interactive: true, flow: 'code', openBrowser: false,
      onLoginUrl: (url) => void new Person({ login: who }).visit(url),
    });
    await login('alice');
    await login('bob', { account: 'project' });
    assert.deepEqual(world.app.loginQueries.map((query) => query.get('prompt')), ['consent', 'login']);
    const scoped = await login('alice', { scope: 'openid profile' });
    const query = world.app.loginQueries.at(-1);
    assert.equal(query?.get('scope'), 'openid profile', 'the scope reached the login route');
    assert.deepEqual(Object.keys(JSON.parse(fs.readFileSync(world.store.path, 'utf8')) as object).sort(), [world.app.host, `${world.app.host}#account=project`, `${world.app.host}#scope=openid%20profile`]);
    assert.equal((await authenticate({ host: world.app.host, scope: 'profile openid', store: world.store, interactive: false })).access_token, scoped.access_token, 'scopes in any order name the same entry');
    // py-oidc-auth's device route takes no scope: auto goes to the code flow, device says why.
    const device = await authenticate({ host: world.app.host, scope: 'openid email', store: world.store, interactive: true, flow: 'device', force: true }).catch((e: unknown) => e);
    assert.ok(device instanceof AuthError);
    assert.equal(device.code, 'unsupported_flow');
    assert.match(device.message, /device route takes no scope/);
  });
});
