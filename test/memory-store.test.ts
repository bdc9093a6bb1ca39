// No persistence: tokens in this process's memory only, for tests,
// containers with read-only homes and people who want nothing on disk.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { authenticate, MemoryTokenStore, type TokenStoreBackend } from '../src/index.ts';
import { runCli } from './helpers/cli.ts';
import { personApproves, startWorld } from './fixtures/world.ts';
import { closedAfterEach } from './helpers/servers.ts';

const track = closedAfterEach();

describe('store: memory', () => {
  it("authenticate({ store: 'memory' }) logs in once per process, serves the cache from memory and writes nothing to disk", async () => {
    const world = track(await startWorld());
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-memory-home-'));
    const previous = { HOME: process.env.HOME, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
    process.env.HOME = home;
    delete process.env.XDG_CACHE_HOME;
    try {
      const token = await authenticate({ host: world.app.host, store: 'memory', interactive: true, openBrowser: false, onDeviceCode: personApproves().onDeviceCode });
      const again = await authenticate({ host: world.app.host, store: 'memory', interactive: false });
      assert.equal(again.access_token, token.access_token, 'the second call is served from memory');
      assert.equal(world.app.requests.device, 1);
      assert.deepEqual(fs.readdirSync(home, { recursive: true }), [], 'nothing written under HOME');
    } finally {
      Object.assign(process.env, previous);
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('MemoryTokenStore keeps the TokenStore contract: put, get, entries, remove, clear; the eviction rule', async () => {
    const store = new MemoryTokenStore();
    const now = Math.floor(Date.now() / 1000);
    const token = { access_token: 'at', token_type: 'Bearer', expires: now + 600, refresh_token: 'rt', refresh_expires: now + 900, scope: '', headers: { Authorization: 'Bearer at' } };
    await store.put('HTTPS://A.example/path', token);
    assert.equal(store.get('https://a.example')?.access_token, 'at');
    assert.deepEqual(store.hosts(), ['https://a.example']);
    await store.put('https://old.example', { ...token, expires: now - 100, refresh_expires: now - 100 });
    assert.equal(store.get('https://old.example'), undefined, 'evicted');
    assert.equal(await store.remove('https://a.example'), true);
    await store.clear();
    assert.deepEqual(store.entries(), []);
    const contract: TokenStoreBackend = store;
    assert.equal(contract.loginTurn, undefined, 'one process only: no login turn across processes');
    assert.match(store.description, /memory only/);
  });

  it('oidc-auth --no-store: no token file is read or written (so a batch run needs a login: exit 3); --list says where tokens are kept', async () => {
    const world = track(await startWorld());
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-nostore-'));
    try {
      const usage = await runCli([world.app.host, '--no-store', '--store', path.join(cache, 'x.json')]);
      assert.equal(usage.code, 2);
      const noLogin = await runCli([world.app.host, '--no-store'], { XDG_CACHE_HOME: cache });
      assert.equal(noLogin.code, 3, 'nothing stored: a login is needed');
      assert.deepEqual(fs.readdirSync(cache), [], 'no file written');
      const list = await runCli(['--list', '--json', '--no-store']);
      assert.match((JSON.parse(list.stdout) as { storage: string }).storage, /memory only/);
      const file = await runCli(['--list', '--json'], { XDG_CACHE_HOME: cache });
      assert.match((JSON.parse(file.stdout) as { storage: string }).storage, /plaintext JSON file, mode 600/);
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });
});
