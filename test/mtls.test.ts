// Mutual TLS (RFC 8705) against oidc-provider over HTTPS: a confidential
// client that authenticates with its certificate (tls_client_auth), tokens
// bound to that certificate (the provider's userinfo route checks the
// binding), PEM and PKCS#12 files, the CLI's options, and the provider's
// mTLS endpoint aliases.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { authenticate, authenticatedFetch, AuthError, Client, TokenStore, type ClientCertificate } from '../src/index.ts';
import { BASIC_CLIENT, MTLS_CLIENT, startIdp, type Idp } from './fixtures/idp.ts';
import { makeCa, startProxy, type TestCa } from './fixtures/network.ts';
import { startScriptedProvider } from './fixtures/scripted-provider.ts';
import { personApproves } from './fixtures/world.ts';
import { runCli } from './helpers/cli.ts';
import { privateMetadataCache } from './helpers/metadata-cache.ts';
import { closedAfterEach } from './helpers/servers.ts';

const track = closedAfterEach();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-mtls-'));
privateMetadataCache();
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let ca: TestCa;
let idp: Idp;
let certificate: ClientCertificate & { cert: string; key: string };
let other: { cert: string; key: string };
/** A fetch that trusts the test CA and presents `client` (or no certificate). */
const caFetch = (client?: { cert: string; key: string }): typeof globalThis.fetch => {
  const dispatcher = new Agent({ connect: { ca: ca.ca, ...(client ?? {}) } });
  return (input, init) => globalThis.fetch(input, { ...init, dispatcher } as RequestInit);
};
/** RFC 8705 3.1: base64url(SHA-256(DER)) of a certificate. */
const thumbprint = (pem: string) => createHash('sha256').update(new X509Certificate(pem).raw).digest('base64url');

async function introspect(token: string): Promise<{ active: boolean; cnf?: Record<string, string> }> {
  const response = await caFetch()(`${idp.issuer}/token/introspection`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${encodeURIComponent(BASIC_CLIENT.id)}:${encodeURIComponent(BASIC_CLIENT.secret)}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
  });
  return await response.json() as { active: boolean; cnf?: Record<string, string> };
}

