// Client: every grant against a real oidc-provider, and the negative cases
// from a scripted provider.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { AuthError, Client, GRANT_TYPE_JWT, parseAuthResponse, signJwtAssertion, type TokenResponse } from '../src/index.ts';
import { clearMetadataMemory } from '../src/servers/client/metadata-cache.ts';
import { BASIC_CLIENT, JWT_SECRET_CLIENT, NATIVE_CLIENT, PRIVATE_KEY_CLIENT, startIdp, type Idp } from './fixtures/idp.ts';
import { Person } from './fixtures/person.ts';
import { startScriptedProvider, type ScriptedProvider } from './fixtures/scripted-provider.ts';

const rejectsWith = async (promise: Promise<unknown>, code: string, message?: RegExp) => {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AuthError, `an AuthError, not ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
};

function countingFetch() {
  const urls: string[] = [];
  const fetch: typeof globalThis.fetch = (input, init) => {
    urls.push(input instanceof Request ? input.url : String(input));
    return globalThis.fetch(input, init);
  };
  return { urls, fetch };
}

describe('Client against a real oidc-provider', () => {
  let idp: Idp;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-client-test-'));
  before(async () => {
    idp = await startIdp();
  });
  after(async () => {
    await idp.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => clearMetadataMemory());

  it('discovery: exact issuer; cached in a folder so a second process makes no request', async () => {
    const cache = { folder: path.join(dir, 'meta') };
    const first = countingFetch();
    const client = await Client.discover(idp.issuer, NATIVE_CLIENT, { cache, fetch: first.fetch });
    assert.equal(client.configuration.token_endpoint, `${idp.issuer}/token`);
    assert.ok(client.configuration.device_authorization_endpoint);
    assert.deepEqual(first.urls, [`${idp.issuer}/.well-known/openid-configuration`]);
    clearMetadataMemory(); // as in a new process
    const second = countingFetch();
    await Client.discover(idp.issuer, NATIVE_CLIENT, { cache, fetch: second.fetch });
    assert.deepEqual(second.urls, []);
    await rejectsWith(Client.discover(`${idp.issuer}/`, NATIVE_CLIENT), 'issuer_mismatch', /trailing slash/);
  });

  it('device flow (public client): one poll before approval is pending; after it, tokens with validated ID-token claims', async () => {
    const client = await Client.discover(idp.issuer, NATIVE_CLIENT);
    const flow = await client.initiateDeviceFlow({ scope: 'openid offline_access' });
    assert.match(flow.user_code, /\S/);
    assert.ok(flow.expires_at > Date.now() / 1000);
    const pending = await client.obtainTokenByDeviceFlow(flow, { exitCondition: () => true });
    assert.deepEqual(pending, { error: 'authorization_pending', interval: flow.interval });
    await new Person({ login: 'dora' }).visit(flow.verification_uri_complete ?? '');
    const tokens = await client.obtainTokenByDeviceFlow(flow, { exitCondition: () => true }) as TokenResponse;
    assert.equal(tokens.token_type, 'Bearer');
    assert.equal(tokens.id_token_claims?.sub, 'dora');
    assert.equal(tokens.id_token_claims?.aud, NATIVE_CLIENT);
    assert.ok(tokens.refresh_token);
  });

  it('browser login on 127.0.0.1 (any free port), refresh with rotation and its callbacks, userinfo, revocation, end session', async () => {
    const obtained: string[] = [];
    const client = await Client.discover(idp.issuer, NATIVE_CLIENT, { onObtainingTokens: (event) => void obtained.push(`${event.grantType}:${event.response.refresh_token ? 'rt' : 'no-rt'}`) });
    let authUri = '';
    let visit: Promise<{ url: string; text: string }> | undefined;
    const tokens = await client.obtainTokenByBrowser({
      scope: ['openid', 'offline_access'],
      prompt: 'consent',
      openBrowser: (url) => {
        authUri = url;
        visit = new Person({ login: 'erin' }).visit(url);
      },
    });
    const landed = await visit;
    assert.match(landed?.url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/callback\?/);
    assert.match(landed?.text ?? '', /You are logged in/);
    const params = new URL(authUri).searchParams;
    assert.equal(params.get('code_challenge_method'), 'S256');
    assert.match(params.get('redirect_uri') ?? '', /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    assert.ok(params.get('state') && params.get('nonce'));
    assert.equal(tokens.id_token_claims?.sub, 'erin');

    const updates: Array<[unknown, string]> = [];
    const item = { refresh_token: tokens.refresh_token ?? '', label: 'mine' };
    const refreshed = await client.obtainTokenByRefreshToken(item, { onUpdatingRt: (old, rt) => void updates.push([old, rt]) });
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'rotated');
    assert.deepEqual(updates, [[item, refreshed.refresh_token]]);
    assert.equal(refreshed.id_token_claims?.sub, 'erin', 'the refreshed ID token is validated and keeps sub');
    assert.deepEqual(obtained, ['authorization_code:rt', 'refresh_token:no-rt'], 'onUpdatingRt owns the new RT, so the event carries none');

    assert.equal((await client.userinfo(refreshed.access_token)).sub, 'erin');
    await client.revokeToken(refreshed.refresh_token ?? '', 'refresh_token');
    const removed: unknown[] = [];
    const revokedItem = { refresh_token: refreshed.refresh_token };
    await rejectsWith(client.obtainTokenByRefreshToken(revokedItem, { onRemovingRt: (old) => void removed.push(old) }), 'invalid_grant');
    assert.deepEqual(removed, [revokedItem], 'a revoked refresh token is handed to onRemovingRt');
    await rejectsWith(client.obtainTokenByRefreshToken(item), 'invalid_grant', /refresh token/);
    const logout = new URL(client.endSessionUrl({ idTokenHint: refreshed.id_token, postLogoutRedirectUri: 'http://127.0.0.1/bye' }));
    assert.equal(`${logout.origin}${logout.pathname}`, client.configuration.end_session_endpoint);
    assert.equal(logout.searchParams.get('client_id'), NATIVE_CLIENT);
  });

  it('browser login with openBrowser: false prints the one-time loopback login address, never the provider URL; only the browser that opened it can deliver the callback', async () => {
    const client = await Client.discover(idp.issuer, NATIVE_CLIENT);
    const printed: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    let browser: Promise<{ url: string; status: number; text: string }> | undefined;
    let other: Promise<number> | undefined;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      const text = String(chunk);
      printed.push(text);
      const url = /(http:\/\/127\.0\.0\.1:\d+\/login\/[A-Za-z0-9_-]{43})\n/.exec(text)?.[1];
      if (url && !browser) {
        let held = false;
        const person = new Person({ login: 'fay', stopBefore: (next) => !held && next.includes('/callback?') && (held = true) });
        browser = person.visit(url).then(async (atCallback) => {
          other = fetch(atCallback.url).then((response) => response.status);
          await other;
          return person.visit(atCallback.url);
        });
      }
      return true;
    }) as typeof process.stderr.write;
    let tokens: TokenResponse;
    try {
      tokens = await client.obtainTokenByBrowser({ scope: ['openid'], timeout: 10, openBrowser: false });
    } finally {
      process.stderr.write = write;
    }
    assert.equal(await other, 403, 'the same callback from another client is refused');
    assert.equal((await browser)?.status, 200);
    assert.equal(tokens.id_token_claims?.sub, 'fay');
    assert.doesNotMatch(printed.join(''), /state=|code_challenge/, 'the provider URL is not printed');
    assert.match(printed.join(''), /A login callback from another client than the browser that opened the login address was refused/);
  });

  it('client credentials with client_secret_basic (form-encoded id and secret), client_secret_jwt and private_key_jwt', async () => {
    const basic = await Client.discover(idp.issuer, BASIC_CLIENT.id, { clientSecret: BASIC_CLIENT.secret });
    assert.equal((await basic.obtainTokenForClient()).token_type, 'Bearer');
    const wrong = await Client.discover(idp.issuer, BASIC_CLIENT.id, { clientSecret: 'not-it' });
    await rejectsWith(wrong.obtainTokenForClient(), 'invalid_client');
    const hs = await Client.discover(idp.issuer, JWT_SECRET_CLIENT.id, { clientSecret: JWT_SECRET_CLIENT.secret, clientAuthMethod: 'client_secret_jwt' });
    assert.ok((await hs.obtainTokenForClient()).access_token);
    const pk = await Client.discover(idp.issuer, PRIVATE_KEY_CLIENT, { privateKey: { key: idp.clientPrivateKey, alg: 'RS256' } });
    assert.ok((await pk.obtainTokenForClient()).access_token);
    assert.ok(idp.grants.client_credentials && idp.grants.client_credentials >= 3);
  });

  it('a grant the provider does not offer is an AuthError with its RFC 6749 code', async () => {
    const client = await Client.discover(idp.issuer, NATIVE_CLIENT);
    await rejectsWith(client.obtainTokenByUsernamePassword('alice', 'pw'), 'unsupported_grant_type');
    await rejectsWith(client.obtainTokenForClient(), 'invalid_request', /not allowed for this client/);
  });
});

describe('Client against a scripted provider', () => {
  let op: ScriptedProvider;
  afterEach(async () => {
    clearMetadataMemory();
    await op?.close();
  });
  const client = async (options = {}) => {
    op = await startScriptedProvider();
    return Client.discover(op.issuer, 'scripted-client', options);
  };
  const answer = (body: Record<string, unknown>, status = 200) => {
    op.token = { status, body: JSON.stringify(body) };
  };
  const tokenWith = async (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    answer({ access_token: 'at-1', token_type: 'Bearer', expires_in: 300, id_token: await op.idToken(claims, header) });

  it('a discovery document naming another issuer is refused', async () => {
    op = await startScriptedProvider();
    op.discovery = { issuer: 'https://evil.example' };
    await rejectsWith(Client.discover(op.issuer, 'c'), 'issuer_mismatch', /evil\.example/);
  });

  it('auth responses: state first, then RFC 9207 iss (present, or required when advertised), then scope, then code', async () => {
    const c = await client();
    const flow = c.initiateAuthCodeFlow({ redirectUri: 'http://127.0.0.1:5000/callback', scope: ['openid', 'profile'] });
    assert.equal(new URL(flow.authUri).searchParams.get('code_challenge')?.length, 43);
    assert.deepEqual(JSON.parse(JSON.stringify(flow)), flow, 'the flow is serialisable');
    await rejectsWith(c.obtainTokenByAuthCodeFlow(flow, { code: 'x', state: 'other', iss: 'https://evil.example' }), 'state_mismatch');
    await rejectsWith(c.obtainTokenByAuthCodeFlow(flow, { code: 'x', state: flow.state, iss: 'https://evil.example' }), 'issuer_mismatch');
    await rejectsWith(c.obtainTokenByAuthCodeFlow(flow, { code: 'x', state: flow.state }, { scope: 'openid email' }), 'invalid_scope');
    await rejectsWith(c.obtainTokenByAuthCodeFlow(flow, `?state=${flow.state}&error=access_denied&error_description=no`), 'access_denied');
    const advertised = new Client({ ...c.configuration, authorization_response_iss_parameter_supported: true }, 'scripted-client');
    const flow2 = advertised.initiateAuthCodeFlow({ redirectUri: 'http://127.0.0.1:5000/callback' });
    await rejectsWith(advertised.obtainTokenByAuthCodeFlow(flow2, { code: 'x', state: flow2.state }), 'issuer_mismatch');
    assert.throws(() => parseAuthResponse('code=1&state=a', 'b'), /different state/);
    assert.deepEqual(parseAuthResponse('?code=1&state=a&state=b', 'a'), { code: '1', state: 'a' });
  });

  it('ID tokens: aud, nonce, exp/iat/nbf beyond the tolerance, alg none and HS256 are refused; within the tolerance passes', async () => {
    const c = await client({ clockTolerance: 60 });
    const now = Math.floor(Date.now() / 1000);
    const flow = c.initiateAuthCodeFlow({ redirectUri: 'http://127.0.0.1:5000/callback', scope: 'openid' });
    const finish = () => c.obtainTokenByAuthCodeFlow(flow, { code: 'c', state: flow.state });
    await tokenWith({ aud: 'someone-else', nonce: flow.nonce });
    await rejectsWith(finish(), 'invalid_id_token', /aud/);
    await tokenWith({ nonce: 'replayed' });
    await rejectsWith(finish(), 'invalid_id_token', /nonce/);
    await tokenWith({ nonce: flow.nonce, exp: now - 120 });
    await rejectsWith(finish(), 'invalid_id_token', /expired/);
    await tokenWith({ nonce: flow.nonce, iat: now + 600, exp: now + 900 });
    await rejectsWith(finish(), 'invalid_id_token', /future/);
    await tokenWith({ nonce: flow.nonce, nbf: now + 600 });
    await rejectsWith(finish(), 'invalid_id_token', /nbf/);
    await tokenWith({ nonce: flow.nonce, aud: ['scripted-client', 'other'] });
    await rejectsWith(finish(), 'invalid_id_token', /azp/);
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: op.issuer, aud: 'scripted-client', sub: 'a', nonce: flow.nonce })).toString('base64url')}.`;
    answer({ access_token: 'at', token_type: 'Bearer', id_token: unsigned });
    await rejectsWith(finish(), 'invalid_id_token', /alg "none"/);
    await tokenWith({ nonce: flow.nonce, exp: now - 30, iat: now - 330 });
    const ok = await finish();
    assert.equal(ok.id_token_claims?.sub, 'alice', 'expired 30 s ago is inside the 60 s tolerance');
  });

  it('an unknown kid refetches the keys once: a rotated key then works, an unknown one fails after one refetch', async () => {
    const c = await client();
    const flow = c.initiateAuthCodeFlow({ redirectUri: 'http://127.0.0.1:5000/callback', scope: 'openid' });
    await tokenWith({ nonce: flow.nonce });
    await c.obtainTokenByAuthCodeFlow(flow, { code: 'c', state: flow.state });
    assert.equal(op.hits['/jwks'], 1);
    const rotated = await op.newKey();
    const now = Math.floor(Date.now() / 1000);
    answer({ access_token: 'at', token_type: 'Bearer', id_token: await rotated.sign({ iss: op.issuer, sub: 'alice', aud: 'scripted-client', iat: now, exp: now + 300, nonce: flow.nonce }) });
    await rejectsWith(c.obtainTokenByAuthCodeFlow(flow, { code: 'c', state: flow.state }), 'invalid_id_token', /kid "k2"/);
    assert.equal(op.hits['/jwks'], 2, 'refetched exactly once');
    op.jwks = { keys: [...op.jwks.keys, rotated.jwk] };
    const tokens = await c.obtainTokenByAuthCodeFlow(flow, { code: 'c', state: flow.state });
    assert.equal(tokens.id_token_claims?.sub, 'alice');
    assert.equal(op.hits['/jwks'], 3);
  });

  it('a refreshed ID token must keep iss and sub', async () => {
    const c = await client();
    await tokenWith({});
    await c.obtainTokenByRefreshToken('rt-1');
    await tokenWith({ sub: 'mallory' });
    await rejectsWith(c.obtainTokenByRefreshToken('rt-2'), 'invalid_id_token', /same iss and sub/);
  });

  it('errors: with HTTP 200, as HTML, as non-objects, and with wrong types all become typed AuthErrors', async () => {
    const c = await client();
    answer({ error: 'invalid_grant', error_description: 'refresh token rt-secret-123 expired' });
    await rejectsWith(c.obtainTokenByRefreshToken('rt-secret-123'), 'invalid_grant');
    op.token = { status: 502, body: '<html><body>Bad gateway</body></html>', contentType: 'text/html' };
    await assert.rejects(c.obtainTokenForClient(), (error: AuthError) => error.code === 'invalid_response' && error.status === 502 && /Bad gateway/.test(error.message));
    op.token = { status: 200, body: '["not", "an", "object"]' };
    await rejectsWith(c.obtainTokenForClient(), 'invalid_response');
    answer({ access_token: 42, token_type: 'Bearer' });
    await rejectsWith(c.obtainTokenForClient(), 'invalid_response', /access_token/);
  });

  it('a JWT-bearer assertion (RFC 7523) is signed and sent as the assertion grant', async () => {
    const c = await client();
    const key = new TextEncoder().encode('a-shared-secret-for-hs256-that-is-long-enough-0123456789');
    const assertion = await signJwtAssertion({ issuer: 'scripted-client', subject: 'alice', audience: `${op.issuer}/token`, key });
    const [, payload] = assertion.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<string, unknown>;
    assert.equal(claims.sub, 'alice');
    assert.ok(typeof claims.jti === 'string' && typeof claims.exp === 'number');
    let sent = '';
    const fetch: typeof globalThis.fetch = async (input, init) => {
      sent = String(init?.body ?? (input instanceof Request ? await input.clone().text() : ''));
      return globalThis.fetch(input, init);
    };
    answer({ access_token: 'at-jwt', token_type: 'Bearer' });
    const c2 = new Client(c.configuration, 'scripted-client', { fetch });
    assert.equal((await c2.obtainTokenByAssertion(assertion, GRANT_TYPE_JWT, { scope: 'api' })).access_token, 'at-jwt');
    const form = new URLSearchParams(sent);
    assert.equal(form.get('grant_type'), GRANT_TYPE_JWT);
    assert.equal(form.get('assertion'), assertion);
    assert.equal(form.get('scope'), 'api');

    answer({ access_token: 'at-exchanged', token_type: 'Bearer', issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' });
    const exchanged = await c2.exchangeToken('subject-token-value', 'urn:ietf:params:oauth:token-type:access_token', { audience: 'https://api.example' });
    assert.equal(exchanged.access_token, 'at-exchanged');
    const exchange = new URLSearchParams(sent);
    assert.equal(exchange.get('grant_type'), 'urn:ietf:params:oauth:grant-type:token-exchange');
    assert.equal(exchange.get('subject_token'), 'subject-token-value');
    assert.equal(exchange.get('audience'), 'https://api.example');
  });

  it('max_age: an ID token whose auth_time is older than max_age (beyond the tolerance) is refused', async () => {
    const c = await client({ clockTolerance: 60 });
    const now = Math.floor(Date.now() / 1000);
    const flow = c.initiateAuthCodeFlow({ redirectUri: 'http://127.0.0.1:5000/callback', scope: 'openid', maxAge: 300 });
    assert.equal(new URL(flow.authUri).searchParams.get('max_age'), '300');
    await tokenWith({ nonce: flow.nonce, auth_time: now - 1000 });
    await rejectsWith(c.obtainTokenByAuthCodeFlow(flow, { code: 'c', state: flow.state }), 'invalid_id_token', /max_age/);
    await tokenWith({ nonce: flow.nonce });
    await rejectsWith(c.obtainTokenByAuthCodeFlow(flow, { code: 'c', state: flow.state }), 'invalid_id_token', /no auth_time/);
    await tokenWith({ nonce: flow.nonce, auth_time: now - 200 });
    assert.equal((await c.obtainTokenByAuthCodeFlow(flow, { code: 'c', state: flow.state })).id_token_claims?.auth_time, now - 200);
  });
});
