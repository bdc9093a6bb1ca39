// DPoP (RFC 9449) against the real provider: oidc-provider with its dPoP
// feature and a nonce secret, so that every proof must carry the server's
// nonce (its userinfo route is the resource server that checks proofs), and
// scripted servers for what it will not do (a bearer token where DPoP was
// asked, a malformed nonce, no DPoP at all).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, type JWK } from 'jose';
import { authenticate, authenticatedFetch, authHooks, AuthError, Client, generateDpopKey, signDpopProof, TokenStore, type Token } from '../src/index.ts';
import { KeyringTokenStore } from '../src/keyring.ts';
import { BASIC_CLIENT, NATIVE_CLIENT, startIdp, type Idp } from './fixtures/idp.ts';
import { Person } from './fixtures/person.ts';
import { startScriptedProvider } from './fixtures/scripted-provider.ts';
import { secretServiceMissing, startSecretService } from './fixtures/secret-service.ts';
import { personApproves } from './fixtures/world.ts';
import { runCli as runCliBare } from './helpers/cli.ts';
import { privateMetadataCache } from './helpers/metadata-cache.ts';
import { closedAfterEach } from './helpers/servers.ts';

const track = closedAfterEach();
/** The CLI with this file's cache folder. */
const runCli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCliBare(args, { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, ...env });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-dpop-'));
privateMetadataCache();
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const newStorePath = () => path.join(dir, `store-${(n += 1)}.json`);

/** What the provider's introspection says of a token (as a service client of it). */
async function introspect(idp: Idp, token: string): Promise<{ active: boolean; cnf?: { jkt?: string }; token_type?: string }> {
  const response = await fetch(`${idp.issuer}/token/introspection`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${encodeURIComponent(BASIC_CLIENT.id)}:${encodeURIComponent(BASIC_CLIENT.secret)}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
  });
  return await response.json() as { active: boolean; cnf?: { jkt?: string } };
}

/** The thumbprint of the public part of a stored private key. */
function thumbprintOf(token: Token): Promise<string> {
  const jwk = token.dpop_key as JWK;
  return calculateJwkThumbprint(jwk.kty === 'EC' ? { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y } : { kty: 'OKP', crv: jwk.crv, x: jwk.x });
}

/** A fetch that records the status of every answer, in order. */
function recording(): { fetch: typeof globalThis.fetch; statuses: number[] } {
  const statuses: number[] = [];
  return { statuses, fetch: async (input, init) => {
    const response = await globalThis.fetch(input, init);
    statuses.push(response.status);
    return response;
  } };
}

