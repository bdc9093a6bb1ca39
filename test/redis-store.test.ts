// The Redis store against a real redis-server (Debian package, started here
// on a free loopback port with a throw-away folder): the store contract,
// the file store's JSON shape, a fleet of processes that share nothing but
// Redis against oidc-provider with refresh-token rotation, a lock holder
// killed or paused past its lease, Redis restarted mid-run, and a wrong
// password.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { authenticate, DeviceFlow, isAuthError, TokenStore } from '../src/index.ts';
import { RedisTokenStore } from '../src/redis.ts';
import { redisMissing, startRedis, type RedisServer } from './fixtures/redis.ts';
import { testToken } from './fixtures/token.ts';
import { personApproves, startWorld, type World } from './fixtures/world.ts';
import { runCli } from './helpers/cli.ts';
import { storeContract } from './helpers/store-contract.ts';

// CI installs redis-server (.ci/run): there a missing one is a failure, not a skip.
const skip = process.env.CI ? false : redisMissing();
const ACCESS_TTL = 62; // valid for 2 s: the client counts a token valid while more than 60 s remain
const here = import.meta.dirname;

let redis: RedisServer | undefined;
let prefixes = 0;
const stores: RedisTokenStore[] = [];
function openRedisStore(options: ConstructorParameters<typeof RedisTokenStore>[0] = {}): RedisTokenStore {
  const store = new RedisTokenStore({ url: redis?.url, prefix: `test-${process.pid}-${(prefixes += 1)}:`, ...options });
  stores.push(store);
  return store;
}

let world: World | undefined;
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  await world?.close();
  world = undefined;
});

