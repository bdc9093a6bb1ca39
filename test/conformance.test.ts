// Provider conformance: the same cases against scripted loopback providers
// that reproduce the big providers' documented wire formats (test/providers/,
// each file names its documentation pages), through authenticate() (issuer
// mode) and Client, and against py-oidc-auth in broker mode (host mode).
// py-oidc-auth in passthrough mode is the app-server fixture over a real
// oidc-provider that the e2e suites use.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { authenticate, AuthError, Client, DeviceFlow, TokenStore, type Token } from '../src/index.ts';
import { clearMetadataMemory } from '../src/servers/client/metadata-cache.ts';
import { auth0 } from './providers/auth0.ts';
import { startProvider, type Profile, type RunningProvider } from './providers/engine.ts';
import { entra, entraV1 } from './providers/entra.ts';
import { github } from './providers/github.ts';
import { gitlab } from './providers/gitlab.ts';
import { google } from './providers/google.ts';
import { keycloak } from './providers/keycloak.ts';
import { okta } from './providers/okta.ts';
import { startBroker, type BrokerServer } from './providers/py-oidc-auth-broker.ts';
import { CookieJar } from './fixtures/person.ts';
import { freePort } from './helpers/ports.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-conformance-'));
process.env.XDG_CACHE_HOME = path.join(dir, 'cache');
const results = new Map<string, Map<string, string>>();
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  const cases = [...new Set([...results.values()].flatMap((row) => [...row.keys()]))];
  process.stdout.write(`# provider | ${cases.join(' | ')}\n`);
  for (const [name, row] of results) process.stdout.write(`# ${name} | ${cases.map((c) => row.get(c) ?? '-').join(' | ')}\n`);
});
const record = (provider: string, testCase: string, outcome: string) => {
  if (!results.has(provider)) results.set(provider, new Map());
  results.get(provider)?.set(testCase, outcome);
};

let stores = 0;
const newStore = () => new TokenStore({ path: path.join(dir, `store-${(stores += 1)}.json`), onWarning: () => {} });
const quietLogin = { interactive: true, openBrowser: false as const, onDeviceCode: () => {}, onLoginUrl: () => {} };

/** A browser that follows every redirect (the provider approves at once), down to the loopback callback page. */
async function browse(start: string): Promise<number> {
  let url = start;
  // Like a browser, it keeps the cookies it is given (the loopback login address sets one that its callback must carry).
  const cookies = new CookieJar();
  for (let hop = 0; hop < 6; hop += 1) {
    const cookie = cookies.header;
    const response = await fetch(url.replace('//localhost:', '//127.0.0.1:'), { redirect: 'manual', headers: cookie ? { cookie } : {} });
    cookies.take(response);
    const next = response.headers.get('location');
    if (!next) return response.status;
    url = new URL(next, url).toString();
  }
  return 0;
}

async function withProvider<T>(profile: Profile, fn: (provider: RunningProvider) => Promise<T>): Promise<T> {
  const provider = await startProvider(profile);
  try {
    return await fn(provider);
  } finally {
    DeviceFlow.resetInstances();
    clearMetadataMemory();
    await provider.close();
  }
}

async function withBroker(fn: (broker: BrokerServer) => Promise<void>): Promise<void> {
  const broker = await startBroker();
  try {
    await fn(broker);
  } finally {
    DeviceFlow.resetInstances();
    await broker.close();
  }
}

/** Expire the stored token so that the next call refreshes it. */
async function expireStored(store: TokenStore): Promise<{ key: string; token: Token }> {
  const entry = store.entries()[0];
  assert.ok(entry, 'a stored login');
  const token = { ...entry.token, expires: Math.floor(Date.now() / 1000) - 10 };
  await store.put(entry.host, token);
  return { key: entry.host, token };
}

const isError = (codes: string[]) => (error: unknown) => error instanceof AuthError && codes.includes(error.code);

