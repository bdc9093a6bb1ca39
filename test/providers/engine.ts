// A scripted OpenID provider on loopback whose wire format comes from a
// profile: each profile (beside this file) reproduces one provider's
// documented discovery document, device and token answers, error answers and
// refresh behaviour, and names the documentation pages it follows.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** An answer: HTTP status and JSON body (or text with a content type). */
export interface Answer {
  status: number;
  body: unknown;
  contentType?: string;
}

/** What a provider does, as its documentation describes it. */
export interface Profile {
  name: string;
  /** The documentation pages this profile follows. */
  docs: string[];
  /** The issuer's path on the server (`/realms/demo`, `/tenant/v2.0`, ...); a trailing slash counts. */
  issuerPath: string;
  /** Whether `/.well-known/openid-configuration` exists (GitHub: no). */
  discovery: boolean;
  paths: { authorize?: string; token: string; device?: string };
  /** Extra fields of the discovery document. */
  extraDiscovery?: Record<string, unknown>;
  /** The device authorization answer for a new code. */
  deviceAnswer?(code: { device_code: string; user_code: string; base: string }): Answer;
  /** The poll answers before approval, on denial and on expiry. */
  pending?: Answer;
  denied?: Answer;
  expired?: Answer;
  /** A token answer (`rotate`: a new refresh token on refresh). */
  tokens(issued: { access: string; refresh: string; grant: string }): Answer;
  /** Whether a refresh returns a new refresh token. */
  rotates: boolean;
  /** The answer to an unknown, expired or revoked refresh token. */
  deadRefresh: Answer;
  /** The answer when the provider fails. */
  serverError: Answer;
  /** Redirect URIs matched exactly (no RFC 8252 any-port loopback rule): the registered ones. */
  exactRedirects?: string[];
  /** Adds `iss` to the authorization response (RFC 9207). */
  issInResponse?: boolean;
  /** Client authentication at the token endpoint: an answer refuses the request (`Basic` credentials decoded, if any). */
  checkClient?(basic: string | undefined): Answer | undefined;
}

/** What a test makes the provider do next. */
export type Mode = 'approve' | 'deny' | 'expire' | 'fail';

export interface RunningProvider {
  profile: Profile;
  base: string;
  issuer: string;
  /** Requests per path. */
  hits: Record<string, number>;
  /** What the next device login or refresh does. */
  mode: Mode;
  /** Refresh tokens that are alive. */
  liveRefreshTokens: Set<string>;
  /** Basic credentials seen at the token endpoint. */
  basic: string[];
  url(path: string): string;
  close(): Promise<void>;
}

const token = (prefix: string) => `${prefix}-${randomBytes(12).toString('base64url')}`;

function send(res: http.ServerResponse, answer: Answer): void {
  const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
  res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'application/json', 'cache-control': 'no-store' }).end(text);
}

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return new URLSearchParams(text);
}

