// Networks as people have them: a whole login over HTTPS with a private
// certificate authority through a proxy that wants credentials, and each way a
// connection fails, as the person reads it. The CLI runs as a child process
// with the environment a person would set (HTTPS_PROXY, NODE_EXTRA_CA_CERTS).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EnvHttpProxyAgent } from 'undici';
import { AuthError, DeviceFlow, normalizeHost, TokenStore } from '../src/index.ts';
import { bypassesProxy, proxySettings } from '../src/protocol/proxy.ts';
import { runCli, startCli } from './helpers/cli.ts';
import { closedAfterEach } from './helpers/servers.ts';
import { NATIVE_CLIENT, startIdp, type Idp } from './fixtures/idp.ts';
import { makeCa, startProxy, type TestCa, type TestProxy } from './fixtures/network.ts';
import { Person } from './fixtures/person.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-network-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const track = closedAfterEach();
const PROXY_USER = 'alice';
const PROXY_PASSWORD = 'proxy-pass-not-to-be-shown';
let ca: TestCa;
before(() => {
  ca = makeCa(path.join(dir, 'ca'));
});

/** A scripted person whose browser goes through `proxy` and trusts the test CA; loopback goes direct. */
function browserVia(proxy: TestProxy): Person {
  const authed = new URL(proxy.url);
  authed.username = PROXY_USER;
  authed.password = PROXY_PASSWORD;
  const dispatcher = new EnvHttpProxyAgent({ httpsProxy: authed.toString(), httpProxy: authed.toString(), noProxy: 'localhost,127.0.0.1', connect: { ca: ca.ca }, requestTls: { ca: ca.ca } });
  return new Person({ fetch: (input, init) => globalThis.fetch(input, { ...init, dispatcher } as RequestInit) });
}

/** Run the CLI with `env` (HOME in the test folder); `onStderr` sees its error output as it arrives. */
function cli(args: string[], env: NodeJS.ProcessEnv, onStderr?: (text: string) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return startCli(args, { HOME: dir, ...env }, { onStderr }).done;
}