describe('standard providers through authenticate() and Client', () => {
  for (const profile of [keycloak, entra, google, auth0, okta, gitlab]) {
    it(`${profile.name}: device login, refresh${profile.rotates ? ' with rotation' : ''}, dead refresh token, denial, expiry, server error, code login`, { timeout: 60_000 }, async () => {
      await withProvider(profile, async (provider) => {
        const store = newStore();
        const server = { issuer: provider.issuer, clientId: 'cli', store };
        const first = await authenticate({ ...server, ...quietLogin, flow: 'device' });
        assert.ok(first.access_token && store.entries().length === 1);
        assert.equal(provider.hits[profile.paths.token], profile.pending ? 2 : 1, 'polled past the pending answer');
        record(profile.name, 'device login', 'ok');

        await expireStored(store);
        const refreshed = await authenticate(server);
        assert.notEqual(refreshed.access_token, first.access_token);
        if (profile.rotates) {
          assert.notEqual(refreshed.refresh_token, first.refresh_token, 'the rotated refresh token is kept');
          assert.equal(provider.liveRefreshTokens.has(first.refresh_token), false);
        } else {
          assert.equal(refreshed.refresh_token, first.refresh_token, 'the old refresh token stays in use');
        }
        record(profile.name, 'refresh', profile.rotates ? 'ok (rotates)' : 'ok (keeps RT)');

        provider.liveRefreshTokens.clear();
        await expireStored(store);
        await assert.rejects(authenticate({ ...server, interactive: false }), (error: unknown) =>
          error instanceof AuthError && error.code === 'login_required' && /Refreshing the stored token failed first \((invalid_grant|unauthorized)/.test(error.message));
        const client = await Client.discover(provider.issuer, 'cli', { skipIdTokenValidation: true });
        let removed = 0;
        await assert.rejects(client.obtainTokenByRefreshToken('rt-dead', { onRemovingRt: () => void (removed += 1) }));
        assert.equal(removed, 1, 'Client drops the dead refresh token');
        record(profile.name, 'dead refresh token', 'login_required; onRemovingRt');

        for (const [mode, codes, label] of [['deny', ['access_denied', 'authorization_declined'], 'denial'], ['expire', ['expired_token'], 'expiry']] as const) {
          provider.mode = mode;
          const polls = provider.hits[profile.paths.token] ?? 0;
          await assert.rejects(authenticate({ ...server, ...quietLogin, flow: 'device', force: true }), isError([...codes]));
          assert.equal(provider.hits[profile.paths.token], polls + 1, `${label}: no further poll`);
          record(profile.name, label, 'ok');
        }
        provider.mode = 'fail';
        await assert.rejects(authenticate({ ...server, ...quietLogin, flow: 'device', force: true }), (error: unknown) =>
          error instanceof AuthError && error.status !== undefined && error.status >= 500 && error.detail !== undefined);
        record(profile.name, 'server error', 'typed, with status');

        provider.mode = 'approve';
        // Both registered ports: another test's connection may hold one of them for a moment (they lie in the kernel's ephemeral range).
        const ports = profile.exactRedirects ? [53130, 53131] : undefined;
        const viaBrowser = await authenticate({ ...server, ...quietLogin, flow: 'code', force: true, timeout: 10, redirectPorts: ports, openBrowser: (url) => void browse(url) });
        assert.ok(viaBrowser.access_token);
        record(profile.name, 'code login', profile.exactRedirects ? 'ok (registered port)' : 'ok (any port)');
      });
    });
  }

  it('a provider that matches redirect URIs exactly (GitLab): an unregistered port times out naming the redirect URI to register', { timeout: 20_000 }, async () => {
    await withProvider(gitlab, async (provider) => {
      const shown: string[] = [];
      // A port free a moment ago, never one of the registered two. (A fixed port failed CI once: another test's connection held it,
      // and the login rightly fell back to a port the system chose.)
      const unregistered = await freePort();
      await assert.rejects(authenticate({
        issuer: provider.issuer, clientId: 'cli', store: newStore(), ...quietLogin, flow: 'code', timeout: 2, redirectPorts: [unregistered],
        onLoginUrl: (_url, redirectUri) => void shown.push(redirectUri), openBrowser: (url) => void browse(url),
      }), (error: unknown) => error instanceof AuthError && error.code === 'timeout' && error.message.includes(`http://127.0.0.1:${unregistered}/callback`) && /register exactly that URI/.test(error.message));
      assert.deepEqual(shown, [`http://127.0.0.1:${unregistered}/callback`], 'the redirect URI is shown when the browser opens');
      record('GitLab', 'unregistered redirect URI', 'timeout names it');
    });
  });
});

describe('providers without discovery, through Client', () => {
  for (const profile of [github, entraV1]) {
    it(`${profile.name}: device login, refresh, dead refresh token, denial, expiry, server error`, { timeout: 60_000 }, async () => {
      await withProvider(profile, async (provider) => {
        const client = new Client({
          token_endpoint: provider.url(profile.paths.token),
          ...(profile.paths.device ? { device_authorization_endpoint: provider.url(profile.paths.device) } : {}),
        }, 'cli', { skipIdTokenValidation: true });
        const flow = await client.initiateDeviceFlow({ scope: ['openid'] });
        assert.match(flow.verification_uri, /^https:\/\//);
        const first = await client.obtainTokenByDeviceFlow(flow);
        assert.ok('access_token' in first && typeof first.refresh_token === 'string');
        record(profile.name, 'device login', 'ok');
        const refreshed = await client.obtainTokenByRefreshToken(first.refresh_token as string);
        assert.ok(refreshed.access_token !== first.access_token);
        if (profile.rotates) assert.notEqual(refreshed.refresh_token, first.refresh_token);
        record(profile.name, 'refresh', profile.rotates ? 'ok (rotates)' : 'ok (keeps RT)');
        let removed = 0;
        await assert.rejects(client.obtainTokenByRefreshToken(first.refresh_token as string, { onRemovingRt: () => void (removed += 1) }), (error: unknown) => error instanceof AuthError);
        if (profile.rotates) assert.equal(removed, 1, 'the used refresh token is dead: dropped');
        record(profile.name, 'dead refresh token', 'onRemovingRt');
        for (const [mode, codes, label] of [['deny', ['access_denied', 'authorization_declined'], 'denial'], ['expire', ['expired_token'], 'expiry']] as const) {
          provider.mode = mode;
          const next = await client.initiateDeviceFlow({ scope: ['openid'] });
          await assert.rejects(client.obtainTokenByDeviceFlow(next), isError([...codes]));
          record(profile.name, label, 'ok');
        }
        provider.mode = 'fail';
        await assert.rejects(client.initiateDeviceFlow(), (error: unknown) => error instanceof AuthError && (error.status ?? 0) >= 500);
        record(profile.name, 'server error', 'typed, with status');
        record(profile.name, 'code login', 'not run (no discovery: Client.obtainTokenByBrowser with its endpoints)');
      });
    });
  }
});

describe('py-oidc-auth in broker mode (host)', () => {
  it('a device login gives the server\'s own JWT (access = refresh, 30 days vs minutes); it is served from the cache; a refresh works', async () => {
    await withBroker(async (broker) => {
      const store = newStore();
      const token = await authenticate({ host: broker.host, store, ...quietLogin });
      assert.equal(token.access_token, token.refresh_token);
      assert.ok(token.expires - Date.now() / 1000 > 29 * 86400 && token.refresh_expires - Date.now() / 1000 < 400);
      const requests = JSON.stringify(broker.hits);
      assert.deepEqual(await authenticate({ host: broker.host, store }), token);
      assert.equal(JSON.stringify(broker.hits), requests, 'cached: no request');
      const next = await new DeviceFlow(broker.host, { store, interactive: true }).refresh(token.refresh_token);
      assert.notEqual(next.access_token, token.access_token);
      assert.equal(next.access_token, next.refresh_token);
      record('py-oidc-auth (broker)', 'device login', 'ok (access = refresh)');
      record('py-oidc-auth (broker)', 'refresh', 'ok (rotates)');
    });
  });

  it('the server\'s session ended (401 with a plain detail): login_required says so without a person; with one, a new login', async () => {
    await withBroker(async (broker) => {
      const store = newStore();
      await authenticate({ host: broker.host, store, ...quietLogin });
      await expireStored(store);
      broker.mode = 'session-ended';
      await assert.rejects(authenticate({ host: broker.host, store, interactive: false }), (error: unknown) =>
        error instanceof AuthError && error.code === 'login_required' && /unauthorized: .*Session expired or not found.*session for this login ended/.test(error.message) && !/denied/.test(error.message));
      broker.mode = 'approve';
      const devices = broker.hits['/auth/v2/device'] ?? 0;
      await expireStored(store);
      broker.sessions.clear();
      const again = await authenticate({ host: broker.host, store, ...quietLogin });
      assert.ok(again.access_token);
      assert.equal(broker.hits['/auth/v2/device'], devices + 1, 'a new device login');
      record('py-oidc-auth (broker)', 'dead refresh token', 'new login; else login_required');
    });
  });

  it('a failure on the server\'s side while polling (401 "Invalid token") is not reported as the person\'s denial; an upstream access_denied is', async () => {
    await withBroker(async (broker) => {
      broker.mode = 'invalid-token';
      await assert.rejects(authenticate({ host: broker.host, store: newStore(), ...quietLogin }), (error: unknown) =>
        error instanceof AuthError && error.code === 'unauthorized' && error.status === 401 && !/denied/i.test(error.message) && /this is no denial/.test(error.message)
        && JSON.stringify(error.detail).includes('Invalid token'));
      DeviceFlow.resetInstances();
      broker.mode = 'deny';
      await assert.rejects(authenticate({ host: broker.host, store: newStore(), ...quietLogin }), isError(['access_denied']));
      record('py-oidc-auth (broker)', 'denial', 'ok; server failures are not denials');
      DeviceFlow.resetInstances();
      broker.mode = 'fail';
      await assert.rejects(authenticate({ host: broker.host, store: newStore(), ...quietLogin }), (error: unknown) => error instanceof AuthError && error.code === 'server_error' && error.status === 502);
      record('py-oidc-auth (broker)', 'server error', 'typed, with status');
    });
  });
});

describe('client authentication and later calls', () => {
  it('client_secret_basic: a provider that compares id and secret undecoded gets the raw form on a second try; the error says which were tried', async () => {
    const secret = 'se+cr/et=';
    const expected = `cli:${secret}`;
    // As some providers do: the Basic credentials are compared as they arrive, not form-decoded.
    const strict: Profile = { ...keycloak, name: 'raw-basic', checkClient: (basic) => (basic === expected ? undefined : { status: 401, body: { error: 'invalid_client', error_description: 'Invalid client credentials' } }) };
    await withProvider(strict, async (provider) => {
      const client = await Client.discover(provider.issuer, 'cli', { clientSecret: secret, skipIdTokenValidation: true });
      provider.liveRefreshTokens.add('rt-live-1');
      provider.liveRefreshTokens.add('rt-live-2');
      const token = await client.obtainTokenByRefreshToken('rt-live-1');
      assert.ok(token.access_token);
      assert.deepEqual(provider.basic, ['cli:se%2Bcr%2Fet%3D', expected], 'form-encoded first (RFC 6749 2.3.1), then as it is');
      const wrong = await Client.discover(provider.issuer, 'cli', { clientSecret: 'other+secret', skipIdTokenValidation: true });
      await assert.rejects(wrong.obtainTokenByRefreshToken('rt-live-2'), (error: unknown) =>
        error instanceof AuthError && error.code === 'invalid_client' && /form-encoded.*and then as they are/.test(error.message) && !error.message.includes('other+secret'));
    });
  });

  it('a dead refresh token answered with 400 invalid_request is dropped too (onRemovingRt)', async () => {
    await withProvider({ ...okta, name: 'invalid-request', deadRefresh: { status: 400, body: { error: 'invalid_request', error_description: 'The refresh_token is invalid.' } } }, async (provider) => {
      const client = await Client.discover(provider.issuer, 'cli', { skipIdTokenValidation: true });
      let removed = 0;
      await assert.rejects(client.obtainTokenByRefreshToken('rt-unknown', { onRemovingRt: () => void (removed += 1) }), (error: unknown) =>
        error instanceof AuthError && error.code === 'invalid_request' && !/route/.test(error.message));
      assert.equal(removed, 1);
    });
  });

  it('Client.obtainTokenByBrowser with offline_access asks for prompt=consent (OpenID Connect Core 11)', async () => {
    await withProvider(keycloak, async (provider) => {
      const client = await Client.discover(provider.issuer, 'cli', { skipIdTokenValidation: true });
      let opened = '';
      const token = await client.obtainTokenByBrowser({ scope: ['openid', 'offline_access'], timeout: 10, openBrowser: (url) => {
        opened = url;
        void browse(url);
      } });
      assert.ok(token.access_token);
      assert.equal(new URL(opened).searchParams.get('prompt'), 'consent');
    });
  });

  it('a later call with another fetch uses it; during a run with other settings it is refused, never silently ignored', async () => {
    await withProvider(keycloak, async (provider) => {
      const store = newStore();
      const counted = (counter: { n: number }): typeof globalThis.fetch => (input, init) => {
        counter.n += 1;
        return globalThis.fetch(input, init);
      };
      const one = { n: 0 };
      const two = { n: 0 };
      await authenticate({ issuer: provider.issuer, clientId: 'cli', store, ...quietLogin, flow: 'device', fetch: counted(one) });
      await expireStored(store);
      await authenticate({ issuer: provider.issuer, clientId: 'cli', store, fetch: counted(two) });
      assert.ok(one.n > 0 && two.n > 0, `the second call's fetch was used (${one.n}, ${two.n})`);
      const running = authenticate({ issuer: provider.issuer, clientId: 'cli', store, ...quietLogin, flow: 'device', force: true, fetch: counted(one) });
      await assert.rejects(authenticate({ issuer: provider.issuer, clientId: 'cli', store, fetch: counted(two) }), isError(['settings_conflict']));
      await running;
    });
  });
});
