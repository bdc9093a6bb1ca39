// The cheap paths keep the guarantees: a held token is given again only
// while the store file is unchanged (one stat), any write by anyone sends the
// call through the statechart again, and a minValidity longer than the
// provider grants costs one refresh per lifetime, with one warning.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { authenticate, authState, DeviceFlow, TokenStore, type Token } from '../src/index.ts';
import { clearMetadataMemory } from '../src/servers/client/metadata-cache.ts';
import { runCli } from './helpers/cli.ts';
import { keycloak } from './providers/keycloak.ts';
import { startProvider, type Profile } from './providers/engine.ts';
import { personApproves, startWorld } from './fixtures/world.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-fast-'));
process.env.XDG_CACHE_HOME = path.join(dir, 'cache');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const token = (name: string, lifetime = 3600): Token => {
  const now = Math.floor(Date.now() / 1000);
  return { access_token: `at-${name}`, token_type: 'Bearer', expires: now + lifetime, refresh_token: `rt-${name}`, refresh_expires: now + 7200, scope: '', headers: { Authorization: `Bearer at-${name}` } };
};

describe('the held token', () => {
  it('is given again without a run while the store file is unchanged; a write by anyone runs the chart again and is seen', async () => {
    const host = 'https://fast.example';
    const store = new TokenStore({ path: path.join(dir, 'fast.json'), onWarning: () => {} });
    await store.put(host, token('one'));
    const runs = () => authState({ host, store }).view.run;
    assert.equal((await authenticate({ host, store, interactive: false })).access_token, 'at-one');
    const after1 = runs();
    for (let i = 0; i < 50; i += 1) assert.equal((await authenticate({ host, store, interactive: false })).access_token, 'at-one');
    assert.equal(runs(), after1, 'no run for an unchanged store');
    // Another process writes (here: another store object on the same file).
    await new TokenStore({ path: store.path, onWarning: () => {} }).put(host, token('two'));
    assert.equal((await authenticate({ host, store, interactive: false })).access_token, 'at-two', 'the new token at once');
    assert.equal(runs(), after1 + 1, 'one run, because the file changed');
    assert.equal((await authenticate({ host, store, interactive: false, force: true }).catch((error: Error) => error.name)), 'AuthError', 'force always runs the chart');
    DeviceFlow.resetInstances();
  });

  it('a minValidity the held token does not meet runs the chart', async () => {
    const host = 'https://fast-min.example';
    const store = new TokenStore({ path: path.join(dir, 'fast-min.json'), onWarning: () => {} });
    await store.put(host, token('short', 600));
    await authenticate({ host, store, interactive: false });
    await assert.rejects(authenticate({ host, store, interactive: false, minValidity: 1200 }), (error: Error & { code?: string }) => error.code === 'login_required');
    DeviceFlow.resetInstances();
  });
});

describe('minValidity longer than the provider grants', () => {
  it('in the process that logged in: the held token comes back with the warning, once', async () => {
    const world = await startWorld({ idp: { accessTokenTtl: 300 } });
    try {
      const warnings: string[] = [];
      const store = new TokenStore({ path: path.join(world.dir, 'token-store.json'), onWarning: (message) => warnings.push(message) });
      const person = personApproves();
      const login = await authenticate({ host: world.app.host, store, interactive: true, openBrowser: false, onDeviceCode: person.onDeviceCode });
      assert.equal(warnings.length, 0, 'the login asked for the default 60 s');
      for (let i = 0; i < 3; i += 1) assert.equal((await authenticate({ host: world.app.host, store, interactive: false, minValidity: 3600 })).access_token, login.access_token);
      assert.equal(world.app.requests.refresh, 0, 'half the lifetime is left: no refresh');
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0] ?? '', /issues tokens valid for (29\d|300) s, shorter than the 3600 s asked for/);
    } finally {
      await world.close();
    }
  });

  it('refreshes once, returns the token with one warning, and does not refresh on every call', async () => {
    const short: Profile = { ...keycloak, name: 'short-tokens', rotates: false, tokens: ({ access, refresh }) => ({ status: 200, body: { access_token: access, token_type: 'Bearer', expires_in: 65, refresh_token: refresh, refresh_expires_in: 3600 } }) };
    const provider = await startProvider(short);
    try {
      const warnings: string[] = [];
      const store = new TokenStore({ path: path.join(dir, 'short.json'), onWarning: (message) => warnings.push(message) });
      const options = { issuer: provider.issuer, clientId: 'cli', store, interactive: false, minValidity: 120 };
      const now = Math.floor(Date.now() / 1000);
      const { providerKey } = await import('../src/protocol/store-key.ts');
      provider.liveRefreshTokens.add('rt-start');
      await store.put(providerKey(provider.issuer, 'cli', ['openid', 'offline_access']), { ...token('start', 30), refresh_token: 'rt-start', refresh_expires: now + 3600 });
      const first = await authenticate(options);
      for (let i = 0; i < 20; i += 1) assert.equal((await authenticate(options)).access_token, first.access_token);
      assert.equal(provider.hits[short.paths.token], 1, 'one refresh for 21 calls');
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0] ?? '', /issues tokens valid for 6\d s, shorter than the 120 s asked for .* refreshed when half its lifetime is left, not on every call/);
      const cli = await runCli(['--issuer', provider.issuer, '--client-id', 'cli', '--store', store.path, '--min-validity', '120'], { XDG_CACHE_HOME: path.join(dir, 'cache') });
      assert.equal(cli.code, 0, cli.stderr);
    } finally {
      DeviceFlow.resetInstances();
      clearMetadataMemory();
      await provider.close();
    }
  });
});
