// Everything the CLI does beyond printing a valid cached token: logins,
// listing, removing, help. Loaded only when the fast path cannot answer.
import { isAuthError } from '../errors.ts';
import { joinUrl, normalizeHost } from '../protocol/host.ts';
import { nowSeconds, tokenStatus } from '../protocol/token.ts';
import { clearStore, listLogins, removeToken, storedToken, type TokenStoreBackend } from '../adapters/store/contract.ts';
import { UsageError, type Command, type LoginChoice } from './args.ts';
import { EXIT, formatProof, formatToken, loginKey, openStore, serverKey, type CliIo } from './common.ts';
import { clientSecret, obtainToken, serverLabel } from './obtain.ts';
import { rememberAccount } from '../adapters/store/accounts.ts';
import { accountOfKey, DEFAULT_ACCOUNT, serverOfKey, storeKey, withAccount } from '../protocol/store-key.ts';
import { answerAtOnce } from './help.ts';
import { relativeTime, styles, terminalInfo } from './terminal.ts';

async function list(command: Extract<Command, { kind: 'list' }>, io: CliIo): Promise<number> {
  const store = await openStore(command);
  const now = nowSeconds();
  const rows = (await listLogins(store)).map((login) => ({
    host: login.host,
    server: login.server,
    account: login.account,
    who: login.who?.name ?? null,
    state: tokenStatus({ expires: login.expires, refresh_expires: login.refresh_expires, refresh_token: login.refreshable ? 'stored' : '' }, now),
    expires: login.expires,
    refresh_expires: login.refresh_expires,
    scope: login.scope,
    ...(login.where === undefined ? {} : { where: login.where }),
  }));
  if (command.json) {
    io.out.write(`${JSON.stringify({ store: store.id, storage: store.description, hosts: rows }, undefined, 2)}\n`);
    return EXIT.ok;
  }
  if (rows.length === 0) {
    io.err.write(`No tokens stored in ${store.description}\n`);
    return EXIT.ok;
  }
  io.err.write(`Tokens in ${store.description}:\n`);
  const s = styles(terminalInfo(io.out, io.env).color);
  const paint = { valid: s.green, refreshable: s.yellow, expired: s.red };
  const when = (time: number) => (time > 0 ? `${new Date(time * 1000).toISOString().slice(0, 16).replace('T', ' ')}Z (${relativeTime(time, now)})` : '-');
  // A store that keeps logins in more than one place (the keyring, and a plaintext file it fell back to) says where each is.
  const where = rows.some((row) => row.where !== undefined);
  const table = [
    ['SERVER', 'ACCOUNT', 'WHO', 'STATE', 'ACCESS TOKEN EXPIRES', 'REFRESH TOKEN EXPIRES', ...(where ? ['KEPT IN'] : [])],
    ...rows.map((row) => [row.server, row.account, row.who ?? '-', row.state, when(row.expires), when(row.refresh_expires), ...(where ? [row.where ?? ''] : [])]),
  ];
  const widths = table[0]?.map((_, column) => Math.max(...table.map((line) => line[column]?.length ?? 0))) ?? [];
  table.forEach((line, index) => {
    const cells = line.map((cell, column) => {
      const padded = column === line.length - 1 ? cell : cell.padEnd(widths[column] ?? 0);
      if (index === 0) return s.bold(padded);
      return column === 3 ? paint[cell as keyof typeof paint](padded) : padded;
    });
    io.out.write(`${cells.join('  ')}\n`);
  });
  return EXIT.ok;
}

async function logout(command: LoginChoice, io: CliIo): Promise<number> {
  const store = await openStore(command);
  const key = await loginKey(command, store.id, io.env);
  const label = serverLabel(command, key);
  const token = await storedToken(store, key);
  if (command.issuer !== undefined && token) {
    // A standard provider: revoke the refresh token (or else the access token) where it offers revocation.
    const { Client } = await import('../servers/client/client.ts');
    try {
      const client = await Client.discover(command.issuer, command.clientId ?? '', { clientSecret: clientSecret(command, io) });
      if (client.configuration.revocation_endpoint) {
        await client.revokeToken(token.refresh_token || token.access_token, token.refresh_token ? 'refresh_token' : 'access_token');
        io.err.write(`Revoked the ${token.refresh_token ? 'refresh' : 'access'} token at ${command.issuer}.\n`);
      } else {
        io.err.write(`${command.issuer} offers no revocation endpoint; the token stays valid until it expires.\n`);
      }
      if (client.configuration.end_session_endpoint) {
        // Without id_token_hint: the hint is the whole ID token, which would land in the terminal's scrollback and the browser's history.
        io.err.write(`To end the session at the provider as well, open ${client.endSessionUrl()}\n` +
          '(The URL leaves out id_token_hint so that your ID token is not printed; the provider may ask which session to end.)\n');
      }
    } catch (error) {
      io.err.write(`Could not revoke the token (${(error as Error).message}); removing it here anyway.\n`);
    }
  }
  const found = await removeToken(store, key);
  io.err.write(found ? `Removed the token of ${label} from ${store.id}.\n` : `No token stored for ${label} in ${store.id}.\n`);
  if (command.issuer === undefined) {
    // The py-oidc-auth routes have no revocation route; the session at the
    // identity provider ends through the logout route in a browser.
    const logoutRoute = (command.loginRoute ?? '/auth/v2/login').replace(/login\/?$/, 'logout');
    io.err.write(`To end the session at the identity provider as well, open ${joinUrl(normalizeHost(command.host ?? ''), logoutRoute)}\n`);
  }
  return EXIT.ok;
}

