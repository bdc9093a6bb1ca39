// One provider login, every server that trusts it: a py-oidc-auth server in
// broker mode takes the provider's access token in an RFC 8693 exchange and
// answers its own token, with no login of its own.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { authenticate, authState, AuthError, TokenStore, type AuthStateView } from '../src/index.ts';
import { startBroker } from './fixtures/broker.ts';
import { NATIVE_CLIENT, startIdp } from './fixtures/idp.ts';
import { personApproves } from './fixtures/world.ts';
import { closedAfterEach } from './helpers/servers.ts';
import { privateMetadataCache } from './helpers/metadata-cache.ts';

privateMetadataCache();

const track = closedAfterEach();
const AUDIENCE = 'https://apps.example/broker';

function tempStore(): TokenStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-exchange-'));
  track({ close: async () => fs.rmSync(dir, { recursive: true, force: true }) });
  return new TokenStore({ path: path.join(dir, 'token-store.json') });
}

async function whoami(host: string, accessToken: string): Promise<unknown> {
  const response = await fetch(`${host}/api/whoami`, { headers: { authorization: `Bearer ${accessToken}` } });
  return response.json();
}

describe('one provider login for many servers (RFC 8693 exchange, py-oidc-auth broker mode)', () => {
  it('one device login at the provider, then tokens for two broker servers with no further person and no device code', async () => {
    const idp = track(await startIdp({ jwtAccessTokens: { audience: AUDIENCE } }));
    const first = track(await startBroker({ issuer: idp.issuer, audience: AUDIENCE }));
    const second = track(await startBroker({ issuer: idp.issuer, audience: AUDIENCE }));
    const store = tempStore();
    const person = personApproves({ login: 'carol' });
    const provider = { issuer: idp.issuer, clientId: NATIVE_CLIENT };
    await authenticate({ ...provider, store, interactive: true, openBrowser: false, onDeviceCode: person.onDeviceCode, flow: 'device' });
    assert.equal(person.shown.length, 1, 'one device login at the provider');
    const grantsBefore = { ...idp.grants };

    // No person from here on: interactive false makes any login attempt fail at once.
    const views: string[] = [];
    const watch = authState({ host: first.host, exchangeFrom: provider, store }).subscribe((view: AuthStateView) => views.push(view.state));
    const a = await authenticate({ host: first.host, exchangeFrom: provider, store, interactive: false });
    const b = await authenticate({ host: second.host, exchangeFrom: provider, store, interactive: false });
    watch();
    assert.deepEqual([first.exchanges.granted, second.exchanges.granted], [1, 1]);
    assert.deepEqual(await whoami(first.host, a.access_token), { user: 'carol' });
    assert.deepEqual(await whoami(second.host, b.access_token), { user: 'carol' });
    assert.equal(person.shown.length, 1, 'no further device code');
    assert.deepEqual(idp.grants, grantsBefore, 'no grant at the provider: its cached token was exchanged');
    assert.ok(views.includes('exchanging'), `the view shows the exchange: ${views.join(' ')}`);
    assert.equal(a.refresh_token, '', 'the exchanged token carries no refresh of its own');
    assert.equal(a.who?.name, 'carol');
    const form = first.forms[0] ?? {};
    assert.equal(form.grant_type, 'urn:ietf:params:oauth:grant-type:token-exchange');
    assert.equal(form.subject_token_type, 'urn:ietf:params:oauth:token-type:access_token');

    // Cached: no second exchange.
    assert.equal((await authenticate({ host: first.host, exchangeFrom: provider, store, interactive: false })).access_token, a.access_token);
    assert.equal(first.exchanges.asked, 1);

    // Near expiry: exchanged again, never refreshed with the server's JWT.
    await store.put(first.host, { ...a, expires: Math.floor(Date.now() / 1000) + 30 });
    const again = await authenticate({ host: first.host, exchangeFrom: provider, store, interactive: false });
    assert.notEqual(again.access_token, a.access_token);
    assert.equal(first.exchanges.granted, 2);
    assert.equal(first.forms.filter((f) => f['refresh-token'] !== undefined).length, 0, 'no refresh at the server');
  });

  it('the provider token expired: it is refreshed first, then exchanged', async () => {
    const idp = track(await startIdp({ jwtAccessTokens: { audience: AUDIENCE } }));
    const broker = track(await startBroker({ issuer: idp.issuer, audience: AUDIENCE }));
    const store = tempStore();
    const person = personApproves();
    const provider = { issuer: idp.issuer, clientId: NATIVE_CLIENT };
    const login = await authenticate({ ...provider, store, interactive: true, openBrowser: false, onDeviceCode: person.onDeviceCode, flow: 'device' });
    const key = `oidc:${idp.issuer}#client_id=${NATIVE_CLIENT}&scope=offline_access%20openid`;
    await store.put(key, { ...login, expires: Math.floor(Date.now() / 1000) - 10 });
    const token = await authenticate({ host: broker.host, exchangeFrom: provider, store, interactive: false });
    assert.equal(idp.grants.refresh_token, 1, 'the provider token was refreshed');
    assert.deepEqual(await whoami(broker.host, token.access_token), { user: 'alice' });
  });

  it('a server that refuses says which refusal and what to do, and starts no login', async () => {
    const idp = track(await startIdp({ jwtAccessTokens: { audience: AUDIENCE } }));
    const otherAudience = track(await startBroker({ issuer: idp.issuer, audience: 'https://someone-else.example' }));
    const passthrough = track(await startBroker({ issuer: idp.issuer, audience: AUDIENCE, brokerMode: false }));
    const store = tempStore();
    const person = personApproves();
    const provider = { issuer: idp.issuer, clientId: NATIVE_CLIENT };
    await authenticate({ ...provider, store, interactive: true, openBrowser: false, onDeviceCode: person.onDeviceCode, flow: 'device' });
    const refused = await authenticate({ host: otherAudience.host, exchangeFrom: provider, store, interactive: true, onDeviceCode: () => assert.fail('no login') }).catch((error: unknown) => error);
    assert.ok(refused instanceof AuthError);
    assert.equal(refused.code, 'exchange_refused');
    assert.equal(refused.status, 401);
    assert.match(refused.message, /does not accept access tokens of .*audience.*--audience/s);
    const notBroker = await authenticate({ host: passthrough.host, exchangeFrom: provider, store, interactive: true, onDeviceCode: () => assert.fail('no login') }).catch((error: unknown) => error);
    assert.ok(notBroker instanceof AuthError);
    assert.equal(notBroker.code, 'exchange_refused');
    assert.match(notBroker.message, /not in py-oidc-auth's broker mode/);
    assert.equal(person.shown.length, 1, 'no login was started by a refusal');
    assert.doesNotMatch(`${refused.message}${notBroker.message}`, /eyJ/, 'no token in the message');
  });

  it('no provider login and nobody there: login_required names the provider login to make', async () => {
    const idp = track(await startIdp({ jwtAccessTokens: { audience: AUDIENCE } }));
    const broker = track(await startBroker({ issuer: idp.issuer, audience: AUDIENCE }));
    const error = await authenticate({ host: broker.host, exchangeFrom: { issuer: idp.issuer, clientId: NATIVE_CLIENT }, store: tempStore(), interactive: false }).catch((e: unknown) => e);
    assert.ok(error instanceof AuthError);
    assert.equal(error.code, 'login_required');
    assert.match(error.message, new RegExp(`oidc-auth --issuer ${idp.issuer.replace(/[.:/]/g, '\\$&')} --client-id ${NATIVE_CLIENT}`));
    assert.equal(broker.exchanges.asked, 0);
  });
});
