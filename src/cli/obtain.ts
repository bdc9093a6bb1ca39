// How every command that needs a token gets one: the cached one, a refresh,
// or a login shown on stderr (device code with QR code and spinner, or the
// browser login), with Ctrl-C handled.
import fs from 'node:fs';
import { authenticate } from '../api/authenticate.ts';
import type { ClientCertificate } from '../adapters/http/proxy.ts';
import { DEFAULT_LOGIN_TIMEOUT } from '../api/settings.ts';
import type { TokenStoreBackend } from '../adapters/store/contract.ts';
import { setDebugLogger } from '../debug.ts';
import { normalizeHost } from '../protocol/host.ts';
import { accountOfKey, DEFAULT_ACCOUNT } from '../protocol/store-key.ts';
import { nowSeconds } from '../protocol/token.ts';
import type { Token } from '../types.ts';
import { UsageError, type LoginChoice } from './args.ts';
import { EXIT, loginKey, openStore, type CliIo } from './common.ts';
import { deviceCodeText, loginUrlText, relativeTime, Spinner, styles, terminalInfo } from './terminal.ts';

export function clientSecret(command: LoginChoice, io: CliIo): string | undefined {
  if (command.clientSecretEnv === undefined) return undefined;
  const secret = io.env[command.clientSecretEnv];
  if (!secret) throw new UsageError(`--client-secret-env ${command.clientSecretEnv}: that variable is not set`);
  return secret;
}

