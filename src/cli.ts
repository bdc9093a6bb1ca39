#!/usr/bin/env node
// The oidc-auth command: a ready token on stdout; prompts and errors on stderr.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { authenticate } from './authenticate.ts';
import { isAuthError } from './errors.ts';
import { nowSeconds, tokenStatus } from './protocol/token.ts';
import { defaultStore } from './settings.ts';
import { TokenStore } from './token-store.ts';
import type { FlowKind } from './types.ts';

/** Documented exit codes. */
export const EXIT = { ok: 0, failed: 1, usage: 2, loginRequired: 3, cancelled: 130 } as const;

const HELP = `Usage: oidc-auth <host> [options]
       oidc-auth --list | --clear | --remove HOST

Print a valid access token for a py-oidc-auth application server: the cached
one, a refreshed one, or a new one after a device or browser login.

Options:
  -l, --login-route PATH   login route (default /auth/v2/login)
  -t, --token-route PATH   token route (default /auth/v2/token)
  -d, --device-route PATH  device route (default /auth/v2/device)
  -p, --ports LIST         callback ports, e.g. 53100-53105 or 8080,8081
      --flow KIND          auto | device | code (default auto)
      --force              log in again even if a token is cached
      --timeout SECONDS    time to finish an interactive login (default 600)
      --no-browser         never open a browser; print the URL only
      --app-name NAME      store folder name (default py-oidc-auth)
      --store PATH         token store file
      --json               print the whole token as JSON (usable as OIDC_TOKEN_FILE)
      --list               list stored hosts and their state
      --clear              remove every stored token
      --remove HOST        remove the token of HOST
      --version, --help

Exit codes: 0 ok, 1 authentication failed, 2 usage error,
            3 login required but no interactive session, 130 cancelled.

Examples:
  oidc-auth https://myapp.example.org
  curl -H "Authorization: Bearer $(oidc-auth https://myapp.example.org)" https://myapp.example.org/api
  oidc-auth https://myapp.example.org --json > token.json   # then OIDC_TOKEN_FILE=token.json in a batch job
`;

function parsePorts(text: string): number[] {
  const ports: number[] = [];
  for (const part of text.split(',')) {
    const range = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
    if (!range) throw new UsageError(`--ports: "${part}" is not a port or a range like 53100-53105`);
    const from = Number(range[1]);
    const to = Number(range[2] ?? range[1]);
    if (from < 1 || to > 65535 || to < from) throw new UsageError(`--ports: "${part}" is out of range`);
    for (let port = from; port <= to; port += 1) ports.push(port);
  }
  return ports;
}

class UsageError extends Error {}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'login-route': { type: 'string', short: 'l' },
        'token-route': { type: 'string', short: 't' },
        'device-route': { type: 'string', short: 'd' },
        ports: { type: 'string', short: 'p' },
        flow: { type: 'string' },
        force: { type: 'boolean' },
        timeout: { type: 'string' },
        'no-browser': { type: 'boolean' },
        'app-name': { type: 'string' },
        store: { type: 'string' },
        json: { type: 'boolean' },
        list: { type: 'boolean' },
        clear: { type: 'boolean' },
        remove: { type: 'string' },
        version: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
    if (values.help) return void out.write(HELP), EXIT.ok;
    if (values.version) return void out.write(`${version()}\n`), EXIT.ok;
    const store = values.store ? new TokenStore({ path: values.store }) : defaultStore(values['app-name']);
    if (values.list) {
      const now = nowSeconds();
      const rows = store.entries().map(({ host, token }) => ({ host, state: tokenStatus(token, now), expires: token.expires, refresh_expires: token.refresh_expires }));
      if (values.json) out.write(`${JSON.stringify(rows, undefined, 2)}\n`);
      else for (const row of rows) out.write(`${row.host}\t${row.state}\texpires ${new Date(row.expires * 1000).toISOString()}\n`);
      return EXIT.ok;
    }
    if (values.clear) {
      await store.clear();
      err.write(`Removed every token from ${store.path}\n`);
      return EXIT.ok;
    }
    if (values.remove !== undefined) {
      const found = await store.remove(values.remove);
      err.write(found ? `Removed the token of ${values.remove}\n` : `No token stored for ${values.remove}\n`);
      return EXIT.ok;
    }
    const [host, ...extra] = positionals;
    if (!host || extra.length > 0) throw new UsageError(host ? `unexpected arguments: ${extra.join(' ')}` : 'a host is required');
    const flow = (values.flow ?? 'auto') as FlowKind;
    if (!['auto', 'device', 'code'].includes(flow)) throw new UsageError(`--flow must be auto, device or code, not "${flow}"`);
    const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
    if (timeout !== undefined && !(timeout > 0)) throw new UsageError('--timeout must be a positive number of seconds');

    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    try {
      const token = await authenticate({
        host,
        store,
        loginRoute: values['login-route'],
        tokenRoute: values['token-route'],
        deviceRoute: values['device-route'],
        redirectPorts: values.ports === undefined ? undefined : parsePorts(values.ports),
        flow,
        force: values.force,
        timeout,
        openBrowser: values['no-browser'] ? false : undefined,
        signal: controller.signal,
      });
      out.write(values.json ? `${JSON.stringify(token, undefined, 2)}\n` : `${token.access_token}\n`);
      return EXIT.ok;
    } finally {
      process.off('SIGINT', onSigint);
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err.write(`oidc-auth: ${(error as Error).message}\nRun oidc-auth --help for usage.\n`);
      return EXIT.usage;
    }
    if (isAuthError(error)) {
      err.write(`oidc-auth: ${error.message}\n`);
      if (error.code === 'login_required') return EXIT.loginRequired;
      if (error.code === 'cancelled') return EXIT.cancelled;
      return EXIT.failed;
    }
    err.write(`oidc-auth: ${(error as Error).message}\n`);
    return EXIT.failed;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
