// The TokenStoreBackend contract, as one set of cases every store must pass:
// the file store, the memory store, the Redis store and the keyring store.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { clearStore, listLogins, putToken, removeToken, storedToken, type TokenStoreBackend } from '../../src/index.ts';
import { testToken } from '../fixtures/token.ts';

/** Register the contract's cases for the store `open()` gives (a fresh, empty one per case). */
export function storeContract(open: () => Promise<TokenStoreBackend> | TokenStoreBackend): void {
  const now = () => Math.floor(Date.now() / 1000);

  it('contract: put, read (the host normalised), entries, remove, clear', async () => {
    const store = await open();
    assert.equal(await storedToken(store, 'https://a.example'), undefined);
    await putToken(store, 'HTTPS://A.example/', testToken('at-a'));
    await putToken(store, 'https://b.example', testToken('at-b'));
    assert.equal((await store.read('https://a.example')).token?.access_token, 'at-a');
    assert.deepEqual((await store.entries()).map((entry) => entry.host).sort(), ['https://a.example', 'https://b.example']);
    assert.equal(typeof (await store.entries())[0]?.stored_at, 'number');
    assert.equal(await removeToken(store, 'https://a.example'), true);
    assert.equal(await removeToken(store, 'https://a.example'), false);
    assert.equal(await storedToken(store, 'https://a.example'), undefined);
    await clearStore(store);
    assert.deepEqual(await store.entries(), []);
  });

  it('contract: accounts of one server are separate entries; who logged in is kept and listed, never a token', async () => {
    const store = await open();
    await putToken(store, 'HTTPS://A.example/', { ...testToken('at-default'), who: { name: 'alice', subject: 'u-1' } });
    await putToken(store, 'https://a.example#account=project', { ...testToken('at-project'), who: { name: 'bob' } });
    assert.equal((await store.read('https://a.example')).token?.access_token, 'at-default');
    assert.equal((await store.read('https://A.example#account=project')).token?.access_token, 'at-project', 'the host part is normalised, the account kept');
    assert.deepEqual((await store.read('https://a.example')).token?.who, { name: 'alice', subject: 'u-1' });
    const listed = (await listLogins(store)).sort((a, b) => a.account.localeCompare(b.account)).map((login) => [login.host, login.server, login.account, login.who?.name]);
    assert.deepEqual(listed, [['https://a.example', 'https://a.example', 'default', 'alice'], ['https://a.example#account=project', 'https://a.example', 'project', 'bob']]);
    assert.doesNotMatch(JSON.stringify(await listLogins(store)), /at-default|at-project/);
    assert.equal(await removeToken(store, 'https://a.example#account=project'), true);
    assert.equal((await store.read('https://a.example')).token?.access_token, 'at-default', 'removing one account leaves the other');
  });

  it('contract: every write gives a new version, and a read tells the version it read', async () => {
    const store = await open();
    const first = await putToken(store, 'https://a.example', testToken('one'));
    assert.ok(first !== undefined);
    assert.equal(await store.version(), first);
    assert.equal((await store.read('https://a.example')).version, first);
    const second = await putToken(store, 'https://a.example', testToken('two'));
    assert.notEqual(second, first);
    assert.equal(await store.version(), second);
  });

  it('contract: update() runs one change at a time and re-reads inside: 20 concurrent increments give 20', async () => {
    const store = await open();
    const key = 'https://counter.example';
    await putToken(store, key, testToken('count', { scope: '0' }));
    await Promise.all(Array.from({ length: 20 }, () => store.update(async (current) => {
      const count = Number(current(key)?.scope);
      await new Promise((resolve) => setTimeout(resolve, 1));
      return { [key]: testToken('count', { scope: String(count + 1) }) };
    })));
    assert.equal((await store.read(key)).token?.scope, '20');
  });

  it('contract: a change that throws writes nothing, and the store stays usable', async () => {
    const store = await open();
    await putToken(store, 'https://a.example', testToken('kept'));
    const before = await store.version();
    await assert.rejects(store.update(() => {
      throw new Error('the refresh failed');
    }), /the refresh failed/);
    assert.equal(await store.version(), before);
    assert.equal((await store.read('https://a.example')).token?.access_token, 'kept');
    await putToken(store, 'https://b.example', testToken('next'));
  });

  it('contract: an entry past both expiries is neither read nor listed, also after later writes', async () => {
    const store = await open();
    await putToken(store, 'https://old.example', testToken('old', { expires: now() - 100, refreshExpires: now() - 100 }));
    assert.equal(await storedToken(store, 'https://old.example'), undefined);
    assert.deepEqual(await store.entries(), []);
    await putToken(store, 'https://new.example', testToken('new'));
    assert.deepEqual((await store.entries()).map((entry) => entry.host), ['https://new.example']);
  });
}
