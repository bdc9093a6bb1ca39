import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthError } from '../errors.ts';
import { parseCallbackQuery, type CallbackParams } from '../protocol/callback.ts';

/** A running loopback receiver for the code-flow redirect. */
export interface CallbackServer {
  port: number;
  /** `http://localhost:<port>/callback`, the exact URI the login was started with. */
  redirectUri: string;
  /**
   * `http://localhost:<port>/login`: the URL to show and open. It redirects
   * to the login target, so the provider URL and its `state` never have to
   * be printed, shown in a UI or sent to an inspector.
   */
  startUrl: string;
  /** Where `/login` redirects: the identity provider's URL for this login. */
  setLoginTarget(url: string): void;
  /** Answer the browser's held callback request with the real outcome. */
  respond(ok: boolean, message: string): Promise<void>;
  /** Stop listening and drop every connection; answers a held request first. */
  close(): Promise<void>;
}

/** Options for {@link startCallbackServer}. */
export interface CallbackServerOptions {
  /** Ports tried in order; 0 = any free port. */
  ports: readonly number[];
  /**
   * `localhost` (default; serves 127.0.0.1 and ::1, the py-oidc-auth
   * redirect) or `127.0.0.1` (RFC 8252 8.3: IPv4 loopback only).
   */
  hostname?: 'localhost' | '127.0.0.1' | undefined;
  /** Whether a callback belongs to this login (its exact `state`). Anything else gets 400 and is not taken. */
  matches: (params: CallbackParams, redirectUri: string) => boolean;
  /** Called once, with the first callback that belongs to this login. */
  onCallback(params: CallbackParams): void;
}

const MAX_URL_LENGTH = 8192;

/** Escape text for HTML. Every reflected value goes through it. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function page(title: string, message: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
    `<body style="font-family:sans-serif;max-width:40em;margin:4em auto"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>`;
}

function send(res: http.ServerResponse, status: number, title: string, message: string): Promise<void> {
  return new Promise((resolve) => {
    if (res.writableEnded || res.destroyed) return resolve();
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      connection: 'close',
    });
    res.end(page(title, message), () => resolve());
  });
}

function listen(server: http.Server, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port, host: address, exclusive: true });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** The `Host` names a browser uses for a loopback server: anything else is a DNS-rebinding page. */
function isLoopbackHost(host: string | undefined, port: number): boolean {
  return host === `localhost:${port}` || host === `127.0.0.1:${port}` || host === `[::1]:${port}`;
}

/**
 * Serve `/callback` and `/login` on `localhost` (both 127.0.0.1 and ::1) at
 * the first free port of `ports`. A request whose `Host` is not a loopback
 * name gets 421 (DNS rebinding); stray requests (`/favicon.ico`) get 404 and
 * do not end the flow; a callback without this login's exact state gets 400;
 * only the first matching callback counts, and its page waits for
 * {@link CallbackServer.respond}.
 */
export async function startCallbackServer(options: CallbackServerOptions): Promise<CallbackServer> {
  let redirectUri = '';
  let listeningPort = 0;
  let loginTarget: string | undefined;
  let held: http.ServerResponse | undefined;
  let accepted = false;

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if ((req.url ?? '').length > MAX_URL_LENGTH) return void send(res, 414, 'Request too long', 'This request is too long.');
    if (!isLoopbackHost(req.headers.host, listeningPort)) return void send(res, 421, 'Wrong host', 'This server answers only on localhost.');
    if (req.method !== 'GET') return void send(res, 405, 'Method not allowed', 'Only GET is served here.');
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/login') {
      if (accepted) return void send(res, 409, 'Login already finished', 'This login has already received its answer. Return to the terminal.');
      if (!loginTarget) return void send(res, 503, 'Not ready', 'The login is not ready yet. Reload this page in a moment.');
      res.writeHead(302, { location: loginTarget, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', connection: 'close' });
      return void res.end();
    }
    if (url.pathname !== '/callback') return void send(res, 404, 'Not found', 'Nothing here.');
    if (accepted) return void send(res, 409, 'Login already finished', 'This login has already received its answer. Return to the terminal.');
    const params = parseCallbackQuery(url.searchParams);
    if (!options.matches(params, redirectUri)) {
      return void send(res, 400, 'Not this login', 'This callback does not belong to the login in progress. Return to the terminal and start the login again if needed.');
    }
    accepted = true;
    held = res;
    options.onCallback(params);
  };

  const servers: http.Server[] = [];
  let lastError: unknown;
  for (const port of options.ports) {
    const v4 = http.createServer(handler);
    try {
      await listen(v4, port, '127.0.0.1');
    } catch (error) {
      lastError = error;
      continue;
    }
    const actual = (v4.address() as AddressInfo).port;
    listeningPort = actual;
    const hostname = options.hostname ?? 'localhost';
    servers.push(v4);
    if (hostname === 'localhost') {
      // `localhost` may resolve to ::1 in the browser: serve it there too.
      const v6 = http.createServer(handler);
      try {
        await listen(v6, actual, '::1');
        servers.push(v6);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          // Someone else answers localhost on IPv6 at this port: the browser might reach them. Next port.
          lastError = error;
          servers.length = 0;
          await closeServer(v4);
          continue;
        }
        // No IPv6 loopback here; 127.0.0.1 alone is enough.
      }
    }
    redirectUri = `http://${hostname}:${actual}/callback`;
    return {
      port: actual,
      redirectUri,
      startUrl: `http://${hostname}:${actual}/login`,
      setLoginTarget(url) {
        loginTarget = url;
      },
      async respond(ok, message) {
        const res = held;
        held = undefined;
        if (res) await send(res, ok ? 200 : 400, ok ? 'Login successful' : 'Login failed', message);
      },
      async close() {
        const res = held;
        held = undefined;
        if (res) await send(res, 400, 'Login ended', 'The login ended before it finished. Return to the terminal.');
        await Promise.all(servers.map(closeServer));
      },
    };
  }
  const tried = options.ports.join(', ');
  throw new AuthError('port_unavailable', `None of the callback ports (${tried}) is free on localhost (${(lastError as Error | undefined)?.message ?? 'no ports given'}). ` +
    'Close the program that holds them, pass other ports (redirectPorts, -p), or use the device flow.', { cause: lastError });
}