describe('a whole login over HTTPS with a private CA, through a proxy that wants credentials', () => {
  let idp: Idp;
  let proxy: TestProxy;
  let proxyEnv: NodeJS.ProcessEnv;
  before(async () => {
    idp = await startIdp({ tls: { ...ca.issue('idp.oidc.test', ['idp.oidc.test']), hostname: 'idp.oidc.test' } });
    proxy = await startProxy({ credentials: `${PROXY_USER}:${PROXY_PASSWORD}` });
    const authed = new URL(proxy.url);
    authed.username = PROXY_USER;
    authed.password = PROXY_PASSWORD;
    proxyEnv = { HTTPS_PROXY: authed.toString(), NO_PROXY: 'example.internal' };
  });
  after(async () => {
    await proxy.close();
    await idp.close();
  });
  const args = () => ['--issuer', idp.issuer, '--client-id', NATIVE_CLIENT, '--interactive', '--no-browser', '--no-qr'];

  it('device login: the CLI reaches the provider only through the proxy, trusts the CA from NODE_EXTRA_CA_CERTS, and never shows the proxy password', async () => {
    const store = path.join(dir, 'device.json');
    let visited = false;
    const person = browserVia(proxy);
    const result = await cli([...args(), '--flow', 'device', '--store', store], { ...proxyEnv, NODE_EXTRA_CA_CERTS: ca.caFile }, (text) => {
      const url = /\(or open (\S+)\)/.exec(text)?.[1];
      if (url && !visited) {
        visited = true;
        void person.visit(url);
      }
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^\S+\n$/);
    assert.ok(proxy.seen.some((line) => line === `CONNECT idp.oidc.test:${new URL(idp.issuer).port}`), proxy.seen.join('\n'));
    assert.ok(!`${result.stdout}${result.stderr}`.includes(PROXY_PASSWORD));
  });

  it('code login: the loopback /login goes direct, the provider through the proxy, and the token comes back', async () => {
    const store = path.join(dir, 'code.json');
    let visited = false;
    const person = browserVia(proxy);
    const result = await cli([...args(), '--flow', 'code', '-p', '0', '--store', store], { ...proxyEnv, NODE_EXTRA_CA_CERTS: ca.caFile }, (text) => {
      const url = /(http:\/\/127\.0\.0\.1:\d+\/login\/[A-Za-z0-9_-]{43})/.exec(text)?.[1];
      if (url && !visited) {
        visited = true;
        void person.visit(url);
      }
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^\S+\n$/);
    assert.ok(!`${result.stdout}${result.stderr}`.includes(PROXY_PASSWORD));
  });

  it('without the CA: a certificate error that names the host and the issuer and says how to add the CA', async () => {
    const result = await cli([...args(), '--flow', 'device', '--store', path.join(dir, 'no-ca.json')], proxyEnv);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`certificate of idp\\.oidc\\.test:${new URL(idp.issuer).port} is issued by "Research Centre Test CA", which this machine does not trust`));
    assert.match(result.stderr, /NODE_EXTRA_CA_CERTS=\/path\/to\/ca\.pem/);
    assert.doesNotMatch(result.stderr, /reject|rejectUnauthorized|NODE_TLS_REJECT_UNAUTHORIZED/, 'never offers to turn verification off');
    assert.ok(!result.stderr.includes(PROXY_PASSWORD));
  });

  it('a proxy that wants credentials and gets none: 407 said in words; a proxy that is not there: said too', async () => {
    const noCredentials = await cli([...args(), '--flow', 'device', '--store', path.join(dir, 'p407.json')], { HTTPS_PROXY: proxy.url, NODE_EXTRA_CA_CERTS: ca.caFile });
    assert.equal(noCredentials.code, 1);
    assert.match(noCredentials.stderr, /asks for authentication \(HTTP 407\)\. Put the user name and password into the proxy variable/);
    const gone = await cli([...args(), '--flow', 'device', '--store', path.join(dir, 'pgone.json')], { HTTPS_PROXY: 'http://user:secret-pw@127.0.0.1:1', NODE_EXTRA_CA_CERTS: ca.caFile });
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /Nothing answers at the proxy http:\/\/127\.0\.0\.1:1 \(connection refused\)/);
    assert.ok(!gone.stderr.includes('secret-pw'), 'the proxy password is never shown');
  });
});

