// py-oidc-auth in broker mode: the application server issues its own JWT
// instead of passing the identity provider's tokens through. Follows
// ../shared/ROUTE-CONTRACT.md (routes, form fields, FastAPI error shape) and
// the broker behaviour py-oidc-auth documents and issue #14 observed:
// `access_token` equals `refresh_token`, `expires` 30 days out while
// `refresh_expires` is minutes away, and a failure on the server's own side
// (an unknown session, a bad signature) is HTTP 401 with a plain `detail`.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BrokerServer {
  host: string;
  /** What the next poll or refresh does. */
  mode: 'approve' | 'deny' | 'session-ended' | 'invalid-token' | 'fail';
  sessions: Set<string>;
  hits: Record<string, number>;
  close(): Promise<void>;
}

const jwt = () => ['eyJhbGciOiJSUzI1NiJ9', Buffer.from(JSON.stringify({ sub: 'alice', sid: randomBytes(8).toString('hex') })).toString('base64url'), randomBytes(32).toString('base64url')].join('.');

export async function startBroker(): Promise<BrokerServer> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const broker: BrokerServer = {
    host: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    mode: 'approve',
    sessions: new Set(),
    hits: {},
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
  const polls = new Map<string, number>();
  const json = (res: http.ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const issue = (res: http.ServerResponse) => {
    const token = jwt();
    broker.sessions.add(token);
    const now = Math.floor(Date.now() / 1000);
    json(res, 200, { access_token: token, token_type: 'Bearer', expires: now + 30 * 86400, refresh_token: token, refresh_expires: now + 300, scope: 'openid offline_access' });
  };
  server.on('request', (req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', broker.host).pathname;
      broker.hits[path] = (broker.hits[path] ?? 0) + 1;
      let text = '';
      for await (const chunk of req) text += String(chunk);
      const form = new URLSearchParams(text);
      if (path === '/auth/v2/device' && req.method === 'POST') {
        if (broker.mode === 'fail') return json(res, 502, { detail: 'Failed to contact OIDC endpoint: [Errno 111] Connection refused' });
        const code = randomBytes(16).toString('hex');
        polls.set(code, 0);
        return json(res, 200, { device_code: code, user_code: 'BRKR-0001', verification_uri: `${broker.host}/device`, verification_uri_complete: null, expires_in: 600, interval: 1 });
      }
      if (path === '/auth/v2/token' && req.method === 'POST') {
        if (broker.mode === 'fail') return json(res, 502, { detail: 'Failed to contact OIDC endpoint: [Errno 111] Connection refused' });
        if (broker.mode === 'invalid-token') return json(res, 401, { detail: 'Invalid token' });
        const deviceCode = form.get('device-code');
        if (deviceCode !== null) {
          const count = (polls.get(deviceCode) ?? 0) + 1;
          polls.set(deviceCode, count);
          if (broker.mode === 'deny') return json(res, 400, { detail: 'Upstream OIDC error: {"error":"access_denied","error_description":"The end-user denied the authorization request"}' });
          if (count === 1) return json(res, 400, { detail: 'Upstream OIDC error: {"error":"authorization_pending","error_description":"authorization request is still pending"}' });
          return issue(res);
        }
        const refresh = form.get('refresh-token');
        if (refresh !== null) {
          if (broker.mode === 'session-ended' || !broker.sessions.has(refresh)) return json(res, 401, { detail: 'Session expired or not found. Please re-authenticate.' });
          broker.sessions.delete(refresh);
          return issue(res);
        }
        return json(res, 400, { detail: 'Missing (device) code or refresh_token' });
      }
      json(res, 404, { detail: 'Not Found' });
    })();
  });
  return broker;
}