/** A child process that shares nothing with this one but Redis: its own HOME, no store file. */
function child(script: string, args: string[], home: string): { stdout: () => string; next: (text: string) => Promise<void>; done: Promise<string>; kill: (signal: NodeJS.Signals) => void } {
  const proc = spawn(process.execPath, [path.join(here, 'helpers', script), ...args], { env: { PATH: process.env.PATH, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiting: Array<{ text: string; resolve: () => void }> = [];
  proc.stdout.on('data', (data: Buffer) => {
    out += data.toString();
    for (const wait of waiting.filter((item) => out.includes(item.text))) wait.resolve();
  });
  proc.stderr.on('data', (data: Buffer) => (err += data.toString()));
  return {
    stdout: () => out,
    next: (text) => (out.includes(text) ? Promise.resolve() : new Promise((resolve) => waiting.push({ text, resolve }))),
    done: new Promise((resolve, reject) => proc.on('close', (code, signal) => (code === 0 || signal ? resolve(out) : reject(new Error(`${script} exited ${code}: ${err}`))))),
    kill: (signal) => proc.kill(signal),
  };
}

/**
 * A store with `leaseMs`, and a child process (redis-holder.ts) inside its
 * update() for `holdMs` before it writes `access` for https://a.example:
 * resolves once the child holds the lock.
 */
async function holdingTheLock(leaseMs: number, holdMs: number, access: string): Promise<{ store: RedisTokenStore; holder: ReturnType<typeof child> }> {
  const store = openRedisStore({ leaseMs });
  const holder = child('redis-holder.ts', [redis?.url ?? '', store.prefix, String(leaseMs), String(holdMs), 'https://a.example', access], home());
  await holder.next('inside');
  return { store, holder };
}

function home(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-machine-'));
}

describe('RedisTokenStore', { skip }, () => {
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.close();
  });

  describe('keeps the store contract', () => {
    storeContract(() => openRedisStore());
  });

  it('an entry is the file store\'s JSON, under the host in one hash; no key name holds a token', async () => {
    const store = openRedisStore({ prefix: 'shape-test:' });
    const token = testToken('secret-access-value');
    await store.put('https://a.example', token);
    const file = new TokenStore({ path: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-shape-')), 'store.json') });
    await file.put('https://a.example', token);
    const inFile = (JSON.parse(fs.readFileSync(file.path, 'utf8')) as Record<string, Record<string, unknown>>)['https://a.example'];
    const inRedis = JSON.parse(redis?.cli('HGET', 'shape-test:{store}:entries', 'https://a.example') ?? '') as Record<string, unknown>;
    assert.deepEqual(Object.keys(inRedis).sort(), Object.keys(inFile ?? {}).sort());
    assert.deepEqual(inRedis.token, inFile?.token);
    const keys = redis?.cli('KEYS', 'shape-test:*') ?? '';
    assert.ok(keys.includes('shape-test:{store}:entries'));
    assert.ok(!keys.includes('secret-access-value') && !keys.includes('rt-secret'), keys);
    assert.equal(redis?.cli('KEYS', 'shape-test:{store}:lock'), '', 'the lock is released after the write');
  });

  it('8 processes that share nothing but Redis x 50 calls, refresh tokens rotated: one refresh per token lifetime, no invalid_grant, no lost entry', { timeout: 120_000 }, async () => {
    world = await startWorld({ idp: { accessTokenTtl: ACCESS_TTL, rotateRefreshToken: true } });
    const store = openRedisStore();
    const person = personApproves();
    const first = await authenticate({ host: world.app.host, store, interactive: true, openBrowser: false, onDeviceCode: person.onDeviceCode });
    const machines = Array.from({ length: 8 }, () => home());
    const started = Date.now() / 1000;
    const outputs = await Promise.all(machines.map((dir, id) => child('store-worker.ts', [world?.app.host ?? '', redis?.url ?? '', '50', String(id), store.prefix], dir).done));
    const ended = Date.now() / 1000;
    const results = outputs.map((output) => JSON.parse(output) as { seen: Array<{ token: string; at: number; expires: number }>; errors: string[] });

    assert.deepEqual(results.flatMap((result) => result.errors), [], 'no invalid_grant, no lock_timeout, no store_error');
    const calls = results.flatMap((result) => result.seen);
    assert.equal(calls.length, 8 * 50);
    for (const call of calls) assert.ok(call.expires > call.at, 'every token returned was still valid');
    const tokens = new Map<string, number>();
    for (const call of [{ token: first.access_token, at: started, expires: first.expires }, ...calls]) tokens.set(call.token, Math.min(tokens.get(call.token) ?? Infinity, call.at));
    const refreshes = world.app.requests.refresh;
    assert.equal(refreshes, tokens.size - 1, 'every refresh gave a token that was used: none was made twice');
    assert.equal(world.idp.grants.refresh_token, refreshes, 'the provider saw the same refreshes');
    const lifetimes = Math.ceil((ended - started) / (ACCESS_TTL - 60));
    assert.ok(refreshes >= 1 && refreshes <= lifetimes + 1, `${refreshes} refreshes for ${lifetimes} token lifetimes`);
    const hosts = (await store.entries()).map((entry) => entry.host);
    assert.deepEqual(Array.from({ length: 8 }, (_, id) => `https://worker-${id}.example`).filter((host) => !hosts.includes(host)), [], 'no entry lost');
    for (const dir of machines) assert.deepEqual(fs.readdirSync(dir, { recursive: true }), [], 'no machine wrote a file');
    process.stderr.write(`redis fleet: 8 processes x 50 calls in ${(ended - started).toFixed(1)} s: ${refreshes} refresh requests for ${lifetimes} token lifetimes of ${ACCESS_TTL - 60} s, 0 errors\n`);
  });

  it('a lock holder killed with SIGKILL mid-change: the next caller takes over within the lease', { timeout: 30_000 }, async () => {
    const { store, holder } = await holdingTheLock(1500, 60_000, 'from-the-killed-holder');
    holder.kill('SIGKILL');
    await holder.done;
    const killed = Date.now();
    await store.put('https://a.example', testToken('from-the-next-caller'));
    const waited = Date.now() - killed;
    assert.ok(waited <= 1500 + 1000, `took over after ${waited} ms (lease 1500 ms)`);
    assert.equal((await store.read('https://a.example')).token?.access_token, 'from-the-next-caller');
  });

  it('a holder paused (SIGSTOP) past its lease and resumed: its late write is refused, the newer token stays', { timeout: 30_000 }, async () => {
    const { store, holder } = await holdingTheLock(1000, 300, 'late-write');
    holder.kill('SIGSTOP');
    await sleep(1500);
    await store.put('https://a.example', testToken('newer-write'));
    holder.kill('SIGCONT');
    const said = await holder.done;
    assert.match(said, /^store_error: .*longer than its lease .*refused/m);
    assert.equal((await store.read('https://a.example')).token?.access_token, 'newer-write');
  });

  it('Redis restarted mid-run: callers get store_error or succeed after reconnecting; no entry is corrupt or lost', { timeout: 60_000 }, async () => {
    world = await startWorld({ idp: { accessTokenTtl: ACCESS_TTL, rotateRefreshToken: true } });
    const store = openRedisStore();
    const person = personApproves();
    await authenticate({ host: world.app.host, store, interactive: true, openBrowser: false, onDeviceCode: person.onDeviceCode });
    const { prefix } = store;
    const workers = Array.from({ length: 3 }, (_, id) => child('store-worker.ts', [world?.app.host ?? '', redis?.url ?? '', '40', String(id), prefix], home()));
    await sleep(1500);
    await redis?.restart();
    const restarted = Date.now() / 1000;
    await sleep(2000);
    await redis?.restart();
    const results = (await Promise.all(workers.map((worker) => worker.done))).map((output) => JSON.parse(output) as { seen: Array<{ at: number }>; errors: string[] });
    const errors = results.flatMap((result) => result.errors);
    assert.deepEqual(errors.filter((error) => !error.startsWith('store_error: ') && !error.startsWith('put: store_error: ')), [], 'only store_error');
    assert.ok(results.every((result) => result.seen.some((call) => call.at > restarted + 1)), 'every process went on after the restart');
    const token = await authenticate({ host: world.app.host, store, interactive: false });
    assert.ok(token.access_token);
    for (const field of (redis?.cli('HKEYS', `${prefix}{store}:entries`) ?? '').split('\n').filter(Boolean)) {
      const entry = JSON.parse(redis?.cli('HGET', `${prefix}{store}:entries`, field) ?? '') as { token?: { access_token?: unknown } };
      assert.equal(typeof entry.token?.access_token, 'string', `${field} is a whole entry`);
    }
    process.stderr.write(`redis restart: ${results.reduce((sum, result) => sum + result.seen.length, 0)} calls succeeded, ${errors.length} got store_error, ${world.app.requests.refresh} refreshes, 0 invalid_grant\n`);
  });

  it('a wrong password: store_error naming the problem, never the password (library and CLI)', async () => {
    const guarded = await startRedis({ password: 'right-horse-battery' });
    try {
      const url = guarded.url.replace('right-horse-battery', 'wrong-staple-99');
      const store = openRedisStore({ url });
      const error = await authenticate({ host: 'https://app.example', store, interactive: false }).catch((caught: unknown) => caught);
      assert.ok(isAuthError(error) && error.code === 'store_error', String(error));
      assert.match(error.message, /refused the credentials/);
      assert.doesNotMatch(`${error.message} ${error.stack} ${store.id} ${store.description}`, /wrong-staple-99|right-horse/);
      const cli = await runCli(['--store', url, 'https://app.example'], { HOME: home() });
      assert.equal(cli.code, 1);
      assert.match(cli.stderr, /refused the credentials/);
      assert.doesNotMatch(cli.stderr + cli.stdout, /wrong-staple-99/);
    } finally {
      await guarded.close();
    }
  });

  it('a Redis user limited to its prefix and the commands SECURITY.md lists is enough; one without them gets a store_error that says so', async () => {
    const commands = '+eval +get +hgetall +set +incr +hset +hdel +hget +del +exists +pexpire';
    assert.equal(redis?.cli('ACL', 'SETUSER', 'billing', 'on', '>billing-pass', '~billing:*', ...commands.split(' ')), 'OK');
    assert.equal(redis?.cli('ACL', 'SETUSER', 'readonly', 'on', '>readonly-pass', '~billing:*', '+eval', '+get', '+hgetall', '+hget', '+exists'), 'OK');
    const url = (user: string) => (redis?.url ?? '').replace('redis://', `redis://${user}:${user}-pass@`);
    const store = openRedisStore({ url: url('billing'), prefix: 'billing:' });
    await store.put('https://app.example', testToken('acl-token'));
    assert.equal((await store.get('https://app.example'))?.access_token, 'acl-token');
    assert.equal(await store.remove('https://app.example'), true);
    const other = openRedisStore({ url: url('billing'), prefix: 'other-app:' });
    await assert.rejects(other.put('https://app.example', testToken('x')), (error: unknown) => isAuthError(error) && error.code === 'store_error' && /no permission/.test(error.message));
    const readonly = openRedisStore({ url: url('readonly'), prefix: 'billing:' });
    await assert.rejects(readonly.put('https://app.example', testToken('x')), (error: unknown) => isAuthError(error) && error.code === 'store_error' && /no permission/.test(error.message) && !error.message.includes('readonly-pass'));
  });

  it('a DeviceFlow on a Redis store: storedToken() reads Redis; .token never throws, also with Redis down (no unhandled rejection)', async () => {
    const store = openRedisStore();
    await store.put('https://flow.example', testToken('flow-token'));
    const flow = new DeviceFlow('https://flow.example', { store });
    assert.equal((await flow.storedToken())?.access_token, 'flow-token');
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      DeviceFlow.resetInstances();
      const down = new DeviceFlow('https://flow.example', { store: openRedisStore({ url: 'redis://127.0.0.1:1' }) });
      assert.equal(down.token, undefined);
      await assert.rejects(down.storedToken(), (error: unknown) => isAuthError(error) && error.code === 'store_error');
      await sleep(100);
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      DeviceFlow.resetInstances();
    }
  });

  it('oidc-auth --store redis://…?prefix=: a login lands in Redis, and --list and --remove work on it', { timeout: 30_000 }, async () => {
    const store = openRedisStore({ prefix: 'cli-app:' });
    await store.put('https://app.example', testToken('cli-token'));
    const url = `${redis?.url ?? ''}?prefix=cli-app:`;
    const cached = await runCli(['--store', url, 'https://app.example'], { HOME: home() });
    assert.equal(cached.stdout, 'cli-token\n');
    const list = await runCli(['--store', url, '--list', '--json'], { HOME: home() });
    const listed = JSON.parse(list.stdout) as { store: string; storage: string; hosts: Array<{ host: string }> };
    assert.deepEqual(listed.hosts.map((row) => row.host), ['https://app.example']);
    assert.match(listed.storage, /^Redis at redis:\/\/127\.0\.0\.1:\d+, keys cli-app:/);
    const removed = await runCli(['--store', url, '--remove', 'https://app.example'], { HOME: home() });
    assert.equal(removed.code, 0);
    assert.equal(await store.get('https://app.example'), undefined);
  });
});

describe('RedisTokenStore against a server that is not Redis', () => {
  it('an answer of the wrong type (an integer, nil, a status) to each command is a store_error naming the address, never a TypeError', async () => {
    for (const answer of [':1\r\n', '$-1\r\n', '+OK\r\n']) {
      // Answers every RESP command with the same reply, whatever it asked.
      const server = net.createServer((socket) => socket.on('data', (data: Buffer) => {
        for (const _command of data.toString().matchAll(/^\*\d+\r\n/gm)) socket.write(answer);
      }));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as net.AddressInfo;
      const store = new RedisTokenStore({ url: `redis://127.0.0.1:${port}`, commandTimeout: 1000, lockTimeout: 1000 });
      try {
        for (const call of [() => store.read('https://a.example'), () => store.put('https://a.example', testToken('x')), () => store.entries()]) {
          await assert.rejects(call(), (error: unknown) => isAuthError(error) && error.code === 'store_error' && error.message.includes(`127.0.0.1:${port} gave an unexpected answer`), `${JSON.stringify(answer)}: ${call.toString()}`);
        }
      } finally {
        await store.close();
        await new Promise((resolve) => server.close(resolve));
      }
    }
  });
});
