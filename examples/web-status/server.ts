// A small web page that shows a login as it happens: a Node process runs
// authenticate() and streams the secret-free state views to the page over
// Server-Sent Events; the page shows the state, the device code with a QR
// code, the countdown and the outcome.
//
//   node examples/web-status/server.ts https://myapp.example.org
//   node examples/web-status/server.ts --issuer https://idp.example.org --client-id my-cli
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { renderSVG } from 'uqr';
import { authenticate, authState, type AuthenticateOptions, type AuthStateView, type Token } from '../../src/index.ts';

const page = fs.readFileSync(path.join(import.meta.dirname, 'page.html'), 'utf8');

/** A running status page and the login it shows. */
export interface WebStatus {
  url: string;
  /** The login's outcome. */
  login: Promise<Token>;
  close(): Promise<void>;
}

function payload(view: AuthStateView): string {
  const qrSvg = view.deviceCode ? renderSVG(view.deviceCode.uri) : undefined;
  return `data: ${JSON.stringify({ ...view, qrSvg })}\n\n`;
}

/** Serve the page on 127.0.0.1 (`port` 0 = any free port) and start the login. */
export async function startWebStatus(options: AuthenticateOptions & { port?: number }): Promise<WebStatus> {
  const state = authState(options);
  const clients = new Set<http.ServerResponse>();
  let port = 0;
  const server = http.createServer((req, res) => {
    // A page of another site that rebinds its name to 127.0.0.1 sends its own name as Host: it gets nothing.
    if (req.headers.host !== `127.0.0.1:${port}` && req.headers.host !== `localhost:${port}`) {
      res.writeHead(421, { 'content-type': 'text/plain' });
      return void res.end('This page answers only on 127.0.0.1 and localhost.\n');
    }
    if (req.url === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      clients.add(res);
      res.write(payload(state.view));
      req.on('close', () => clients.delete(res));
      return;
    }
    if (req.url === '/' || req.url === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      return void res.end(page);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  const subscription = state.subscribe((view) => {
    for (const client of clients) client.write(payload(view));
  });
  const login = authenticate({ openBrowser: false, onDeviceCode: () => {}, onLoginUrl: () => {}, ...options });
  login.catch(() => {}); // the page shows the failure
  return {
    url: `http://127.0.0.1:${port}/`,
    login,
    close: () => new Promise((resolve) => {
      subscription.unsubscribe();
      for (const client of clients) client.end();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { issuer: { type: 'string' }, 'client-id': { type: 'string' }, port: { type: 'string' } } });
  const status = await startWebStatus({
    host: positionals[0], issuer: values.issuer, clientId: values['client-id'], interactive: true, port: Number(values.port ?? 0),
  });
  process.stderr.write(`Open ${status.url} to follow the login.\n`);
  await status.login.then(
    (token) => process.stderr.write(`Logged in; the token expires at ${new Date(token.expires * 1000).toISOString()}.\n`),
    (error: Error) => process.stderr.write(`Login failed: ${error.message}\n`),
  );
  setTimeout(() => void status.close(), 5000).unref(); // let the page show the outcome
}