describe('DPoP-bound logins at oidc-provider (nonces required)', () => {
  let idp: Idp;
  before(async () => {
    idp = await startIdp({ dpop: { requireNonce: true }, accessTokenTtl: 600 });
  });
  after(() => idp.close());

  it('a device login: token_type DPoP, bound to the login\'s key (introspection cnf.jkt), after one nonce retry at the token endpoint', { timeout: 30_000 }, async () => {
    const store = new TokenStore({ path: newStorePath() });
    const wire = recording();
    const token = await authenticate({ issuer: idp.issuer, clientId: NATIVE_CLIENT, dpop: true, store, interactive: true, flow: 'device', openBrowser: false, onDeviceCode: personApproves().onDeviceCode, fetch: wire.fetch });
    assert.equal(token.token_type.toLowerCase(), 'dpop');
    assert.match(token.headers.Authorization, /^DPoP /);
    assert.equal(token.dpop_key?.kty, 'EC', 'an ES256 key (P-256), kept with the token');
    const info = await introspect(idp, token.access_token);
    assert.equal(info.active, true);
    assert.equal(info.cnf?.jkt, await thumbprintOf(token), 'the provider bound the token to our key');
    assert.ok(wire.statuses.includes(400), `the provider demanded a nonce first (${wire.statuses.join(', ')})`);
    const stored = JSON.parse(fs.readFileSync(store.path, 'utf8')) as Record<string, { token: { token_type: string; dpop_key?: JWK } }>;
    const entry = Object.entries(stored).find(([key]) => key.includes('proof=dpop'));
    assert.ok(entry, `the login has its own store entry: ${Object.keys(stored).join(', ')}`);
    assert.equal(typeof entry[1].token.dpop_key?.d, 'string', 'the private key is kept with the token (file store: with the file\'s protections)');
    assert.deepEqual((await store.read(entry[0])).token?.dpop_key, token.dpop_key, 'and read back as it was written');
  });

  it('authenticatedFetch and authHooks sign each request: the resource server (userinfo) takes it after its nonce challenge; the same token replayed as a bearer token or with another key\'s proof is refused', { timeout: 30_000 }, async () => {
    const store = new TokenStore({ path: newStorePath() });
    const options = { issuer: idp.issuer, clientId: NATIVE_CLIENT, dpop: true, store, interactive: true, flow: 'device', openBrowser: false, onDeviceCode: personApproves().onDeviceCode } as const;
    const token = await authenticate(options);
    const api = recording();
    const call = authenticatedFetch({ ...options, origins: [idp.issuer], apiFetch: api.fetch });
    const first = await call(`${idp.issuer}/me?from=test`);
    assert.equal(first.status, 200, await first.clone().text());
    assert.deepEqual(api.statuses, [401, 200], 'one nonce challenge, met with one retry');
    assert.equal(((await first.json()) as { sub?: string }).sub, 'alice');
    const second = await call(`${idp.issuer}/me`);
    assert.equal(second.status, 200);
    assert.deepEqual(api.statuses, [401, 200, 200], 'the nonce is kept: no second challenge');

    // ky with authHooks: its own proof per request, the nonce kept from above.
    const { default: ky } = await import('ky');
    const viaKy = await ky.extend({ hooks: authHooks({ ...options, origins: [idp.issuer] }) }).get(`${idp.issuer}/me`).json<{ sub: string }>();
    assert.equal(viaKy.sub, 'alice');

    // The stolen token: read out of the store file, used without the key.
    const copied = (Object.values(JSON.parse(fs.readFileSync(store.path, 'utf8')) as Record<string, { token: { access_token: string } }>)[0])?.token.access_token ?? '';
    assert.equal(copied, token.access_token);
    const asBearer = await fetch(`${idp.issuer}/me`, { headers: { authorization: `Bearer ${copied}` } });
    assert.equal(asBearer.status, 401, 'as a bearer token');
    const thief = await generateDpopKey();
    let withOtherKey = await fetch(`${idp.issuer}/me`, { headers: { authorization: `DPoP ${copied}`, dpop: await signDpopProof(thief, 'GET', `${idp.issuer}/me`, copied) } });
    const nonce = withOtherKey.headers.get('dpop-nonce');
    if (nonce) {
      // Give the thief the nonce too: the proof is still signed by the wrong key.
      const { rememberDpopNonce } = await import('../src/servers/client/dpop.ts');
      rememberDpopNonce(thief, `${idp.issuer}/me`, nonce);
      withOtherKey = await fetch(`${idp.issuer}/me`, { headers: { authorization: `DPoP ${copied}`, dpop: await signDpopProof(thief, 'GET', `${idp.issuer}/me`, copied) } });
    }
    assert.equal(withOtherKey.status, 401, 'with a proof of another key');
    assert.match(withOtherKey.headers.get('www-authenticate') ?? '', /invalid_token|invalid_dpop_proof/);
  });

  it('a refresh is bound too: it needs the key, and the new token has the same cnf.jkt', { timeout: 30_000 }, async () => {
    const store = new TokenStore({ path: newStorePath() });
    const options = { issuer: idp.issuer, clientId: NATIVE_CLIENT, dpop: true, store, interactive: true, flow: 'device', openBrowser: false, onDeviceCode: personApproves().onDeviceCode } as const;
    const first = await authenticate(options);
    // The refresh token alone, as a thief would have it: refused without the key's proof.
    const bare = await Client.discover(idp.issuer, NATIVE_CLIENT, { skipIdTokenValidation: true });
    await assert.rejects(bare.obtainTokenByRefreshToken(first.refresh_token), (error: unknown) => error instanceof AuthError && error.status === 400);
    const refreshes = idp.grants.refresh_token ?? 0;
    const entry = store.entries()[0];
    assert.ok(entry);
    await store.put(entry.host, { ...entry.token, expires: Math.floor(Date.now() / 1000) - 10 });
    const refreshed = await authenticate({ ...options, interactive: false });
    assert.equal(idp.grants.refresh_token, refreshes + 1, 'refreshed (the stored token had expired)');
    assert.notEqual(refreshed.access_token, first.access_token);
    assert.equal(refreshed.token_type.toLowerCase(), 'dpop');
    assert.deepEqual(refreshed.dpop_key, first.dpop_key, 'the same key');
    assert.equal((await introspect(idp, refreshed.access_token)).cnf?.jkt, await thumbprintOf(first));
  });

  it('a code login: the code is bound with dpop_jkt and the token to the key', { timeout: 30_000 }, async () => {
    const store = new TokenStore({ path: newStorePath() });
    let authorizeUrl = '';
    const token = await authenticate({
      issuer: idp.issuer, clientId: NATIVE_CLIENT, dpop: true, store, interactive: true, flow: 'code', timeout: 20,
      openBrowser: (url) => void new Person({ stopBefore: (next) => ((next.includes('/auth?') ? (authorizeUrl = next) : ''), false) }).visit(url),
    });
    assert.equal(token.token_type.toLowerCase(), 'dpop');
    const jkt = await thumbprintOf(token);
    assert.equal(new URL(authorizeUrl).searchParams.get('dpop_jkt'), jkt, 'the authorization request names the key');
    assert.equal((await introspect(idp, token.access_token)).cnf?.jkt, jkt);
  });

  it('the CLI: --dpop finds the DPoP login and prints its token; --header refuses and says what works; --dpop-proof METHOD URL prints both headers of one request, which the resource server takes', { timeout: 30_000 }, async () => {
    const storePath = newStorePath();
    // A provider that does not demand nonces of resource requests: a printed proof cannot know the next one.
    const idp = track(await startIdp({ dpop: { requireNonce: false } }));
    // Logged in by the library, read by the CLI: the same store entry.
    await authenticate({ issuer: idp.issuer, clientId: NATIVE_CLIENT, dpop: true, store: new TokenStore({ path: storePath }), interactive: true, flow: 'device', openBrowser: false, onDeviceCode: personApproves().onDeviceCode });
    const base = ['--issuer', idp.issuer, '--client-id', NATIVE_CLIENT, '--dpop', '--store', storePath];
    const plain = await runCli(base);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /^\S+\n$/, 'the access token, as for any login');
    const header = await runCli([...base, '--header']);
    assert.equal(header.code, 1, header.stderr);
    assert.match(header.stderr, /DPoP-bound.*--dpop-proof METHOD URL/s);
    assert.equal(header.stdout, '', 'no token printed');
    const url = `${idp.issuer}/me`;
    const printed = await runCli([...base, '--dpop-proof', 'get', url]);
    assert.equal(printed.code, 0, printed.stderr);
    const lines = printed.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0] ?? '', /^Authorization: DPoP \S+$/);
    assert.match(lines[1] ?? '', /^DPoP: eyJ/);
    const proof = (lines[1] ?? '').slice('DPoP: '.length);
    assert.deepEqual([decodeProtectedHeader(proof).typ, decodeJwt(proof).htm, decodeJwt(proof).htu], ['dpop+jwt', 'GET', url]);
    const used = await fetch(url, { headers: { authorization: (lines[0] ?? '').slice('Authorization: '.length), dpop: proof } });
    assert.equal(used.status, 200, `${used.headers.get('www-authenticate')}`);
    const replayed = await fetch(url, { headers: { authorization: (lines[0] ?? '').slice('Authorization: '.length), dpop: proof } });
    assert.equal(replayed.status, 401, 'the same proof twice is a replay');
    // Tools that send a fixed bearer credential get no bound token, and are told what works.
    for (const tool of [['exec', ...base, '--', 'true'], ['credential', 'kubernetes', ...base], ['credential', 'wlcg', ...base]]) {
      const run = await runCli(tool, { BEARER_TOKEN_FILE: path.join(dir, 'bt') });
      assert.equal(run.code, 1, `${tool.slice(0, 2).join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, /DPoP-bound/);
      assert.equal(run.stdout, '');
    }
    assert.equal(fs.existsSync(path.join(dir, 'bt')), false, 'no bearer token file written');
    const usage = await runCli([...base, '--dpop-proof', 'GET']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /needs the request's full http\(s\) URL/);
    const noDpop = await runCli(['--issuer', idp.issuer, '--client-id', NATIVE_CLIENT, '--dpop-proof', 'GET', url]);
    assert.equal(noDpop.code, 2);
    assert.match(noDpop.stderr, /--dpop-proof goes with --dpop/);
  });
});

describe('DPoP against a resource server without nonces, and the keyring', { skip: secretServiceMissing() }, () => {
  it('with the keyring store, no file under HOME holds the access token, the refresh token or the private key; the token still works', { timeout: 60_000 }, async () => {
    const idp = track(await startIdp({ dpop: { requireNonce: false } }));
    const keyring = await startSecretService();
    process.env.DBUS_SESSION_BUS_ADDRESS = keyring.env.DBUS_SESSION_BUS_ADDRESS;
    try {
      const env = { HOME: keyring.home, XDG_CACHE_HOME: path.join(keyring.home, '.cache') };
      const store = new KeyringTokenStore({ appName: 'dpop' }, env);
      const options = { issuer: idp.issuer, clientId: NATIVE_CLIENT, dpop: true, store, interactive: true, flow: 'device', openBrowser: false, onDeviceCode: personApproves().onDeviceCode } as const;
      const token = await authenticate(options);
      const response = await authenticatedFetch({ ...options, origins: [idp.issuer] })(`${idp.issuer}/me`);
      assert.equal(response.status, 200);
      const secrets = [token.access_token, token.refresh_token, token.dpop_key?.d ?? 'missing'];
      const files: string[] = [];
      const walk = (folder: string) => {
        for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
          const full = path.join(folder, entry.name);
          if (entry.isDirectory()) walk(full);
          else if (entry.isFile()) files.push(full);
        }
      };
      walk(keyring.home);
      assert.ok(files.length > 0, 'the keyring store wrote its index under HOME');
      // gnome-keyring keeps its keyring file encrypted: no secret appears in it either.
      const holding = files.filter((file) => secrets.some((secret) => fs.readFileSync(file, 'latin1').includes(secret)));
      assert.deepEqual(holding, []);
    } finally {
      delete process.env.DBUS_SESSION_BUS_ADDRESS;
      await keyring.close();
    }
  });
});

describe('DPoP against scripted servers: what a real provider will not do', () => {
  it('a provider without DPoP (no dpop_signing_alg_values_supported) is a clear error, never a silent bearer token', async () => {
    const scripted = track(await startScriptedProvider());
    await assert.rejects(authenticate({ issuer: scripted.issuer, clientId: 'scripted-client', dpop: true, store: new TokenStore({ path: newStorePath() }), interactive: true, flow: 'device', openBrowser: false, onDeviceCode: () => {} }),
      (error: unknown) => error instanceof AuthError && error.code === 'unsupported_flow' && /does not offer DPoP/.test(error.message));
    assert.equal(scripted.hits['/device'] ?? 0, 0, 'no login was started');
  });

  it('a bearer token where a DPoP-bound one was asked (a downgrade) is refused', async () => {
    const scripted = track(await startScriptedProvider());
    const client = new Client({ issuer: scripted.issuer, token_endpoint: `${scripted.issuer}/token` }, 'scripted-client', { dpop: await generateDpopKey(), skipIdTokenValidation: true });
    scripted.token = { status: 200, body: JSON.stringify({ access_token: 'at-bearer', token_type: 'Bearer', expires_in: 300 }) };
    await assert.rejects(client.obtainTokenByRefreshToken('rt'), (error: unknown) => error instanceof AuthError && error.code === 'invalid_response' && /not a DPoP-bound one/.test(error.message) && !error.message.includes('at-bearer'));
    assert.match(scripted.proofs[0] ?? '', /^eyJ/, 'the request carried a proof');
  });

  it('use_dpop_nonce with a nonce: one retry whose proof carries it; with a malformed nonce: no retry, and an error that says so', async () => {
    const scripted = track(await startScriptedProvider());
    const client = new Client({ issuer: scripted.issuer, token_endpoint: `${scripted.issuer}/token` }, 'scripted-client', { dpop: await generateDpopKey(), skipIdTokenValidation: true });
    const useNonce = JSON.stringify({ error: 'use_dpop_nonce', error_description: 'Authorization server requires nonce in DPoP proof' });
    scripted.tokenQueue.push({ status: 400, body: useNonce, headers: { 'dpop-nonce': 'eyJ7S_zG.eyJH0-Z.HX4w-7v' } });
    scripted.token = { status: 200, body: JSON.stringify({ access_token: 'at-bound', token_type: 'DPoP', expires_in: 300 }) };
    const answer = await client.obtainTokenByRefreshToken('rt');
    assert.equal(answer.access_token, 'at-bound');
    assert.equal(scripted.proofs.length, 2);
    assert.equal(decodeJwt(scripted.proofs[0] ?? '').nonce, undefined);
    assert.equal(decodeJwt(scripted.proofs[1] ?? '').nonce, 'eyJ7S_zG.eyJH0-Z.HX4w-7v', 'the retry carries the nonce');
    assert.notEqual(decodeJwt(scripted.proofs[0] ?? '').jti, decodeJwt(scripted.proofs[1] ?? '').jti, 'a fresh proof, not a replay');

    const other = new Client({ issuer: scripted.issuer, token_endpoint: `${scripted.issuer}/token` }, 'scripted-client', { dpop: await generateDpopKey(), skipIdTokenValidation: true });
    scripted.proofs.length = 0;
    scripted.token = { status: 400, body: useNonce, headers: { 'dpop-nonce': 'has "quotes" and \\ backslashes' } };
    await assert.rejects(other.obtainTokenByRefreshToken('rt'), (error: unknown) => error instanceof AuthError && error.code === 'invalid_response' && /no usable DPoP-Nonce/.test(error.message));
    assert.equal(scripted.proofs.length, 1, 'no retry with a nonce that cannot be signed');
  });

  it('a key handle shows no private part when printed or serialised; errors and the store keep the key out of sight', async () => {
    const key = await generateDpopKey();
    const { exportDpopKey } = await import('../src/index.ts');
    const { d } = exportDpopKey(key);
    assert.equal(typeof d, 'string');
    const printed = `${JSON.stringify(key)} ${String((await import('node:util')).inspect(key, { depth: 5 }))}`;
    assert.ok(!printed.includes(d ?? 'missing'), printed);
    const { redact } = await import('../src/errors.ts');
    assert.equal((redact({ dpop_key: { d } }) as { dpop_key: string }).dpop_key, '[redacted]');
  });
});