/** The client certificate of --client-cert/--client-key or --client-pkcs12 (its passphrase from --client-passphrase-env), read from its files. */
export function clientCertificate(command: LoginChoice, io: CliIo): ClientCertificate | undefined {
  const { certFile, keyFile, pkcs12File, passphraseEnv } = command.certificate ?? {};
  if (certFile === undefined && pkcs12File === undefined) return undefined;
  const read = (option: string, file: string) => {
    try {
      return fs.readFileSync(file);
    } catch (error) {
      throw new UsageError(`${option} ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    }
  };
  const passphrase = passphraseEnv === undefined ? undefined : io.env[passphraseEnv];
  if (passphraseEnv !== undefined && !passphrase) throw new UsageError(`--client-passphrase-env ${passphraseEnv}: that variable is not set`);
  if (pkcs12File !== undefined) return { pfx: read('--client-pkcs12', pkcs12File), passphrase };
  return { cert: read('--client-cert', certFile ?? ''), key: read('--client-key', keyFile ?? ''), passphrase };
}

/** What the login talks to, for messages: the host, or the issuer and client, and the account when it is not the default. */
export function serverLabel(command: LoginChoice, key?: string): string {
  const account = key === undefined ? DEFAULT_ACCOUNT : accountOfKey(key);
  const server = command.issuer !== undefined ? `${command.issuer} (client ${command.clientId})` : normalizeHost(command.host ?? '');
  return account === DEFAULT_ACCOUNT ? server : `${server}, account "${account}"`;
}

/** One line from stdin (the address the browser ended on), or a rejection once `signal` aborts. */
function readLine(io: CliIo, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    io.err.write('Or paste the address your browser ended on after the login (it may fail to load there), then press Enter:\n');
    // terminal: false keeps the terminal as it is, so Ctrl-C still interrupts.
    void import('node:readline').then((readline) => {
      if (signal.aborted) return reject(new Error('stopped'));
      const lines = readline.createInterface({ input: process.stdin, terminal: false });
      const finish = () => {
        lines.close();
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        finish();
        reject(new Error('stopped'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      lines.once('line', (line) => {
        finish();
        resolve(line);
      });
    });
  });
}

/** How a tool command may differ from the token command when it asks for a token. */
export interface ObtainOptions {
  /** Decided by the caller (kubectl's spec.interactive, git's terminal), with why not. */
  interactive?: { interactive: boolean; why: string } | undefined;
  /** Whether stdin may be read for a pasted address (not when stdin is git's pipe). @default true */
  stdinIsOurs?: boolean | undefined;
  /** Ask the store to give a new token even if the stored one is valid (git said it was refused). */
  force?: boolean | undefined;
}

/**
 * A token for a login command: the cached one, a refresh, or a login shown
 * on stderr (device code with QR code and spinner, or the browser login).
 * Resolves with what a command needs to report it.
 */
export async function obtainToken(command: LoginChoice, io: CliIo, options: ObtainOptions = {}): Promise<{ token: Token; key: string; store: TokenStoreBackend }> {
  const info = terminalInfo(io.err, io.env, { plain: command.plain });
  if (command.verbose) setDebugLogger((line) => void io.err.write(`oidc-auth: ${line}\n`));
  const s = styles(info.color);
  const spinner = new Spinner(io.err, info);
  // No browser here (an SSH session, --no-browser) or --paste: the code flow also takes the address the browser ended on.
  const stdinIsTTY = options.stdinIsOurs !== false && (process.stdin as { isTTY?: boolean }).isTTY === true;
  const noDisplay = process.platform === 'linux' && !io.env.DISPLAY && !io.env.WAYLAND_DISPLAY;
  const paste = options.stdinIsOurs !== false && (command.paste || (stdinIsTTY && (!command.browser || noDisplay)));
  // While the person may type, nothing redraws the line they type on.
  const codeSpinner = paste ? new Spinner(io.err, { ...info, plain: true }) : spinner;
  const store = await openStore(command);
  const key = await loginKey(command, store.id, io.env);
  const timeout = command.timeout ?? DEFAULT_LOGIN_TIMEOUT;
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(EXIT.cancelled); // A second Ctrl-C: stop at once.
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  let loggedIn = false;
  const decided = command.interactive ? undefined : options.interactive;
  try {
    const exchange = command.exchangeFrom !== undefined;
    const token: Token = await authenticate({
      host: command.host,
      issuer: command.issuer,
      clientId: exchange ? undefined : command.clientId,
      clientSecret: exchange ? undefined : clientSecret(command, io),
      scope: exchange ? undefined : command.scope,
      dpop: command.dpop,
      par: command.par,
      ...(command.certificate ? { client: { tlsClientCertificate: clientCertificate(command, io) } } : {}),
      account: accountOfKey(key),
      exchangeFrom: exchange ? { issuer: command.exchangeFrom ?? '', clientId: command.clientId ?? '', clientSecret: clientSecret(command, io), scope: command.scope, audience: command.audience } : undefined,
      store,
      loginRoute: command.loginRoute,
      tokenRoute: command.tokenRoute,
      deviceRoute: command.deviceRoute,
      redirectPorts: command.ports,
      flow: command.flow,
      force: command.force || options.force === true,
      timeout,
      minValidity: command.minValidity,
      interactive: decided ? decided.interactive : command.interactive,
      whyNotInteractive: decided?.why,
      openBrowser: command.browser ? undefined : false,
      signal: controller.signal,
      onDeviceCode: (code) => {
        loggedIn = true;
        spinner.stop();
        io.err.write(deviceCodeText(code, info, { qr: command.qr }));
        spinner.start('Waiting for you to log in', Date.now() + Math.min(code.expires_in, timeout) * 1000);
      },
      onLoginUrl: (url, redirectUri) => {
        loggedIn = true;
        spinner.stop();
        io.err.write(loginUrlText(url, redirectUri, info));
        codeSpinner.start('Waiting for the browser login', Date.now() + timeout * 1000);
      },
      readPastedUrl: paste ? (signal) => readLine(io, signal) : undefined,
      onWaitingForLogin: (holder) => {
        spinner.stop();
        io.err.write(`Waiting for the login in ${holder ? `process ${holder.pid} on ${holder.hostname}` : 'another process'}; its token will be printed here too.\n`);
        spinner.start('Waiting for the other login', Date.now() + timeout * 1000);
      },
      onPasteRefused: (message) => void io.err.write(`${message}\n`),
      onWarning: (message) => void io.err.write(`${info.plain ? '' : '\r\u001b[2K'}${s.yellow('!')} ${message}\n`),
      // Above the spinner's line, which it redraws below.
      onLoginRefused: (message) => void io.err.write(`${info.plain ? '' : '\r\u001b[2K'}${s.yellow('!')} ${message}\n`),
    });
    spinner.stop();
    codeSpinner.stop();
    if (loggedIn) {
      const who = token.who ? ` as ${token.who.name}` : '';
      io.err.write(`${s.green('✓')} Logged in to ${serverLabel(command, key)}${who}; the token is kept in ${store.description}` +
        ` (it expires ${relativeTime(token.expires, nowSeconds())}).\n`);
    }
    return { token, key, store };
  } finally {
    spinner.stop();
    codeSpinner.stop();
    process.off('SIGINT', onSigint);
  }
}

