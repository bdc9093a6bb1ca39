// Broken and hostile servers: every case ends in a typed AuthError, in time,
// with no unhandled rejection and no handle left open.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { AuthError, DeviceFlow, TokenStore } from '../src/index.ts';

type Behaviour = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-hostile-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function serve(behaviour: Behaviour): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits += 1;
    behaviour(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: () => hits,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Behaviour => (_req, res) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body));
};

/** Refresh against the server (1 s request timeout): resolves to the error, the time it took, and the handles left. */
const watched = () => process.getActiveResourcesInfo().filter((type) => /^(TCPSocketWrap|TCPServerWrap|Timeout|Immediate)$/.test(type)).sort();

async function refreshAgainst(behaviour: Behaviour) {
  const before = watched();
  const server = await serve(behaviour);
  const store = new TokenStore({ path: path.join(dir, `${Math.random()}.json`) });
  const started = Date.now();
  let error: unknown;
  try {
    await new DeviceFlow(server.url, { store, requestTimeout: 1 }).refresh('rt-secret-value');
  } catch (caught) {
    error = caught;
  }
  const elapsed = Date.now() - started;
  DeviceFlow.resetInstances();
  await server.close();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const left = watched();
  assert.ok(error instanceof AuthError, `a typed AuthError, not ${String(error)}`);
  assert.ok(!error.message.includes('rt-secret-value') && !JSON.stringify(error.detail ?? '').includes('rt-secret-value'));
  assert.deepEqual(left, before, 'no socket or timer left open');
  return { error, elapsed, hits: server.hits() };
}

describe('hostile servers', () => {
  it('connection reset: network, says what to check', async () => {
    const { error } = await refreshAgainst((req) => req.socket.destroy());
    assert.deepEqual([error.code, error.reason], ['network', 'connection_reset']);
    assert.match(error.message, /Could not reach .*: The connection to 127\.0\.0\.1:\d+ was closed before an answer came .* check the network/);
  });

  it('a server that never answers: network timeout within the limit', async () => {
    const { error, elapsed } = await refreshAgainst(() => {});
    assert.equal(error.code, 'network');
    assert.match(error.message, /did not answer within 1 s/);
    assert.ok(elapsed < 3000, `${elapsed} ms`);
  });

  it('a slow drip (headers, then a byte every 200 ms): cut off at the same limit', async () => {
    const { error, elapsed } = await refreshAgainst((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 200);
      res.on('close', () => clearInterval(timer));
    });
    assert.equal(error.code, 'network');
    assert.ok(elapsed < 3000, `${elapsed} ms`);
  });

  it('429 and 503 with Retry-After: temporarily_unavailable, with the status and when to retry', async () => {
    const busy = await refreshAgainst(json(429, { detail: 'slow down' }, { 'retry-after': '7' }));
    assert.deepEqual([busy.error.code, busy.error.status], ['temporarily_unavailable', 429]);
    assert.match(busy.error.message, /rate-limiting .* Try again in 7 s/);
    const down = await refreshAgainst(json(503, '<html>maintenance</html>', { 'retry-after': '120', 'content-type': 'text/html' }));
    assert.deepEqual([down.error.code, down.error.status], ['temporarily_unavailable', 503]);
    assert.match(down.error.message, /Try again in 120 s/);
  });

  it('an HTML 502 page, non-JSON with 200, wrong types and missing fields: clear codes with the status', async () => {
    const html = await refreshAgainst(json(502, '<html><h1>Bad Gateway</h1></html>', { 'content-type': 'text/html' }));
    assert.deepEqual([html.error.code, html.error.status], ['server_error', 502]);
    assert.match(html.error.message, /not JSON .*Bad Gateway/);
    const text = await refreshAgainst(json(200, 'OK then'));
    assert.deepEqual([text.error.code, text.error.status], ['invalid_response', 200]);
    const types = await refreshAgainst(json(200, { access_token: 12345, expires: 'soon' }));
    assert.equal(types.error.code, 'invalid_response');
    const missing = await refreshAgainst(json(200, { token_type: 'Bearer' }));
    assert.match(missing.error.message, /no access_token/);
  });

  it('an error sent with HTTP 200 is still an error, with its own code', async () => {
    const { error } = await refreshAgainst(json(200, { error: 'invalid_grant', error_description: 'token rt-secret-value was revoked' }));
    assert.deepEqual([error.code, error.status], ['invalid_grant', 200]);
  });

  it('a huge body is refused at the size cap', async () => {
    const { error } = await refreshAgainst((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"access_token":"${'x'.repeat(2 * 1024 * 1024)}"}`);
    });
    assert.equal(error.code, 'invalid_response');
    assert.match(error.message, /larger than 1048576 bytes/);
  });

  it('a redirect to another host is not followed (the refresh token never goes there)', async () => {
    const elsewhere = await serve(json(200, { access_token: 'stolen', token_type: 'Bearer' }));
    const { error } = await refreshAgainst((_req, res) => res.writeHead(307, { location: `${elsewhere.url}/token` }).end());
    assert.deepEqual([error.code, error.status], ['invalid_response', 307]);
    assert.match(error.message, /redirect .* not followed/);
    assert.equal(elsewhere.hits(), 0);
    await elsewhere.close();
  });

  it('no unhandled rejection in any case', () => {
    assert.deepEqual(unhandled, []);
  });
});