/** A loopback port where nothing listens (port 1 is on fetch's list of bad ports, which fail before connecting). */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('each way a connection fails, in words', () => {
  async function refreshError(host: string, requestTimeout = 5): Promise<AuthError> {
    const store = new TokenStore({ path: path.join(dir, `s-${Math.random()}.json`), onWarning: () => {} });
    try {
      await new DeviceFlow(host, { store, requestTimeout }).refresh('rt-x');
    } catch (error) {
      assert.ok(error instanceof AuthError);
      return error;
    } finally {
      DeviceFlow.resetInstances();
    }
    assert.fail('no error');
  }

  async function tlsServer(cert: { key: string; cert: string }): Promise<string> {
    const server = https.createServer(cert, (_req, res) => res.end('{}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    track({ close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }) });
    return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('connection refused, host not found (DNS), no answer (timeout): a stable reason and what to check', async () => {
    const port = await closedPort();
    const refused = await refreshError(`http://127.0.0.1:${port}`);
    assert.deepEqual([refused.code, refused.reason], ['network', 'connection_refused']);
    assert.match(refused.message, new RegExp(`Nothing answers at 127\\.0\\.0\\.1:${port} \\(connection refused\\)\\. Check the host and port`));
    const dns = await refreshError('https://nothing-here.invalid');
    assert.deepEqual([dns.code, dns.reason], ['network', 'dns']);
    assert.match(dns.message, /The host name nothing-here\.invalid cannot be resolved \(DNS\)/);
    const silent = http.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    track({ close: () => new Promise<void>((resolve) => {
      silent.close(() => resolve());
      silent.closeAllConnections();
    }) });
    const timeout = await refreshError(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`, 1);
    assert.deepEqual([timeout.code, timeout.reason], ['network', 'timeout']);
    assert.match(timeout.message, /did not answer within 1 s/);
  });

  it('an expired certificate and a certificate for another name get their own words (the CA trusted)', async () => {
    const expired = await tlsServer(ca.issue('127.0.0.1', ['127.0.0.1'], { expired: true }));
    const wrongName = await tlsServer(ca.issue('other.oidc.test', ['other.oidc.test']));
    for (const [host, pattern] of [[expired, /certificate of 127\.0\.0\.1:\d+ has expired \(valid until Jan\s+2 00:00:00 2020 GMT\)/], [wrongName, /certificate of 127\.0\.0\.1:\d+ is for DNS:other\.oidc\.test, not for 127\.0\.0\.1/]] as const) {
      const result = await cli([host, '--store', path.join(dir, `tls-${Math.random()}.json`), '--interactive', '--flow', 'device'], { NODE_EXTRA_CA_CERTS: ca.caFile });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, pattern);
    }
  });

  it('the CLI prints a network error in one line', async () => {
    const result = await runCli([`http://127.0.0.1:${await closedPort()}`, '--interactive', '--store', path.join(dir, 'one-line.json')]);
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /connection refused/);
  });
});

describe('proxy settings and host arguments', () => {
  it('HTTPS_PROXY/HTTP_PROXY/NO_PROXY in either case; NO_PROXY as curl reads it; loopback never proxied', () => {
    assert.equal(proxySettings({}), undefined);
    const settings = proxySettings({ https_proxy: 'http://p:3128', NO_PROXY: '.corp.example, intranet:8443,10.0.0.7' });
    assert.equal(settings?.httpsProxy, 'http://p:3128');
    const noProxy = settings?.noProxy ?? '';
    assert.ok(bypassesProxy('a.corp.example', '443', noProxy) && bypassesProxy('corp.example', '443', noProxy));
    assert.ok(bypassesProxy('intranet', '8443', noProxy) && !bypassesProxy('intranet', '443', noProxy));
    assert.ok(bypassesProxy('10.0.0.7', '443', noProxy) && !bypassesProxy('10.0.0.8', '443', noProxy));
    assert.ok(bypassesProxy('127.0.0.1', '80', noProxy) && bypassesProxy('localhost', '53100', noProxy) && bypassesProxy('::1', '80', noProxy));
    assert.ok(bypassesProxy('anything.example', '443', '*'));
    assert.ok(!bypassesProxy('other.example', '443', noProxy));
  });

  it('only http and https hosts: ftp:// is a usage error; IPv6 literals and internationalised names work', async () => {
    const ftp = await runCli(['ftp://x.example']);
    assert.equal(ftp.code, 2);
    assert.match(ftp.stderr, /"ftp:\/\/x\.example" is a ftp: address; the server must be http:\/\/ or https:\/\//);
    const issuer = await runCli(['--issuer', 'gopher://idp.example', '--client-id', 'c']);
    assert.equal(issuer.code, 2);
    assert.equal(normalizeHost('http://[::1]:8080/api'), 'http://[::1]:8080');
    assert.equal(normalizeHost('https://Bücher.Example'), 'https://xn--bcher-kva.example');
    const store = path.join(dir, 'idn.json');
    const now = Math.floor(Date.now() / 1000);
    const token = { access_token: 'at-idn', token_type: 'Bearer', expires: now + 3600, refresh_token: '', refresh_expires: 0, scope: '' };
    fs.writeFileSync(store, JSON.stringify({ 'https://xn--bcher-kva.example': { token, stored_at: now }, 'http://[::1]:8080': { token: { ...token, access_token: 'at-v6' }, stored_at: now } }), { mode: 0o600 });
    assert.equal((await runCli(['https://bücher.example', '--store', store])).stdout, 'at-idn\n');
    assert.equal((await runCli(['http://[::1]:8080', '--store', store])).stdout, 'at-v6\n');
  });
});
