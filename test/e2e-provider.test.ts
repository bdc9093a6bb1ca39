// authenticate() against a standard OpenID provider (issuer + client id):
// the same statecharts, the provider's own endpoints.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { authenticate, DeviceFlow, TokenStore, type AuthError } from '../src/index.ts';
import { clearMetadataMemory } from '../src/servers/client/metadata-cache.ts';
import { NATIVE_CLIENT, startIdp, type Idp } from './fixtures/idp.ts';
import { Person } from './fixtures/person.ts';
import { privateMetadataCache } from './helpers/metadata-cache.ts';

privateMetadataCache();

describe('authenticate({ issuer, clientId })', () => {
  let idp: Idp;
  let dir: string;
  let store: TokenStore;
  let requests: string[];
  const fetch: typeof globalThis.fetch = (input, init) => {
    requests.push(new URL(input instanceof Request ? input.url : String(input)).pathname);
    return globalThis.fetch(input, init);
  };
  beforeEach(async () => {
    idp = await startIdp();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-provider-mode-'));
    store = new TokenStore({ path: path.join(dir, 'token-store.json') });
    requests = [];
  });
  afterEach(async () => {
    DeviceFlow.resetInstances();
    clearMetadataMemory();
    await idp.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // The person's last page finishes before the next login starts: oidc-provider (9.x) can fail a request with 500 ("persist can only be called on previously persisted Sessions") when a device login's pages overlap the next one's request.
  let visits: Promise<unknown>[] = [];
  const approve = (login: string) => ({ onDeviceCode: (code: { uri: string }) => void visits.push(new Person({ login }).visit(code.uri).catch((error: unknown) => error)) });
  const visitsDone = async () => {
    await Promise.all(visits);
    visits = [];
  };

  it('device login, stored under issuer + client id + scopes; a second run (new process) makes no request at all', async () => {
    const options = { issuer: idp.issuer, clientId: NATIVE_CLIENT, store, fetch, interactive: true, openBrowser: false as const };
    const token = await authenticate({ ...options, ...approve('frank') });
    assert.ok(token.id_token, 'the ID token is kept');
    assert.ok(token.refresh_token);
    assert.ok(requests.includes('/.well-known/openid-configuration') && requests.includes('/device/auth'), requests.join(' '));
    const key = `oidc:${idp.issuer}#client_id=${NATIVE_CLIENT}&scope=offline_access%20openid`;
    assert.deepEqual(store.hosts(), [key]);
    const raw = JSON.parse(fs.readFileSync(store.path, 'utf8')) as Record<string, { token: Record<string, unknown>; id_token?: string }>;
    assert.deepEqual(Object.keys(raw[key]?.token ?? {}).sort(), ['access_token', 'expires', 'headers', 'refresh_expires', 'refresh_token', 'scope', 'token_type'], 'the token keeps exactly the Python client\'s fields');
    assert.equal(raw[key]?.id_token, token.id_token, 'the ID token is kept beside it');
    assert.equal(store.get(key)?.id_token, token.id_token);
    DeviceFlow.resetInstances();
    clearMetadataMemory();
    requests = [];
    const again = await authenticate(options);
    assert.equal(again.access_token, token.access_token);
    assert.deepEqual(requests, [], 'a valid cached token needs neither discovery nor keys');
  });

  it('another scope set is another entry; an expired access token is refreshed at the provider (ID token re-validated)', async () => {
    const base = { issuer: idp.issuer, clientId: NATIVE_CLIENT, store, fetch, interactive: true, openBrowser: false as const };
    const first = await authenticate({ ...base, ...approve('gina') });
    await visitsDone();
    const profile = await authenticate({ ...base, scope: 'openid offline_access profile', ...approve('gina') });
    await visitsDone();
    assert.notEqual(profile.access_token, first.access_token);
    assert.equal(store.hosts().length, 2);
    const [key] = store.hosts().filter((host) => !host.includes('profile'));
    await store.put(key ?? '', { ...first, expires: Math.floor(Date.now() / 1000) - 10 });
    DeviceFlow.resetInstances();
    const refreshed = await authenticate(base);
    assert.equal(idp.grants.refresh_token, 1);
    assert.notEqual(refreshed.access_token, first.access_token);
    assert.notEqual(refreshed.refresh_token, first.refresh_token, 'rotated');
    assert.equal(store.get(key ?? '')?.access_token, refreshed.access_token);
  });

  it('the code flow on 127.0.0.1 with PKCE when asked for; no terminal gives login_required naming the --issuer command', async () => {
    let landed: Promise<{ text: string }> | undefined;
    const token = await authenticate({
      issuer: idp.issuer, clientId: NATIVE_CLIENT, store, interactive: true, flow: 'code',
      onLoginUrl: (url, redirectUri) => {
        assert.match(redirectUri, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
        assert.equal(new URL(url).searchParams.get('code_challenge_method'), 'S256');
      },
      openBrowser: (url) => void (landed = new Person({ login: 'hana' }).visit(url)),
    });
    assert.ok(token.access_token);
    assert.match((await landed)?.text ?? '', /Login successful/);
    await assert.rejects(
      authenticate({ issuer: idp.issuer, clientId: 'someone-else', store, interactive: false }),
      (error: AuthError) => error.code === 'login_required' && error.message.includes(`oidc-auth --issuer ${idp.issuer} --client-id someone-else`),
    );
  });

  it('an issuer that differs from the one the provider names (a trailing slash) fails with issuer_mismatch', async () => {
    await assert.rejects(
      authenticate({ issuer: `${idp.issuer}/`, clientId: NATIVE_CLIENT, store, interactive: true, flow: 'device', openBrowser: false }),
      (error: AuthError) => error.code === 'issuer_mismatch',
    );
  });
});