/** Start `profile` on 127.0.0.1. */
export async function startProvider(profile: Profile): Promise<RunningProvider> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const devices = new Map<string, { polls: number }>();
  const codes = new Map<string, { redirectUri: string }>();
  const provider: RunningProvider = {
    profile,
    base,
    issuer: `${base}${profile.issuerPath}`,
    hits: {},
    mode: 'approve',
    liveRefreshTokens: new Set(),
    basic: [],
    url: (path) => `${base}${path}`,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
  const issue = (grant: string): Answer => {
    const answer = profile.tokens({ access: token('at'), refresh: token('rt'), grant });
    const refresh = (answer.body as { refresh_token?: unknown }).refresh_token;
    if (typeof refresh === 'string') provider.liveRefreshTokens.add(refresh);
    return answer;
  };
  server.on('request', (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', base);
      provider.hits[url.pathname] = (provider.hits[url.pathname] ?? 0) + 1;
      const header = req.headers.authorization;
      const basic = header?.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString() : undefined;
      if (basic !== undefined) provider.basic.push(basic);
      if (profile.discovery && url.pathname === `${profile.issuerPath.replace(/\/$/, '')}/.well-known/openid-configuration`) {
        return send(res, {
          status: 200,
          body: {
            issuer: provider.issuer,
            token_endpoint: provider.url(profile.paths.token),
            ...(profile.paths.authorize ? { authorization_endpoint: provider.url(profile.paths.authorize) } : {}),
            ...(profile.paths.device ? { device_authorization_endpoint: provider.url(profile.paths.device) } : {}),
            jwks_uri: provider.url('/jwks'),
            ...profile.extraDiscovery,
          },
        });
      }
      if (url.pathname === '/jwks') return send(res, { status: 200, body: { keys: [] } });
      if (profile.paths.device && url.pathname === profile.paths.device && req.method === 'POST' && profile.deviceAnswer) {
        await readForm(req);
        if (provider.mode === 'fail') return send(res, profile.serverError);
        const deviceCode = token('dc');
        devices.set(deviceCode, { polls: 0 });
        return send(res, profile.deviceAnswer({ device_code: deviceCode, user_code: 'WDJB-MJHT', base }));
      }
      if (profile.paths.authorize && url.pathname === profile.paths.authorize) {
        const redirectUri = url.searchParams.get('redirect_uri') ?? '';
        if (profile.exactRedirects && !profile.exactRedirects.includes(redirectUri)) {
          // As the providers do: an error page for the person, and no redirect back.
          return send(res, { status: 400, body: '<html><body>The redirect URI does not match the registered ones.</body></html>', contentType: 'text/html' });
        }
        const callback = new URL(redirectUri);
        if (provider.mode === 'deny') {
          callback.searchParams.set('error', 'access_denied');
        } else {
          const code = token('code');
          codes.set(code, { redirectUri });
          callback.searchParams.set('code', code);
        }
        callback.searchParams.set('state', url.searchParams.get('state') ?? '');
        if (profile.issInResponse) callback.searchParams.set('iss', provider.issuer);
        res.writeHead(302, { location: callback.toString() }).end();
        return;
      }
      if (url.pathname === profile.paths.token && req.method === 'POST') {
        const form = await readForm(req);
        const refused = profile.checkClient?.(basic);
        if (refused) return send(res, refused);
        const grant = form.get('grant_type') ?? '';
        if (provider.mode === 'fail') return send(res, profile.serverError);
        if (grant === 'urn:ietf:params:oauth:grant-type:device_code') {
          const device = devices.get(form.get('device_code') ?? '');
          if (!device) return send(res, profile.expired ?? profile.deadRefresh);
          device.polls += 1;
          if (provider.mode === 'deny') return send(res, profile.denied ?? profile.deadRefresh);
          if (provider.mode === 'expire') return send(res, profile.expired ?? profile.deadRefresh);
          if (device.polls === 1 && profile.pending) return send(res, profile.pending);
          devices.delete(form.get('device_code') ?? '');
          return send(res, issue(grant));
        }
        if (grant === 'authorization_code') {
          const code = codes.get(form.get('code') ?? '');
          if (!code || code.redirectUri !== form.get('redirect_uri')) return send(res, profile.deadRefresh);
          codes.delete(form.get('code') ?? '');
          return send(res, issue(grant));
        }
        if (grant === 'refresh_token') {
          const presented = form.get('refresh_token') ?? '';
          if (!provider.liveRefreshTokens.has(presented)) return send(res, profile.deadRefresh);
          if (!profile.rotates) {
            const answer = profile.tokens({ access: token('at'), refresh: presented, grant });
            const body = { ...(answer.body as Record<string, unknown>) };
            delete body.refresh_token; // RFC 6749 6: the old one stays in use.
            return send(res, { ...answer, body });
          }
          provider.liveRefreshTokens.delete(presented);
          return send(res, issue(grant));
        }
        return send(res, { status: 400, body: { error: 'unsupported_grant_type' } });
      }
      send(res, { status: 404, body: { error: 'not_found' } });
    })();
  });
  return provider;
}
