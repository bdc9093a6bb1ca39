import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { acquireFileLock, lockHolder } from '../src/adapters/store/lock.ts';
import { runCli } from './helpers/cli.ts';
import { defaultStorePath, TokenStore, type Token } from '../src/index.ts';

const run = promisify(execFile);
const now = () => Math.floor(Date.now() / 1000);
const token = (name: string, expires = now() + 3600, refreshExpires = now() + 7200): Token => ({
  access_token: `at-${name}`, token_type: 'Bearer', expires, refresh_token: `rt-${name}`, refresh_expires: refreshExpires, scope: 'openid offline_access', headers: { Authorization: `Bearer at-${name}` },
});

let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-store-'));
  file = path.join(dir, 'app', 'token-store.json');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('TokenStore', () => {
  it('defaults to the Python client path under XDG_CACHE_HOME', () => {
    assert.equal(defaultStorePath('py-oidc-auth', { XDG_CACHE_HOME: '/x/cache' }), '/x/cache/py-oidc-auth/token-store.json');
    assert.equal(defaultStorePath('my-app', {}), path.join(os.homedir(), '.cache', 'my-app', 'token-store.json'));
  });

  it('reads a store written by the Python client and writes the same format back', async () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const python = {
      'https://myapp.example.com': { token: { ...token('py'), headers: { Authorization: 'Bearer at-py' } }, stored_at: 1717027200.0 },
      'http://localhost:8080': { token: token('local'), stored_at: 1717027200.5 },
    };
    fs.writeFileSync(file, JSON.stringify(python));
    const store = new TokenStore({ path: file });
    assert.equal(store.get('https://MyApp.example.com/some/path')?.access_token, 'at-py');
    assert.deepEqual(store.hosts().sort(), ['http://localhost:8080', 'https://myapp.example.com']);
    await store.put('https://new.example.org:443/', token('new'));
    const written = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, { token: Token; stored_at: number }>;
    assert.deepEqual(Object.keys(written).sort(), ['http://localhost:8080', 'https://myapp.example.com', 'https://new.example.org']);
    assert.equal(written['https://new.example.org']?.token.access_token, 'at-new');
    assert.equal(typeof written['https://new.example.org']?.stored_at, 'number');
    assert.deepEqual(written['https://myapp.example.com']?.token, python['https://myapp.example.com'].token);
  });

  it('creates the file 0600 in a 0700 folder, with no lock left behind', async () => {
    const store = new TokenStore({ path: file });
    await store.put('https://a.example.org', token('a'));
    assert.equal((fs.statSync(file).mode & 0o777).toString(8), '600');
    assert.equal((fs.statSync(path.dirname(file)).mode & 0o777).toString(8), '700');
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['token-store.json']);
  });

  it('evicts entries past both expiries; remove and clear', async () => {
    const store = new TokenStore({ path: file });
    await store.put('https://old.example.org', token('old', now() - 100, now() + 20));
    await store.put('https://live.example.org', token('live'));
    assert.equal(store.get('https://old.example.org'), undefined);
    assert.deepEqual(store.hosts(), ['https://live.example.org']);
    assert.equal(await store.remove('https://live.example.org/'), true);
    assert.equal(await store.remove('https://live.example.org/'), false);
    await store.put('https://x.example.org', token('x'));
    await store.clear();
    assert.deepEqual(store.hosts(), []);
  });

  it('moves an unreadable file aside, says where, and starts fresh', async () => {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, '{"https://a.example.org": {"token": ', { mode: 0o600 });
    const warnings: string[] = [];
    const store = new TokenStore({ path: file, onWarning: (m) => warnings.push(m) });
    assert.equal(store.get('https://a.example.org'), undefined);
    assert.equal(warnings.length, 1);
    const aside = fs.readdirSync(path.dirname(file)).find((name) => name.includes('.corrupt-'));
    assert.ok(aside && warnings[0]?.includes(aside));
    assert.equal(fs.readFileSync(path.join(path.dirname(file), aside), 'utf8'), '{"https://a.example.org": {"token": ', 'kept for the person');
    await store.put('https://b.example.org', token('b'));
    assert.equal(store.get('https://b.example.org')?.access_token, 'at-b');
  });

  it('breaks a lock left by a dead process', async () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const child = await run(process.execPath, ['-e', 'console.log(process.pid)']);
    const deadPid = Number(child.stdout.trim());
    fs.writeFileSync(`${file}.lock`, JSON.stringify({ ...lockHolder(), pid: deadPid, nonce: 'dead' }));
    const store = new TokenStore({ path: file, lockTimeout: 2000 });
    await store.put('https://a.example.org', token('a'));
    assert.equal(store.get('https://a.example.org')?.access_token, 'at-a');
  });

  it('waits for a live holder and then fails with lock_timeout naming the lock', async () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.lock`, JSON.stringify({ pid: process.pid, hostname: os.hostname(), nonce: 'live' }));
    const store = new TokenStore({ path: file, lockTimeout: 300 });
    await assert.rejects(store.put('https://a.example.org', token('a')), (error: unknown) =>
      (error as { code?: string }).code === 'lock_timeout' && (error as Error).message.includes(`${file}.lock`) && (error as Error).message.includes(String(process.pid)));
    assert.ok(fs.existsSync(`${file}.lock`), 'a live holder keeps its lock');
  });

  it('a lock whose holder has created but not yet named it: the waiter names the holder, not "an unknown process"', async () => {
    const lock = path.join(dir, 'turn.lock');
    fs.writeFileSync(lock, ''); // created (O_EXCL) and not yet written: how another process's lock looks for a moment
    setTimeout(() => fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, hostname: os.hostname(), nonce: 'other' })), 15);
    setTimeout(() => fs.rmSync(lock, { force: true }), 200);
    const told: unknown[] = [];
    const lease = await acquireFileLock(lock, { timeoutMs: 5000, onWait: (holder) => told.push(holder && { pid: holder.pid, hostname: holder.hostname }) });
    lease.release();
    assert.deepEqual(told, [{ pid: process.pid, hostname: os.hostname() }]);
  });

  it('four processes writing at once lose no entry', async () => {
    const writer = path.join(import.meta.dirname, 'helpers', 'store-writer.ts');
    await Promise.all(['p1', 'p2', 'p3', 'p4'].map((prefix) => run(process.execPath, [writer, file, prefix, '15'])));
    const hosts = new TokenStore({ path: file }).hosts();
    assert.equal(hosts.length, 60);
  });

  it('a single-token file (OIDC_TOKEN_FILE) serves any host and keeps its shape', async () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(token('single')));
    const store = new TokenStore({ path: file });
    assert.equal(store.get('https://whatever.example.org')?.access_token, 'at-single');
    await store.put('https://whatever.example.org', token('next'));
    assert.equal((JSON.parse(fs.readFileSync(file, 'utf8')) as Token).access_token, 'at-next');
  });

  /** A folder with `mode` holding a store file with `fileMode`; returns the file's path. */
  function storeIn(folder: string, mode: number, fileMode: number): string {
    fs.mkdirSync(folder, { recursive: true });
    fs.chmodSync(folder, mode);
    const inside = path.join(folder, 'token.json');
    fs.writeFileSync(inside, JSON.stringify({ 'https://a.example.org': { token: token('a'), stored_at: now() } }));
    fs.chmodSync(inside, fileMode);
    return inside;
  }
  const modeOf = (target: string) => fs.statSync(target).mode & 0o7777;

  it('a setgid group folder the person chose: a read changes nothing and warns once how to fix it; a write makes a new 0600 file and leaves the folder', async () => {
    const group = path.join(dir, 'project');
    const chosen = storeIn(group, 0o2775, 0o640);
    const warnings: string[] = [];
    const store = new TokenStore({ path: chosen, onWarning: (m) => warnings.push(m) });
    assert.equal(store.get('https://a.example.org')?.access_token, 'at-a');
    store.get('https://a.example.org');
    assert.equal(modeOf(group), 0o2775, 'group access and setgid kept');
    assert.equal(modeOf(chosen), 0o640, 'a read changes no mode');
    assert.equal(warnings.length, 1, 'one warning');
    assert.match(warnings[0] ?? '', /can be read by the members of its group \(mode 640\).*chmod 600 /);
    const cli = await runCli(['https://a.example.org'], { OIDC_TOKEN_FILE: chosen });
    assert.equal(cli.stdout, 'at-a\n', 'the CLI reads it too');
    assert.equal(modeOf(group), 0o2775, 'and changes no mode either');
    assert.equal(modeOf(chosen), 0o640);
    await store.put('https://b.example.org', token('b'));
    assert.equal(modeOf(group), 0o2775, 'a write leaves the folder too');
    assert.equal(modeOf(chosen), 0o600, 'the file written is new, 0600');
  });

  it('a sticky shared folder and the home folder are never changed, on read or write', async () => {
    const shared = storeIn(path.join(dir, 'shared'), 0o1777, 0o644);
    const home = path.join(dir, 'home');
    const inHome = storeIn(home, 0o755, 0o600);
    const previousHome = process.env.HOME;
    process.env.HOME = home;
    try {
      for (const chosen of [shared, inHome]) {
        const store = new TokenStore({ path: chosen, onWarning: () => {} });
        store.get('https://a.example.org');
        await store.put('https://b.example.org', token('b'));
      }
    } finally {
      process.env.HOME = previousHome;
    }
    assert.equal(modeOf(path.dirname(shared)), 0o1777);
    assert.equal(modeOf(home), 0o755);
  });

  it('the default store: its own folder under the cache folder is created 0700, and a loose one is made private when it is written, never on a read', async () => {
    const previous = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = path.join(dir, 'cache');
    try {
      const fresh = new TokenStore({ appName: 'fresh-app', onWarning: () => {} });
      await fresh.put('https://a.example.org', token('a'));
      assert.equal(modeOf(path.dirname(fresh.path)), 0o700);
      assert.equal(modeOf(fresh.path), 0o600);
      const loose = path.join(dir, 'cache', 'py-app');
      storeIn(loose, 0o755, 0o644);
      fs.renameSync(path.join(loose, 'token.json'), path.join(loose, 'token-store.json'));
      const warnings: string[] = [];
      const store = new TokenStore({ appName: 'py-app', onWarning: (m) => warnings.push(m) });
      assert.equal(store.get('https://a.example.org')?.access_token, 'at-a');
      assert.equal(modeOf(loose), 0o755, 'a read changes nothing');
      assert.deepEqual(warnings, []);
      await store.put('https://b.example.org', token('b'));
      assert.equal(modeOf(loose), 0o700);
      assert.equal(modeOf(store.path), 0o600);
      assert.match(warnings.join('\n'), /folder .* was readable by others \(mode 755\); it is now 700/);
    } finally {
      if (previous === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = previous;
    }
  });

  it('entries carry a format version; entries of a newer version or unknown shape survive every write', async () => {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const future = { token: { access_token: 'new-format' }, stored_at: now(), version: 99, extra: [1, 2] };
    fs.writeFileSync(file, JSON.stringify({ 'https://future.example': future, 'https://odd.example': 'not an entry', 'https://py.example': { token: token('py'), stored_at: now() } }), { mode: 0o600 });
    const store = new TokenStore({ path: file });
    assert.equal(store.get('https://future.example'), undefined, 'not read as a token');
    await store.put('https://b.example.org', token('b'));
    const written = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, { version?: number }>;
    assert.deepEqual(written['https://future.example'], future, 'kept exactly');
    assert.equal(written['https://odd.example'], 'not an entry');
    assert.equal(written['https://b.example.org']?.version, 1);
    assert.equal(written['https://py.example']?.version, 1, 'a Python entry is read and written with the version');
    assert.equal(await store.remove('https://future.example'), false, 'no readable token there');
    assert.ok(!('https://future.example' in (JSON.parse(fs.readFileSync(file, 'utf8')) as object)), 'but remove() drops it');
    await store.clear();
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), {});
  });

  it('a writer killed at random moments leaves the old or the new content, never a broken file; its lock is recovered', { timeout: 120_000 }, async () => {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const store = new TokenStore({ path: file, lockTimeout: 20_000 });
    await store.put('https://keep.example.org', token('keep'));
    const writer = path.join(import.meta.dirname, 'helpers', 'store-writer.ts');
    for (let round = 0; round < 20; round += 1) {
      const child = spawn(process.execPath, [writer, file, `round${round}`, '400'], { stdio: ['ignore', 'pipe', 'ignore'] });
      // Killed at a random moment after its first write: start-up time on a busy machine does not matter.
      await new Promise((resolve) => child.stdout.once('data', resolve));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 200));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.on('close', resolve));
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
      assert.ok('https://keep.example.org' in parsed, `round ${round}: the earlier entry is still there`);
    }
    const written = Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')) as object).filter((host) => host.includes('round'));
    assert.ok(written.length > 20, `the writers were killed while writing (${written.length} of their entries made it)`);
    await store.put('https://after.example.org', token('after'));
    assert.equal(store.get('https://keep.example.org')?.access_token, 'at-keep');
    assert.equal(store.get('https://after.example.org')?.access_token, 'at-after', 'the dead writer\'s lock did not block');
    assert.deepEqual(fs.readdirSync(path.dirname(file)).filter((name) => name.includes('corrupt')), []);
  });
});
