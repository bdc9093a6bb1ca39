import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AuthError } from '../../errors.ts';
import { parseCallbackQuery, sameText, type CallbackParams } from '../../protocol/callback.ts';
import { peerOwnership, type PeerOwnership } from './socket-owner.ts';

/** A running loopback receiver for the code-flow redirect. */
export interface CallbackServer {
  port: number;
  /** `http://localhost:<port>/callback`, the exact URI the login was started with. */
  redirectUri: string;
  /**
   * `http://localhost:<port>/login/<one-time secret>`: the URL to show and
   * open. It redirects to the login target, so the provider URL and its
   * `state` never have to be printed, shown in a UI or sent to an inspector.
   * It works once: the browser that opens it gets a cookie that the
   * callback must carry.
   */
  startUrl: string;
  /** Where `/login` redirects: the identity provider's URL for this login. */
  setLoginTarget(url: string, renew?: () => Promise<string>): void;
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
   * When none of `ports` can be had, listen on a port the system chooses
   * (RFC 8252 7.3: a provider accepts any loopback port). For standard
   * providers; a py-oidc-auth server's provider registers exact ports.
   */
  fallbackToAnyPort?: boolean | undefined;
  /**
   * `localhost` (default; serves 127.0.0.1 and ::1, the py-oidc-auth
   * redirect) or `127.0.0.1` (RFC 8252 8.3: IPv4 loopback only).
   */
  hostname?: 'localhost' | '127.0.0.1' | undefined;
  /** Whether a callback belongs to this login (its exact `state`). Anything else gets 400 and is not taken. */
  matches: (params: CallbackParams, redirectUri: string) => boolean;
  /** Called once, with the first callback that belongs to this login. */
  onCallback(params: CallbackParams): void;
  /**
   * Whether a callback must come from the browser that opened
   * {@link CallbackServer.startUrl} (its cookie). `false` only where the
   * browser is sent straight to the provider. @default true
   */
  bindToBrowser?: boolean | undefined;
  /** Told once for each kind of refused request (another user, the login address reused, a callback from another client), without secrets. */
  onRefused?: ((message: string) => void) | undefined;
}

/** What was refused, for {@link CallbackServerOptions.onRefused}. */
type Refusal = 'other-user' | 'address-reused' | 'foreign-callback';

const MAX_URL_LENGTH = 8192;

/** Escape text for HTML. Every reflected value goes through it. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function page(title: string, message: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
    `<body style="font-family:sans-serif;max-width:40em;margin:4em auto"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>`;
}

/** Refuse with a bare status and nothing else said. */
function refuseBare(res: http.ServerResponse, status: number): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { 'content-length': '0', 'cache-control': 'no-store', connection: 'close' });
  res.end();
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

/** The value of cookie `name` in a `Cookie` header. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return undefined;
}

const REFUSALS: Record<Refusal, (port: number) => string> = {
  'other-user': (port) => `Another user's connection to the login port ${port} was refused: only your own programs (your browser, your SSH forward) may use it.`,
  'address-reused': () => 'The login address was opened a second time and was refused: only the first browser that opened it can finish this login. ' +
    'If that was not you, another program on this machine knows the address: press Ctrl-C and start the login again.',
  'foreign-callback': () => 'A login callback from another client than the browser that opened the login address was refused. ' +
    'Finish the login in that browser; if you did not send it, another program on this machine tried to log you in.',
};

/**
 * Serve `/callback` and the one-time `/login/<secret>` on `localhost` (both
 * 127.0.0.1 and ::1) at the first free port of `ports`. A connection from
 * another user's socket gets a bare 403 (Linux); a request whose `Host` is
 * not a loopback name gets 421 (DNS rebinding); stray requests
 * (`/favicon.ico`) get 404 and do not end the flow; the login address a
 * second time gets 403; a callback without this login's exact state gets
 * 400, and one without the cookie of the browser that opened the login
 * address 403; only the first matching callback counts, and its page waits
 * for {@link CallbackServer.respond}.
 */