describe('mutual TLS with oidc-provider (RFC 8705)', () => {
  before(async () => {
    ca = makeCa(path.join(dir, 'ca'));
    const server = ca.issue('127.0.0.1', ['127.0.0.1']);
    idp = await startIdp({ tls: { ...server, hostname: '127.0.0.1' }, mtls: { ca: ca.ca } });
    certificate = { ...ca.issue('mtls-client', ['mtls-client.oidc.test']), ca: ca.ca };
    other = ca.issue('someone-else', ['someone-else.oidc.test']);
    fs.writeFileSync(path.join(dir, 'client.key'), certificate.key, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'client.pem'), certificate.cert);
  });
  after(() => idp?.close());

  it('tls_client_auth: the certificate is the credential, and the token is bound to it (introspection cnf x5t#S256); PKCS#12 works the same', async () => {
    const client = await Client.discover(idp.issuer, MTLS_CLIENT, { tlsClientCertificate: certificate });
    const token = await client.obtainTokenForClient();
    assert.equal((await introspect(token.access_token)).cnf?.['x5t#S256'], thumbprint(certificate.cert));

    const p12 = path.join(dir, 'client.p12');
    execFileSync('openssl', ['pkcs12', '-export', '-inkey', 'client.key', '-in', 'client.pem', '-passout', 'pass:p12-secret', '-out', p12], { cwd: dir, stdio: 'ignore' });
    const fromPkcs12 = await Client.discover(idp.issuer, MTLS_CLIENT, { tlsClientCertificate: { pfx: fs.readFileSync(p12), passphrase: 'p12-secret', ca: ca.ca } });
    assert.ok((await fromPkcs12.obtainTokenForClient()).access_token);

    const without = await Client.discover(idp.issuer, MTLS_CLIENT, { tlsClientCertificate: { ca: ca.ca } });
    await assert.rejects(without.obtainTokenForClient(), (error: unknown) => error instanceof AuthError && error.code === 'invalid_client');
    const wrong = await Client.discover(idp.issuer, MTLS_CLIENT, { tlsClientCertificate: { ...other, ca: ca.ca } });
    await assert.rejects(wrong.obtainTokenForClient(), (error: unknown) => error instanceof AuthError && error.code === 'invalid_client', 'another certificate of the same CA is not this client');
  });

  it('a person\'s certificate-bound token: the resource server (userinfo) takes it with the client\'s certificate and refuses it without, or with another', { timeout: 30_000 }, async () => {
    const store = new TokenStore({ path: path.join(dir, 'store.json') });
    const options = { issuer: idp.issuer, clientId: MTLS_CLIENT, client: { tlsClientCertificate: certificate }, store, interactive: true, flow: 'device', openBrowser: false, onDeviceCode: personApproves({ fetch: caFetch() }).onDeviceCode } as const;
    const token = await authenticate(options);
    assert.equal((await introspect(token.access_token)).cnf?.['x5t#S256'], thumbprint(certificate.cert));
    const userinfo = `${idp.issuer}/me`;
    const withCertificate = await authenticatedFetch({ ...options, origins: [idp.issuer] })(userinfo);
    assert.equal(withCertificate.status, 200, await withCertificate.clone().text());
    assert.equal(((await withCertificate.json()) as { sub: string }).sub, 'alice');
    const stolen = await caFetch()(userinfo, { headers: { authorization: `Bearer ${token.access_token}` } });
    assert.equal(stolen.status, 401, 'without the certificate');
    assert.match(stolen.headers.get('www-authenticate') ?? '', /x5t#S256|invalid_token/);
    const elsewhere = await caFetch(other)(userinfo, { headers: { authorization: `Bearer ${token.access_token}` } });
    assert.equal(elsewhere.status, 401, 'with another certificate');
  });

  it('the CLI: --client-cert and --client-key refresh the stored login through mutual TLS; without them the refresh is refused; bad combinations are usage errors', { timeout: 30_000 }, async () => {
    const storePath = path.join(dir, 'cli-store.json');
    const store = new TokenStore({ path: storePath });
    await authenticate({ issuer: idp.issuer, clientId: MTLS_CLIENT, client: { tlsClientCertificate: certificate }, store, interactive: true, flow: 'device', openBrowser: false, onDeviceCode: personApproves({ fetch: caFetch() }).onDeviceCode });
    const expire = async () => {
      const entry = store.entries()[0];
      assert.ok(entry);
      await store.put(entry.host, { ...entry.token, expires: Math.floor(Date.now() / 1000) - 10 });
    };
    const base = ['--issuer', idp.issuer, '--client-id', MTLS_CLIENT, '--store', storePath];
    const env = { NODE_EXTRA_CA_CERTS: ca.caFile, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
    await expire();
    const refusedWithout = await runCli(base, env);
    assert.equal(refusedWithout.code, 3, refusedWithout.stderr);
    assert.match(refusedWithout.stderr, /Refreshing the stored token failed first/);
    const refreshes = idp.grants.refresh_token ?? 0;
    const refreshed = await runCli([...base, '--client-cert', path.join(dir, 'client.pem'), '--client-key', path.join(dir, 'client.key')], env);
    assert.equal(refreshed.code, 0, refreshed.stderr);
    assert.equal(idp.grants.refresh_token, refreshes + 1);
    assert.equal((await introspect(refreshed.stdout.trim())).cnf?.['x5t#S256'], thumbprint(certificate.cert), 'the new token is bound too');

    // A cached token needs no certificate (the fast path reads no file): the files are read when a refresh needs them.
    await expire();
    for (const [args, message] of [
      [['--client-cert', 'a.pem'], /go together/],
      [['--client-pkcs12', 'a.p12', '--client-key', 'k'], /give it alone/],
      [['--client-passphrase-env', 'X'], /goes with --client-key or --client-pkcs12/],
      [['--client-cert', path.join(dir, 'missing.pem'), '--client-key', 'k'], /missing\.pem: no such file/],
    ] as const) {
      const run = await runCli([...base, ...args], env);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
    const hostMode = await runCli(['https://app.example.org', '--client-cert', 'a', '--client-key', 'b']);
    assert.equal(hostMode.code, 2);
    assert.match(hostMode.stderr, /go with --issuer/);
  });

  it('through an HTTPS proxy (CONNECT): the certificate reaches the provider through the tunnel', { timeout: 30_000 }, async () => {
    const behind = track(await startIdp({ tls: { ...ca.issue('mtls.oidc.test', ['mtls.oidc.test']), hostname: 'mtls.oidc.test' }, mtls: { ca: ca.ca } }));
    const proxy = track(await startProxy());
    const saved = { HTTPS_PROXY: process.env.HTTPS_PROXY, NO_PROXY: process.env.NO_PROXY };
    process.env.HTTPS_PROXY = proxy.url;
    delete process.env.NO_PROXY;
    try {
      // A certificate object of its own: transports are kept per certificate and proxy settings.
      const client = await Client.discover(behind.issuer, MTLS_CLIENT, { tlsClientCertificate: { ...certificate } });
      const token = await client.obtainTokenForClient();
      assert.ok(token.access_token);
      assert.ok(proxy.seen.some((line) => line.startsWith('CONNECT mtls.oidc.test:')), proxy.seen.join('\n'));
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('mtls_endpoint_aliases: with a certificate the client uses the provider\'s mTLS endpoint; without, the plain one', async () => {
    const plain = track(await startScriptedProvider());
    plain.token = { status: 200, body: JSON.stringify({ access_token: 'from-the-plain-endpoint', token_type: 'Bearer', expires_in: 60 }) };
    const configuration = { issuer: idp.issuer, token_endpoint: `${plain.issuer}/token`, mtls_endpoint_aliases: { token_endpoint: `${idp.issuer}/token` } };
    const viaAlias = new Client(configuration, MTLS_CLIENT, { tlsClientCertificate: certificate, skipIdTokenValidation: true });
    const bound = await viaAlias.obtainTokenForClient();
    assert.equal((await introspect(bound.access_token)).cnf?.['x5t#S256'], thumbprint(certificate.cert));
    assert.equal(plain.hits['/token'] ?? 0, 0);
    const direct = new Client(configuration, 'scripted-client', { clientSecret: 's', skipIdTokenValidation: true });
    assert.equal((await direct.obtainTokenForClient()).access_token, 'from-the-plain-endpoint');
  });
});
