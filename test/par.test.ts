// Pushed authorization requests (RFC 9126) against oidc-provider: a client
// that must push, a provider whose metadata requires it of everyone, and a
// request_uri that expires before the person opens the login.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { authenticate, AuthError, Client, TokenStore } from '../src/index.ts';
import { NATIVE_CLIENT, PAR_CLIENT, startIdp } from './fixtures/idp.ts';
import { Person } from './fixtures/person.ts';
import { privateMetadataCache } from './helpers/metadata-cache.ts';
import { closedAfterEach } from './helpers/servers.ts';

const track = closedAfterEach();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-par-'));
privateMetadataCache();
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const newStore = () => new TokenStore({ path: path.join(dir, `store-${(n += 1)}.json`) });

/** A person who logs in, and the first address of the provider's authorization endpoint the browser was sent to. */
function person(options: { delayMs?: number } = {}): { open(url: string): void; authorize: () => URL | undefined } {
  let first: URL | undefined;
  return {
    authorize: () => first,
    open(url) {
      void new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 0)).then(() => new Person({
        stopBefore: (next) => {
          if (!first && /\/auth\?/.test(next)) first = new URL(next);
          return false;
        },
      }).visit(url));
    },
  };
}

/** A fetch that counts requests per path. */
function counting(): { fetch: typeof globalThis.fetch; hits: Record<string, number> } {
  const hits: Record<string, number> = {};
  return { hits, fetch: (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    hits[url.pathname] = (hits[url.pathname] ?? 0) + 1;
    return globalThis.fetch(input, init);
  } };
}

describe('pushed authorization requests (oidc-provider)', () => {
  it('a client that must push: with par the browser\'s address carries only client_id and request_uri, and the login works; without, the provider refuses and the error says so', { timeout: 40_000 }, async () => {
    const idp = track(await startIdp());
    const browser = person();
    const wire = counting();
    const token = await authenticate({ issuer: idp.issuer, clientId: PAR_CLIENT, par: true, store: newStore(), interactive: true, flow: 'code', timeout: 20, openBrowser: browser.open, fetch: wire.fetch });
    assert.ok(token.access_token);
    const address = browser.authorize();
    assert.ok(address, 'the browser went to the provider');
    assert.deepEqual([...address.searchParams.keys()].sort(), ['client_id', 'request_uri']);
    assert.equal(address.searchParams.get('client_id'), PAR_CLIENT);
    assert.match(address.searchParams.get('request_uri') ?? '', /^urn:ietf:params:oauth:request_uri:/);
    assert.equal(wire.hits['/request'], 1, 'one push');

    const refused = person();
    await assert.rejects(authenticate({ issuer: idp.issuer, clientId: PAR_CLIENT, store: newStore(), interactive: true, flow: 'code', timeout: 20, openBrowser: refused.open }),
      (error: unknown) => error instanceof AuthError && error.code === 'invalid_request' && /[Pp]ushed/.test(error.message));
    assert.ok(refused.authorize()?.searchParams.has('code_challenge'), 'without par the parameters went through the browser');
  });

  it('a provider whose metadata requires PAR: pushed without being asked, through Client.obtainTokenByBrowser too', { timeout: 40_000 }, async () => {
    const idp = track(await startIdp({ parRequired: true }));
    const browser = person();
    const token = await authenticate({ issuer: idp.issuer, clientId: NATIVE_CLIENT, store: newStore(), interactive: true, flow: 'code', timeout: 20, openBrowser: browser.open });
    assert.ok(token.access_token);
    assert.deepEqual([...(browser.authorize()?.searchParams.keys() ?? [])].sort(), ['client_id', 'request_uri']);

    const client = await Client.discover(idp.issuer, NATIVE_CLIENT);
    assert.equal(client.pushesAuthorizationRequests, true);
    const other = person();
    const tokens = await client.obtainTokenByBrowser({ scope: ['openid'], timeout: 20, openBrowser: other.open });
    assert.ok(tokens.access_token);
    assert.deepEqual([...(other.authorize()?.searchParams.keys() ?? [])].sort(), ['client_id', 'request_uri']);
  });

  it('PAR with DPoP: the push carries a proof (after the provider\'s nonce challenge) and dpop_jkt, and the token is bound', { timeout: 40_000 }, async () => {
    const idp = track(await startIdp({ dpop: { requireNonce: true } }));
    const browser = person();
    const wire = counting();
    const token = await authenticate({ issuer: idp.issuer, clientId: PAR_CLIENT, par: true, dpop: true, store: newStore(), interactive: true, flow: 'code', timeout: 20, openBrowser: browser.open, fetch: wire.fetch });
    assert.equal(token.token_type.toLowerCase(), 'dpop');
    assert.equal(wire.hits['/request'], 2, 'the push, and once more with the nonce');
    assert.deepEqual([...(browser.authorize()?.searchParams.keys() ?? [])].sort(), ['client_id', 'request_uri']);
  });

  it('a request_uri past the lifetime the provider gave it is pushed again when the person opens the login address later', { timeout: 40_000 }, async () => {
    const idp = track(await startIdp());
    // oidc-provider gives every request_uri 60 s (MAX_TTL in pushed_authorization_requests.js); its answer is read as 6 s here,
    // so that a person who takes 7 s shows the renewal without a minute's wait.
    const pushedUris: string[] = [];
    const shortLived: typeof globalThis.fetch = async (input, init) => {
      const response = await globalThis.fetch(input, init);
      if (!new URL(input instanceof Request ? input.url : String(input)).pathname.endsWith('/request')) return response;
      const body = await response.json() as { request_uri: string; expires_in: number };
      pushedUris.push(body.request_uri);
      return new Response(JSON.stringify({ ...body, expires_in: 6 }), { status: response.status, headers: { 'content-type': 'application/json' } });
    };
    const browser = person({ delayMs: 7000 });
    const token = await authenticate({ issuer: idp.issuer, clientId: PAR_CLIENT, par: true, store: newStore(), interactive: true, flow: 'code', timeout: 30, openBrowser: browser.open, fetch: shortLived });
    assert.ok(token.access_token);
    assert.equal(pushedUris.length, 2, 'pushed at the start, and again when the browser came 7 s later');
    assert.equal(browser.authorize()?.searchParams.get('request_uri'), pushedUris[1], 'the browser got the new request_uri');

    const prompt = person();
    const wire = counting();
    await authenticate({ issuer: idp.issuer, clientId: PAR_CLIENT, par: true, store: newStore(), interactive: true, flow: 'code', timeout: 20, openBrowser: prompt.open, fetch: wire.fetch });
    assert.equal(wire.hits['/request'], 1, 'a person who comes at once uses the first push');
  });
});
