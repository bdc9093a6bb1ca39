// Which store a call uses: the option, else OIDC_TOKEN_FILE, else
// OIDC_AUTH_STORE, else the file store; and the CLI's --export.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isAuthError, MemoryTokenStore, TokenStore } from '../src/index.ts';
import { KeyringTokenStore } from '../src/keyring.ts';
import { chooseStore } from '../src/adapters/store/choice.ts';
import { testToken } from './fixtures/token.ts';
import { runCli } from './helpers/cli.ts';

describe('choosing a store', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-choice-'));
  const env = { HOME: home, XDG_CACHE_HOME: path.join(home, 'cache') };

  it('OIDC_AUTH_STORE=keyring picks the keyring store, whose fallback is the file store; the same instance each call', () => {
    const store = chooseStore(undefined, 'app', { ...env, OIDC_AUTH_STORE: 'keyring' });
    assert.ok(store instanceof KeyringTokenStore);
    assert.equal(store.fallback.path, path.join(home, 'cache', 'app', 'token-store.json'));
    assert.equal(store.indexPath, path.join(home, 'cache', 'app', 'keyring-index.json'));
    assert.equal(chooseStore(undefined, 'app', { ...env, OIDC_AUTH_STORE: 'keyring' }), store);
  });

  it('OIDC_TOKEN_FILE wins over OIDC_AUTH_STORE; an option wins over both; memory and file by name', () => {
    const file = path.join(home, 'token.json');
    const fromFile = chooseStore(undefined, undefined, { ...env, OIDC_AUTH_STORE: 'keyring', OIDC_TOKEN_FILE: file });
    assert.ok(fromFile instanceof TokenStore && fromFile.path === file);
    assert.ok(chooseStore('file', undefined, { ...env, OIDC_AUTH_STORE: 'keyring' }) instanceof TokenStore);
    assert.ok(chooseStore('memory', undefined, env) instanceof MemoryTokenStore);
    assert.ok(chooseStore(undefined, undefined, { ...env, OIDC_AUTH_STORE: 'Memory' }) instanceof MemoryTokenStore);
    const own = new MemoryTokenStore();
    assert.equal(chooseStore(own, undefined, { ...env, OIDC_AUTH_STORE: 'keyring' }), own);
  });

  it('an unknown OIDC_AUTH_STORE is a store_error that lists the names', () => {
    assert.throws(() => chooseStore(undefined, undefined, { ...env, OIDC_AUTH_STORE: 'vault' }), (error: unknown) => isAuthError(error) && error.code === 'store_error' && /file, keyring or memory/.test(error.message));
  });

  it('oidc-auth --export HOST --json prints the stored token as JSON without a request; without --json it is a usage error; nothing stored: exit 3', async () => {
    const file = path.join(home, 'export-store.json');
    await new TokenStore({ path: file }).put('https://app.example', testToken('exported-token'));
    const exported = await runCli(['--export', 'https://app.example', '--json', '--store', file]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal((JSON.parse(exported.stdout) as { access_token: string }).access_token, 'exported-token');
    const usage = await runCli(['--export', 'https://app.example', '--store', file]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /add --json/);
    const none = await runCli(['--export', 'https://other.example', '--json', '--store', file]);
    assert.equal(none.code, 3);
    assert.match(none.stderr, /No token stored for https:\/\/other\.example/);
    assert.equal(none.stdout, '');
  });
});