async function login(command: Extract<Command, { kind: 'token' }>, io: CliIo): Promise<number> {
  const { token } = await obtainToken(command, io);
  io.out.write(command.proof ? await formatProof(token, command.proof.method, command.proof.url) : formatToken(token, command.output));
  return EXIT.ok;
}

/** ` (account "work")` for a named account's key, else nothing. */
function accountWords(key: string): string {
  const account = accountOfKey(key);
  return account === DEFAULT_ACCOUNT ? '' : ` (account "${account}")`;
}

/**
 * The key --remove and --export act on: the server (a host or a key from
 * --list) with --account's account. A named account that is not stored is
 * an error that names the accounts there are, so that a typo removes nothing.
 */
async function storedKey(store: TokenStoreBackend, server: string, account: string | undefined): Promise<string> {
  const key = withAccount(storeKey(server), account ?? accountOfKey(storeKey(server)));
  if (account === undefined) return key;
  const logins = await listLogins(store);
  if (logins.some((login) => login.host === key)) return key;
  const accounts = logins.filter((login) => login.server === serverOfKey(key)).map((login) => login.account);
  throw new UsageError(`--account: no account "${account}" of ${serverOfKey(key)} is stored in ${store.id}. ` +
    (accounts.length > 0 ? `Stored accounts there: ${accounts.join(', ')}.` : 'No account of that server is stored there; oidc-auth --list shows what is.'));
}

/** `switch SERVER ACCOUNT`: remember the server's default account in this store. */
async function switchAccount(command: Extract<Command, { kind: 'switch' }>, io: CliIo): Promise<number> {
  const store = await openStore(command);
  const server = serverKey(command);
  const file = rememberAccount(store.id, server, command.account);
  const stored = (await listLogins(store)).some((login) => login.host === withAccount(server, command.account));
  io.err.write(`${server} now uses the account "${command.account}" in ${store.id} unless --account or OIDC_AUTH_ACCOUNT says otherwise (remembered in ${file}).\n` +
    (stored ? '' : `That account has no login stored yet; the next oidc-auth ${command.host ?? `--issuer ${command.issuer}`} logs it in.\n`));
  return EXIT.ok;
}

/** Report a failure on stderr and pick the exit code. */
export function report(error: unknown, io: CliIo): number {
  const s = styles(terminalInfo(io.err, io.env).color);
  if (error instanceof UsageError) {
    io.err.write(`oidc-auth: ${error.message}\nRun oidc-auth --help for usage.\n`);
    return EXIT.usage;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (isAuthError(error) && error.code === 'cancelled') {
    io.err.write(`oidc-auth: cancelled.\n`);
    return EXIT.cancelled;
  }
  io.err.write(`oidc-auth: ${s.red('error:')} ${message}\n`);
  return isAuthError(error) && error.code === 'login_required' ? EXIT.loginRequired : EXIT.failed;
}

/** Run a parsed command. */
export async function run(command: Command, io: CliIo): Promise<number> {
  try {
    switch (command.kind) {
      case 'help':
      case 'version':
        io.out.write(answerAtOnce(command.kind));
        return EXIT.ok;
      case 'list':
        return await list(command, io);
      case 'clear': {
        const store = await openStore(command);
        await clearStore(store);
        io.err.write(`Removed every token from ${store.id}\n`);
        return EXIT.ok;
      }
      case 'remove': {
        const store = await openStore(command);
        const key = await storedKey(store, command.host, command.account);
        const found = await removeToken(store, key);
        io.err.write(found ? `Removed the token of ${command.host}${accountWords(key)}\n` : `No token stored for ${command.host}\n`);
        return EXIT.ok;
      }
      case 'export': {
        // For the Python client, or OIDC_TOKEN_FILE elsewhere: the stored login as it is, without a request.
        const store = await openStore(command);
        const key = await storedKey(store, command.host, command.account);
        const token = await storedToken(store, key);
        if (!token) {
          io.err.write(`No token stored for ${command.host}${accountWords(key)} in ${store.description}. Log in first: oidc-auth ${command.host}${command.account ? ` --account ${command.account}` : ''}\n`);
          return EXIT.loginRequired;
        }
        io.out.write(formatToken(token, 'json'));
        return EXIT.ok;
      }
      case 'logout':
        return await logout(command, io);
      case 'switch':
        return await switchAccount(command, io);
      case 'token':
        return await login(command, io);
      case 'credential':
      case 'setup':
      case 'exec':
        return await (await import('./tools.ts')).runTool(command, io);
      case 'agent':
        return await (await import('./agent.ts')).runAgentCommand(command, io);
    }
  } catch (error) {
    return report(error, io);
  }
}
