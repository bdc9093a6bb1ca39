// The keyring store against a real Secret Service: gnome-keyring-daemon in a
// session bus of its own (dbus-run-session), a fresh HOME and a throw-away
// password. A login through the CLI lands in the keyring; refresh with
// rotation across processes; the keyring locked or missing falls back to
// the plaintext file visibly; a token larger than 4 KiB; --remove and
// --clear remove the secrets; no secret in any output.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { KeyringTokenStore, KEYRING_PART_SIZE } from '../src/keyring.ts';
import { Person } from './fixtures/person.ts';
import { secretServiceMissing, startSecretService, type SecretService } from './fixtures/secret-service.ts';
import { testToken } from './fixtures/token.ts';
import { startWorld, type World } from './fixtures/world.ts';
import { runCli, startCli } from './helpers/cli.ts';
import { storeContract } from './helpers/store-contract.ts';

// CI installs gnome-keyring and dbus (.ci/run): there a missing one is a failure, not a skip.
const skip = process.env.CI ? false : secretServiceMissing();
const SERVICE = 'oidc-auth-client:py-oidc-auth';
const here = import.meta.dirname;

let keyring: SecretService | undefined;
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** The environment of a process on this keyring's desktop session. */
function desktop(more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...keyring?.env, ...more };
}

/** Every secret a test has seen, to look for in every output. */
function secretsOf(token: { access_token: string; refresh_token: string }): string[] {
  return [token.access_token, token.refresh_token].filter((value) => value.length > 8);
}

function assertNoSecret(outputs: string[], secrets: string[]): void {
  for (const output of outputs) for (const secret of secrets) assert.ok(!output.includes(secret), `a secret (${secret.slice(0, 6)}…) was printed: ${output.slice(0, 300)}`);
}

/** Log in through `oidc-auth HOST --store keyring` with a person approving the device code; resolves to the CLI's outputs. */
async function cliLogin(host: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let visited = false;
  const run = startCli([host, '--store', 'keyring', '--interactive', '--no-browser', '--flow', 'device'], env, {
    onStderr: (stderr) => {
      const url = /\(or open (\S+)\)/.exec(stderr)?.[1];
      if (url && !visited) {
        visited = true;
        void new Person().visit(url);
      }
    },
  });
  return run.done;
}