export async function startCallbackServer(options: CallbackServerOptions): Promise<CallbackServer> {
  let redirectUri = '';
  let listeningPort = 0;
  let loginTarget: string | undefined;
  /** Asked for the target when the login address is opened (a pushed request may have expired meanwhile). */
  let renewTarget: (() => Promise<string>) | undefined;
  let held: http.ServerResponse | undefined;
  let accepted = false;
  /** The login address's one-time part, and the cookie its first browser gets. */
  const loginSecret = randomBytes(32).toString('base64url');
  const browserSecret = randomBytes(32).toString('base64url');
  let loginOpened = false;
  const bindToBrowser = options.bindToBrowser ?? true;
  const told = new Set<Refusal>();
  const refused = (kind: Refusal) => {
    if (told.has(kind)) return;
    told.add(kind);
    try {
      options.onRefused?.(REFUSALS[kind](listeningPort));
    } catch {
      // A throwing callback must not break the login.
    }
  };
  // Who owns each connection, asked once when it is accepted (the client's socket is then surely there).
  const owners = new WeakMap<Socket, Promise<PeerOwnership>>();
  const ownerOfConnection = (socket: Socket) => {
    let owner = owners.get(socket);
    if (!owner) {
      owner = peerOwnership(socket).catch((): PeerOwnership => ({ verdict: 'other', uid: undefined }));
      owners.set(socket, owner);
    }
    return owner;
  };
  const cookieName = () => `oidc-auth-login-${listeningPort}`;

  const serve = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if ((req.url ?? '').length > MAX_URL_LENGTH) return void send(res, 414, 'Request too long', 'This request is too long.');
    if (!isLoopbackHost(req.headers.host, listeningPort)) return void send(res, 421, 'Wrong host', 'This server answers only on localhost.');
    if (req.method !== 'GET') return void send(res, 405, 'Method not allowed', 'Only GET is served here.');
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/login/') && sameText(url.pathname.slice('/login/'.length), loginSecret)) {
      if (accepted) return void send(res, 409, 'Login already finished', 'This login has already received its answer. Return to the terminal.');
      if (!loginTarget) return void send(res, 503, 'Not ready', 'The login is not ready yet. Reload this page in a moment.');
      if (loginOpened) {
        refused('address-reused');
        return void send(res, 403, 'Login address already used', 'This login address has already been opened, and it works only once. ' +
          'If you opened it before, finish the login in that window. If not, someone else may have: return to the terminal, cancel and start the login again.');
      }
      loginOpened = true;
      const target = renewTarget ? renewTarget().then((url) => (loginTarget = url)) : Promise.resolve(loginTarget);
      return void target.then((location) => {
        res.writeHead(302, {
          location,
          'set-cookie': `${cookieName()}=${browserSecret}; HttpOnly; SameSite=Lax; Path=/`,
          'cache-control': 'no-store',
          'referrer-policy': 'no-referrer',
          connection: 'close',
        });
        res.end();
      }, (error: unknown) => {
        loginOpened = false; // Nothing was sent to the provider: the person may try again.
        void send(res, 502, 'The login could not start', `The identity provider could not be asked to start the login (${error instanceof Error ? error.message : String(error)}). Reload this page to try again, or return to the terminal.`);
      });
    }
    if (url.pathname !== '/callback') return void send(res, 404, 'Not found', 'Nothing here.');
    if (accepted) return void send(res, 409, 'Login already finished', 'This login has already received its answer. Return to the terminal.');
    const params = parseCallbackQuery(url.searchParams);
    if (!options.matches(params, redirectUri)) {
      return void send(res, 400, 'Not this login', 'This callback does not belong to the login in progress. Return to the terminal and start the login again if needed.');
    }
    if (bindToBrowser && !sameText(cookieValue(req.headers.cookie, cookieName()) ?? '', browserSecret)) {
      refused('foreign-callback');
      return void send(res, 403, 'Not from the login\'s browser', 'This callback did not come from the browser that opened the login address, so it was refused. ' +
        'Finish the login in the browser where it started.');
    }
    accepted = true;
    held = res;
    options.onCallback(params);
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    void ownerOfConnection(req.socket).then((owner) => {
      if (owner.verdict === 'other') {
        refused('other-user');
        return refuseBare(res, 403);
      }
      serve(req, res);
    });
  };

  const createServer = () => {
    const server = http.createServer(handler);
    server.on('connection', (socket: Socket) => void ownerOfConnection(socket));
    return server;
  };

  const servers: http.Server[] = [];
  /** Why each port could not be had, in order. */
  const failures: unknown[] = [];
  const ports = options.fallbackToAnyPort && !options.ports.includes(0) ? [...options.ports, 0] : options.ports;
  for (const port of ports) {
    const v4 = createServer();
    try {
      await listen(v4, port, '127.0.0.1');
    } catch (error) {
      // Busy (EADDRINUSE) or reserved / not allowed (EACCES, Windows' excluded ranges): the next port.
      failures.push(error);
      continue;
    }
    const actual = (v4.address() as AddressInfo).port;
    listeningPort = actual;
    const hostname = options.hostname ?? 'localhost';
    servers.push(v4);
    if (hostname === 'localhost') {
      // `localhost` may resolve to ::1 in the browser: serve it there too.
      const v6 = createServer();
      try {
        await listen(v6, actual, '::1');
        servers.push(v6);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          // Someone else answers localhost on IPv6 at this port: the browser might reach them. Next port.
          failures.push(error);
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
      startUrl: `http://${hostname}:${actual}/login/${loginSecret}`,
      setLoginTarget(url, renew) {
        loginTarget = url;
        renewTarget = renew;
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
  const lastError = failures.at(-1);
  if (failures.length > 0 && failures.every(isBindRefused)) {
    throw new AuthError('port_unavailable', `The callback ports (${tried}) are reserved or not allowed for this user, not busy (${(lastError as Error).message}). ` +
      'On Windows, Hyper-V and WSL reserve port ranges: see `netsh interface ipv4 show excludedportrange protocol=tcp`. ' +
      'Pass ports outside those ranges (redirectPorts, -p), or use the device flow.', { cause: lastError });
  }
  throw new AuthError('port_unavailable', `None of the callback ports (${tried}) is free on localhost (${(lastError as Error | undefined)?.message ?? 'no ports given'}). ` +
    'Close the program that holds them, pass other ports (redirectPorts, -p), or use the device flow.', { cause: lastError });
}

/** Whether binding failed because the port is reserved or not allowed (EACCES; Windows' WSAEACCES, 10013), not because it is busy. */
export function isBindRefused(error: unknown): boolean {
  const { code, errno } = (error ?? {}) as { code?: unknown; errno?: unknown };
  return code === 'EACCES' || code === 'WSAEACCES' || errno === 10013 || errno === -10013;
}
