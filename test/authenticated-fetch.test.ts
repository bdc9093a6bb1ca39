// Long-running programs: an API that validates tokens (and can revoke one)
// called through authenticatedFetch and ky with authHooks, across several
// token lifetimes, against a scripted provider with short-lived tokens.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import ky from 'ky';
import { authenticatedFetch, authHooks, DeviceFlow, TokenStore } from '../src/index.ts';
import { clearMetadataMemory } from '../src/servers/client/metadata-cache.ts';
import { providerKey } from '../src/protocol/store-key.ts';
import { keycloak } from './providers/keycloak.ts';
import { startProvider, type Profile, type RunningProvider } from './providers/engine.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-api-'));
process.env.XDG_CACHE_HOME = path.join(dir, 'cache');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Api {
  url: string;
  /** Access tokens the provider issued and the API accepts. */
  valid: Set<string>;
  requests: Array<{ path: string; token: string | undefined; body: string }>;
  close(): Promise<void>;
}

/** An API on 127.0.0.1 that accepts only tokens in `valid`; `/elsewhere` redirects to `other`. */
async function startApi(other?: string): Promise<Api> {
  const api: Api = { url: '', valid: new Set(), requests: [], close: async () => {} };
  const server = http.createServer((req, res) => {
    void (async () => {
      let body = '';
      for await (const chunk of req) body += String(chunk);
      const token = req.headers.authorization?.replace(/^Bearer /, '');
      api.requests.push({ path: req.url ?? '', token, body });
      if (req.url === '/elsewhere' && other) return void res.writeHead(302, { location: `${other}/landing` }).end();
      if (!token || !api.valid.has(token)) return void res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, echo: body }));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api.close = () => new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  return api;
}

/** A provider whose access tokens live 62 s (valid for 2 s past the 60 s margin), each registered at the API. */
async function setUp(): Promise<{ provider: RunningProvider; api: Api; store: TokenStore; options: Parameters<typeof authenticatedFetch>[0] }> {
  const api = await startApi();
  const profile: Profile = {
    ...keycloak,
    name: 'short-lived',
    tokens: (issued) => {
      api.valid.add(issued.access);
      return { status: 200, body: { access_token: issued.access, token_type: 'Bearer', expires_in: 62, refresh_token: issued.refresh, refresh_expires_in: 3600 } };
    },
  };
  const provider = await startProvider(profile);
  const store = new TokenStore({ path: path.join(dir, `store-${Math.random()}.json`), onWarning: () => {} });
  const now = Math.floor(Date.now() / 1000);
  provider.liveRefreshTokens.add('rt-start');
  await store.put(providerKey(provider.issuer, 'cli', ['openid', 'offline_access']), { access_token: 'at-expired', token_type: 'Bearer', expires: now - 1, refresh_token: 'rt-start', refresh_expires: now + 3600, scope: '', headers: { Authorization: 'Bearer at-expired' } });
  return { provider, api, store, options: { issuer: provider.issuer, clientId: 'cli', store, interactive: false, origins: [api.url] } };
}

async function tearDown(provider: RunningProvider, api: Api): Promise<void> {
  DeviceFlow.resetInstances();
  clearMetadataMemory();
  await provider.close();
  await api.close();
}

describe('authenticatedFetch', () => {
  it('1,000 API calls across several token lifetimes: every call succeeds, one refresh per lifetime, no 401', { timeout: 60_000 }, async () => {
    const { provider, api, options } = await setUp();
    try {
      const call = authenticatedFetch(options);
      const started = Date.now();
      let ok = 0;
      for (let i = 0; i < 1000; i += 1) {
        const response = await call(`${api.url}/data?i=${i}`);
        if (response.status === 200) ok += 1;
        await response.arrayBuffer();
        if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 500)); // spread over several lifetimes
      }
      const seconds = (Date.now() - started) / 1000;
      const refreshes = provider.hits[keycloak.paths.token] ?? 0;
      const lifetimes = Math.ceil(seconds / 2);
      assert.equal(ok, 1000);
      assert.equal(api.requests.length, 1000, 'no request was sent twice');
      assert.ok(refreshes >= 2 && refreshes <= lifetimes + 1, `${refreshes} refreshes in ${seconds.toFixed(1)} s (${lifetimes} lifetimes of 2 s)`);
      process.stdout.write(`# authenticatedFetch: 1,000 API calls in ${seconds.toFixed(1)} s -> ${api.requests.length} API requests, ${refreshes} token requests\n`);
    } finally {
      await tearDown(provider, api);
    }
  });

  it('a token the API revoked: 401, one new token, the request retried once with its body', async () => {
    const { provider, api, options } = await setUp();
    try {
      const call = authenticatedFetch(options);
      assert.equal((await call(`${api.url}/warm`)).status, 200);
      api.valid.clear(); // Revoked server-side.
      const before = provider.hits[keycloak.paths.token] ?? 0;
      const response = await call(`${api.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"item":42}' });
      assert.equal(response.status, 200);
      assert.equal((await response.json() as { echo: string }).echo, '{"item":42}');
      const orders = api.requests.filter((request) => request.path === '/orders');
      assert.equal(orders.length, 2, 'sent, refused, retried once');
      assert.notEqual(orders[0]?.token, orders[1]?.token);
      assert.deepEqual(orders.map((request) => request.body), ['{"item":42}', '{"item":42}']);
      assert.equal(provider.hits[keycloak.paths.token], before + 1, 'one refresh');
      api.valid.clear();
      const stream = new ReadableStream({ start: (controller) => (controller.enqueue(new TextEncoder().encode('x')), controller.close()) });
      const streamed = await call(`${api.url}/upload`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
      assert.equal(streamed.status, 401, 'a stream cannot be sent again: the 401 is returned');
    } finally {
      await tearDown(provider, api);
    }
  });

  it('the token never goes to another origin: not on a request there, not through a redirect there', async () => {
    const { provider, api: other, options } = await setUp();
    const api = await startApi(other.url);
    try {
      const call = authenticatedFetch({ ...options, origins: [api.url] });
      await (await call(`${other.url}/direct`)).arrayBuffer();
      await (await call(`${api.url}/elsewhere`)).arrayBuffer();
      const there = other.requests.map((request) => [request.path, request.token]);
      assert.deepEqual(there, [['/direct', undefined], ['/landing', undefined]]);
      assert.ok(api.requests.some((request) => request.path === '/elsewhere' && request.token !== undefined), 'its own origin got the token');
      assert.throws(() => authenticatedFetch({ issuer: provider.issuer, clientId: 'cli' }), /origins is required with issuer/);
    } finally {
      await api.close();
      await tearDown(provider, other);
    }
  });
});

describe('authHooks for ky', () => {
  it('adds the token, and on a 401 gets a new one and retries once', async () => {
    const { provider, api, options } = await setUp();
    try {
      const client = ky.extend({ hooks: authHooks(options), retry: { limit: 1, methods: ['get', 'post'], statusCodes: [] } });
      assert.deepEqual(await client.get(`${api.url}/data`).json(), { ok: true, echo: '' });
      api.valid.clear();
      assert.deepEqual(await client.get(`${api.url}/again`).json(), { ok: true, echo: '' });
      const again = api.requests.filter((request) => request.path === '/again');
      assert.equal(again.length, 2);
      assert.notEqual(again[0]?.token, again[1]?.token);
      const elsewhere = await startApi();
      try {
        await ky.extend({ hooks: authHooks(options), throwHttpErrors: false }).get(`${elsewhere.url}/x`);
        assert.equal(elsewhere.requests[0]?.token, undefined, 'no token for another origin');
      } finally {
        await elsewhere.close();
      }
    } finally {
      await tearDown(provider, api);
    }
  });
});