describe('KeyringTokenStore on a real Secret Service', { skip }, () => {
  before(async () => {
    keyring = await startSecretService();
    // This process talks to the same session bus as the CLI processes it starts.
    process.env.DBUS_SESSION_BUS_ADDRESS = keyring.env.DBUS_SESSION_BUS_ADDRESS;
  });
  after(async () => {
    delete process.env.DBUS_SESSION_BUS_ADDRESS;
    await keyring?.close();
  });

  describe('keeps the store contract', () => {
    let n = 0;
    const warnings: string[] = [];
    storeContract(() => {
      n += 1;
      const folder = path.join(keyring?.home ?? '', `contract-${n}`);
      return new KeyringTokenStore({ appName: `contract-${n}`, indexPath: path.join(folder, 'index.json'), onWarning: (message) => warnings.push(message) }, { HOME: keyring?.home, XDG_CACHE_HOME: folder });
    });
    it('through the keyring itself: no fallback to the file, and the secrets are there', () => {
      assert.deepEqual(warnings, []);
      assert.ok((keyring?.items(`oidc-auth-client:contract-${n}`).length ?? 0) >= 1);
    });
  });

  it('a CLI login lands in the keyring, not in a file; --list says "keyring", --export --json writes it out, --remove and --clear remove the secrets; no secret in any output', { timeout: 60_000 }, async () => {
    world = await startWorld();
    const env = desktop({ XDG_CACHE_HOME: path.join(keyring?.home ?? '', 'cli') });
    const login = await cliLogin(world.app.host, env);
    assert.equal(login.code, 0, login.stderr);
    const token = login.stdout.trim();
    assert.match(login.stderr, /kept in the operating system's keyring/);
    const items = keyring?.items(SERVICE) ?? [];
    assert.ok(items.some((item) => item.account === world?.app.host), JSON.stringify(items));
    const plaintext = path.join(env.XDG_CACHE_HOME ?? '', 'py-oidc-auth', 'token-store.json');
    assert.ok(!fs.existsSync(plaintext) || !fs.readFileSync(plaintext, 'utf8').includes(token), 'no plaintext copy');
    const index = fs.readFileSync(path.join(env.XDG_CACHE_HOME ?? '', 'py-oidc-auth', 'keyring-index.json'), 'utf8');
    assert.ok(!index.includes(token), 'the index holds no secret');

    const cached = await runCli([world.app.host], { ...env, OIDC_AUTH_STORE: 'keyring' });
    assert.equal(cached.stdout.trim(), token, 'OIDC_AUTH_STORE=keyring reads it back');
    const list = await runCli(['--list'], { ...env, OIDC_AUTH_STORE: 'keyring' });
    assert.match(list.stdout, /KEPT IN/);
    assert.match(list.stdout, new RegExp(`${world.app.host.replace(/[.:/]/g, '\\$&')}\\s+default\\s+alice\\s+valid.*keyring`));
    const exported = await runCli(['--export', world.app.host, '--json', '--store', 'keyring'], env);
    assert.equal(exported.code, 0, exported.stderr);
    const written = JSON.parse(exported.stdout) as { access_token: string; refresh_token: string };
    assert.equal(written.access_token, token);
    const secrets = secretsOf(written);

    const removed = await runCli(['--remove', world.app.host, '--store', 'keyring'], env);
    assert.equal(removed.code, 0);
    assert.deepEqual(keyring?.items(SERVICE).filter((item) => item.account.startsWith(world?.app.host ?? '')), [], 'the secret is gone');
    // --clear: two logins in, none left.
    const again = await cliLogin(world.app.host, env);
    assert.equal(again.code, 0, again.stderr);
    await new KeyringTokenStore({}, env).put('https://other.example', testToken('other-access-token-xyz'));
    assert.ok((keyring?.items(SERVICE).length ?? 0) >= 2);
    const cleared = await runCli(['--clear', '--store', 'keyring'], env);
    assert.equal(cleared.code, 0);
    assert.deepEqual(keyring?.items(SERVICE), [], 'every secret is gone');
    assertNoSecret([login.stderr, cached.stderr, list.stdout, list.stderr, exported.stderr, removed.stdout, removed.stderr, again.stderr, cleared.stdout, cleared.stderr], [...secrets, again.stdout.trim()]);
  });

  it('refresh with rotation through the keyring across 4 processes: one refresh per token lifetime, no invalid_grant', { timeout: 90_000 }, async () => {
    world = await startWorld({ idp: { accessTokenTtl: 62, rotateRefreshToken: true } });
    const env = desktop({ XDG_CACHE_HOME: path.join(keyring?.home ?? '', 'rotation') });
    const login = await cliLogin(world.app.host, env);
    assert.equal(login.code, 0, login.stderr);
    const started = Date.now() / 1000;
    const outputs = await Promise.all(Array.from({ length: 4 }, (_, id) => startCli([world?.app.host ?? '', 'keyring', '25', String(id)], env, { script: path.join(here, 'helpers', 'store-worker.ts') }).done));
    const ended = Date.now() / 1000;
    for (const output of outputs) assert.equal(output.code, 0, output.stderr);
    const results = outputs.map((output) => JSON.parse(output.stdout) as { seen: Array<{ token: string }>; errors: string[] });
    assert.deepEqual(results.flatMap((result) => result.errors), []);
    const tokens = new Set([login.stdout.trim(), ...results.flatMap((result) => result.seen.map((call) => call.token))]);
    const refreshes = world.app.requests.refresh;
    assert.equal(refreshes, tokens.size - 1, 'each refresh gave a token that was used: none twice');
    const lifetimes = Math.ceil((ended - started) / 2);
    assert.ok(refreshes >= 1 && refreshes <= lifetimes + 1, `${refreshes} refreshes for ${lifetimes} lifetimes`);
    const plaintext = path.join(env.XDG_CACHE_HOME ?? '', 'py-oidc-auth', 'token-store.json');
    const file = fs.existsSync(plaintext) ? fs.readFileSync(plaintext, 'utf8') : '';
    assert.ok(![...tokens].some((token) => file.includes(token)), 'no token went to the plaintext file');
    assertNoSecret(outputs.map((output) => output.stderr), [...tokens]);
  });

  it('a token larger than 4 KiB is split into parts below the item limit, read back whole, and its old parts go when it is replaced', async () => {
    const env = { HOME: keyring?.home, XDG_CACHE_HOME: path.join(keyring?.home ?? '', 'large') };
    const store = new KeyringTokenStore({ appName: 'large' }, env);
    const big = testToken(`eyJ${'a'.repeat(6000)}`);
    await store.put('https://big.example', big);
    assert.equal((await store.get('https://big.example'))?.access_token, big.access_token);
    const parts = keyring?.items(store.service) ?? [];
    assert.ok(parts.length >= 4, `${parts.length} parts`);
    assert.ok(parts.every((item) => item.length <= KEYRING_PART_SIZE), 'every item under the limit');
    await store.put('https://big.example', testToken('small-again'));
    assert.deepEqual(keyring?.items(store.service).map((item) => item.account), ['https://big.example'], 'one item, the old parts removed');
    assert.equal((await store.get('https://big.example'))?.access_token, 'small-again');
  });

  it('the keyring locked: the token goes to the plaintext file with one warning saying where and why; --list shows it', async () => {
    // A Secret Service of its own, so that locking it leaves the other tests' keyring unlocked.
    const own = await startSecretService();
    try {
      const env = { ...own.env, XDG_CACHE_HOME: path.join(own.home, 'locked') };
      const first = JSON.parse(await nodeScriptWith(env, ['https://kept.example', 'kept-in-keyring'])) as { list: Array<{ host: string; where: string }> };
      assert.deepEqual(first.list.map((login) => login.where), ['keyring']);
      own.lock();
      const started = Date.now();
      const locked = await startCli(['https://fallback.example', 'went-to-the-file'], env, { script: path.join(here, 'helpers', 'keyring-put.ts') }).done;
      assert.equal(locked.code, 0, locked.stderr);
      assert.ok(Date.now() - started < 15_000, 'no long wait on a prompt nobody sees');
      const warnings = locked.stderr.split('\n').filter((line) => line.includes('plaintext file'));
      assert.equal(warnings.length, 1, locked.stderr);
      assert.match(warnings[0] ?? '', /The keyring is not available \(.+\): the token of https:\/\/fallback\.example was stored in the plaintext file .*token-store\.json \(mode 600\) instead/);
      const result = JSON.parse(locked.stdout) as { read: boolean; list: Array<{ host: string; where: string }> };
      assert.equal(result.read, true, 'the token is usable from the file');
      assert.match(result.list.find((login) => login.host === 'https://fallback.example')?.where ?? '', /^plaintext file .*token-store\.json$/);
      const list = await runCli(['--list', '--store', 'keyring'], env);
      assert.match(list.stdout, /https:\/\/fallback\.example .*plaintext file/);
      assert.match(list.stdout, /https:\/\/kept\.example .*keyring/);
      assertNoSecret([locked.stderr, list.stdout, list.stderr], ['went-to-the-file', 'rt-went-to-the-file']);
    } finally {
      await own.close();
    }
  });

  it('the built package on the oldest Node that engines admits (22.12) stores and reads a token through the keyring', () => {
    const root = path.join(here, '..');
    if (!fs.existsSync(path.join(root, 'dist', 'keyring.js'))) execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.build.json')]);
    const oldest = path.join(root, 'tools', 'oldest-node', 'node_modules', '.bin', 'node');
    const script = `import { KeyringTokenStore } from ${JSON.stringify(path.join(root, 'dist', 'keyring.js'))};
const store = new KeyringTokenStore({ appName: 'oldest-node', onWarning: (message) => { console.error(message); process.exit(2); } });
const now = Math.floor(Date.now() / 1000);
await store.put('https://old.example', { access_token: 'from-node-22', token_type: 'Bearer', expires: now + 3600, refresh_token: 'rt-from-node-22', refresh_expires: now + 7200, scope: 'openid', headers: { Authorization: 'Bearer from-node-22' } });
console.log(process.version, (await store.get('https://old.example'))?.access_token);`;
    const output = execFileSync(oldest, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH, ...desktop({ XDG_CACHE_HOME: path.join(keyring?.home ?? '', 'oldest') }) }, encoding: 'utf8' });
    assert.equal(output.trim(), 'v22.12.0 from-node-22');
    assert.deepEqual(keyring?.items('oidc-auth-client:oldest-node').map((item) => item.account), ['https://old.example']);
  });

  it('no keyring at all (no session bus): the token goes to the plaintext file, visibly', async () => {
    const env = { HOME: keyring?.home, XDG_CACHE_HOME: path.join(keyring?.home ?? '', 'headless'), DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' };
    const run = await startCli(['https://headless.example', 'headless-token'], env, { script: path.join(here, 'helpers', 'keyring-put.ts') }).done;
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /The keyring is not available .*stored in the plaintext file/);
    const result = JSON.parse(run.stdout) as { read: boolean; list: Array<{ where: string }> };
    assert.equal(result.read, true);
    assert.match(result.list[0]?.where ?? '', /^plaintext file /);
  });
});

function nodeScriptWith(env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  return startCli(args, env, { script: path.join(here, 'helpers', 'keyring-put.ts') }).done.then((result) => {
    if (result.code !== 0) throw new Error(result.stderr);
    return result.stdout;
  });
}
