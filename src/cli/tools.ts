// The token where the tools are: kubectl's exec credential plugin, git's
// credential helper, any command with BEARER_TOKEN, and the WLCG bearer
// token file; and the lines that set kubectl and git up. Loaded only for
// these commands.
import { execFile, spawn } from 'node:child_process';
import os from 'node:os';
import { decideInteractive } from '../adapters/browser/environment.ts';
import { writeOwnFileAtomic } from '../adapters/store/safe-file.ts';
import { AuthError } from '../errors.ts';
import { formatCredential, helperLogin, parseCredentialRequest } from '../protocol/git-credential.ts';
import { normalizeHost } from '../protocol/host.ts';
import { DEFAULT_EXEC_API_VERSION, EXEC_API_VERSIONS, execCredential, isExecApiVersion, kubeconfigUser, parseExecInfo, type ExecApiVersion } from '../protocol/kubernetes.ts';
import { shellLine, shellQuote } from '../protocol/shell.ts';
import { bearerTokenFile } from '../protocol/wlcg.ts';
import { UsageError, type Command, type LoginChoice } from './args.ts';
import { assertBearer, EXIT, readStdin, type CliIo } from './common.ts';
import { obtainToken } from './obtain.ts';

type ToolCommand = Extract<Command, { kind: 'credential' | 'setup' | 'exec' }>;

/** --api-version, checked. */
function apiVersionOf(value: string | undefined): ExecApiVersion | undefined {
  if (value === undefined || isExecApiVersion(value)) return value;
  throw new UsageError(`--api-version must be ${EXEC_API_VERSIONS.join(' or ')}, not "${value}"`);
}

/** Run `credential ...`, `setup ...` or `exec ...`. */
export async function runTool(command: ToolCommand, io: CliIo): Promise<number> {
  if (command.kind === 'exec') return execWithToken(command, io);
  if (command.kind === 'setup') return command.tool === 'kubernetes' ? setupKubernetes(command, io) : setupGit(command, io);
  if (command.tool === 'kubernetes') return kubernetesCredential(command, io);
  if (command.tool === 'git') return gitCredential(command, io);
  return wlcgFile(command, io);
}

/**
 * The server options as command-line words, for the lines `setup` writes:
 * the host (or issuer and client id) and every option that picks the login.
 */
export function serverArgs(command: LoginChoice): string[] {
  const words: string[] = command.issuer !== undefined ? ['--issuer', command.issuer, '--client-id', command.clientId ?? ''] : [command.host ?? ''];
  const add = (name: string, value: string | number | undefined) => {
    if (value !== undefined) words.push(name, String(value));
  };
  if (command.exchangeFrom !== undefined) {
    add('--exchange-from', command.exchangeFrom);
    add('--client-id', command.clientId);
    add('--audience', command.audience);
  }
  add('--account', command.account);
  if (command.scope) add('--scope', command.scope.join(' '));
  add('--client-secret-env', command.clientSecretEnv);
  add('--store', command.store);
  add('--app-name', command.appName);
  add('--login-route', command.loginRoute);
  add('--token-route', command.tokenRoute);
  add('--device-route', command.deviceRoute);
  if (command.ports) add('--ports', command.ports.join(','));
  if (command.flow !== 'auto') add('--flow', command.flow);
  add('--min-validity', command.minValidity);
  add('--timeout', command.timeout);
  if (command.noStore) words.push('--no-store');
  return words;
}

/** `kubectl` runs us with KUBERNETES_EXEC_INFO; its ExecCredential goes to stdout, everything else to stderr. */
async function kubernetesCredential(command: Extract<ToolCommand, { tool: 'kubernetes'; kind: 'credential' }>, io: CliIo): Promise<number> {
  const info = parseExecInfo(io.env.KUBERNETES_EXEC_INFO);
  const apiVersion = info.apiVersion ?? apiVersionOf(command.apiVersion) ?? DEFAULT_EXEC_API_VERSION;
  // kubectl says whether it gave us a terminal; an older one (1.20 sends "spec":{}) does not: then decide as the token command does.
  const interactive = info.interactive === false
    ? { interactive: false, why: 'kubectl says the session is not interactive (spec.interactive: false; its stdin is no terminal, or the kubeconfig says interactiveMode: Never)' }
    : decideInteractive(undefined, io.env, { stdin: info.interactive === true || process.stdin.isTTY === true, stderr: process.stderr.isTTY === true });
  const { token } = await obtainToken(command, io, { interactive, stdinIsOurs: info.interactive === true });
  assertBearer(token, 'kubectl\'s bearer credential');
  io.out.write(execCredential(apiVersion, token));
  return EXIT.ok;
}


/** git's credential helper: `get` answers the token, `erase` marks a refused one, `store` does nothing. */
async function gitCredential(command: Extract<ToolCommand, { kind: 'credential'; tool: 'git' }>, io: CliIo): Promise<number> {
  const fields = parseCredentialRequest(command.input ?? await readStdin());
  if (command.action === 'store') return EXIT.ok; // The store keeps tokens; git's copy is not needed.
  const login = helperLogin(command, fields);
  if (!login) {
    io.err.write('oidc-auth: git asked about no http(s) server (protocol and host); nothing to answer.\n');
    return EXIT.failed;
  }
  if (command.action === 'erase') return gitErase(login, fields.password, io);
  // git's stdin is its pipe: a person is there when stderr is a terminal, unless git itself was told not to prompt.
  const interactive = io.env.GIT_TERMINAL_PROMPT === '0'
    ? { interactive: false, why: 'GIT_TERMINAL_PROMPT=0 is set' }
    : decideInteractive(undefined, io.env, { stdin: true, stderr: process.stderr.isTTY === true });
  const { token } = await obtainToken(login, io, { interactive, stdinIsOurs: false });
  assertBearer(token, 'a git password');
  io.out.write(formatCredential({ username: command.username, password: token.access_token, expires: token.expires }));
  return EXIT.ok;
}

/**
 * git says the server refused `password`: when it is the stored access
 * token, mark it expired (never dropping the refresh token), so that the
 * next `get` refreshes instead of giving it again.
 */
async function gitErase(login: LoginChoice, password: string | undefined, io: CliIo): Promise<number> {
  if (!password) return EXIT.ok;
  const { openStore, loginKey } = await import('./common.ts');
  const store = await openStore(login);
  const key = await loginKey(login, store.id, io.env);
  let marked = false;
  await store.update((current) => {
    const token = current(key);
    if (!token || token.access_token !== password) return {};
    marked = true;
    return { [key]: { ...token, expires: 0 } };
  });
  if (marked) io.err.write('oidc-auth: the server refused the access token; the next request gets a new one.\n');
  return EXIT.ok;
}

/** The WLCG bearer token file: the access token only, 0600, written atomically, never through a link or into another user's file. */
async function wlcgFile(command: Extract<ToolCommand, { tool: 'wlcg' }>, io: CliIo): Promise<number> {
  const uid = process.getuid?.();
  if (uid === undefined) throw new UsageError('credential wlcg needs a POSIX user id (the WLCG discovery rules name files by it); set BEARER_TOKEN_FILE instead');
  const file = bearerTokenFile(io.env, uid);
  const { token } = await obtainToken(command, io);
  assertBearer(token, 'a bearer token file');
  writeOwnFileAtomic(file, token.access_token, 'The bearer token file');
  io.out.write(`${file}\n`);
  return EXIT.ok;
}

/** Signals a wrapper passes on to the command it runs. */
const FORWARDED: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGINT'];

/** `exec -- CMD ARGS`: CMD with BEARER_TOKEN set; its exit status (or the signal that ended it) is ours. */
async function execWithToken(command: Extract<ToolCommand, { kind: 'exec' }>, io: CliIo): Promise<number> {
  const { token } = await obtainToken(command, io);
  assertBearer(token, 'BEARER_TOKEN');
  const [file = '', ...args] = command.argv;
  const child = spawn(file, args, { stdio: 'inherit', env: { ...io.env, BEARER_TOKEN: token.access_token } });
  // A terminal's Ctrl-C reaches the whole foreground group, the command included: passing it on too would send it twice.
  const fromTerminal = process.stdin.isTTY === true;
  const forward = (signal: NodeJS.Signals) => {
    if (signal === 'SIGINT' && fromTerminal) return;
    child.kill(signal);
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  try {
    const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve({ code, signal }));
    }).catch((error: unknown) => {
      throw new AuthError('unexpected', `Cannot run ${file}: ${(error as Error).message}. Check the command and your PATH.`, { cause: error });
    });
    if (ended.signal) {
      // Ended by a signal: end the same way, so that the shell sees what happened.
      for (const signal of FORWARDED) process.off(signal, forward);
      process.kill(process.pid, ended.signal);
      return 128 + (os.constants.signals[ended.signal] ?? 0);
    }
    return ended.code ?? EXIT.failed;
  } finally {
    for (const signal of FORWARDED) process.off(signal, forward);
  }
}

/** Run a program with arguments; its output passes through. */
function run(file: string, args: string[], io: CliIo): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: io.env }, (error, stdout, stderr) => {
      io.err.write(stdout + stderr);
      if (error) reject(new AuthError('unexpected', `${file} ${args[0] ?? ''} failed: ${error.message.split('\n')[0] ?? ''}`, { cause: error }));
      else resolve();
    });
  });
}

/** The kubeconfig user entry that runs `oidc-auth credential kubernetes ...`, printed or written with kubectl. */
async function setupKubernetes(command: Extract<ToolCommand, { kind: 'setup'; tool: 'kubernetes' }>, io: CliIo): Promise<number> {
  const args = ['credential', 'kubernetes', ...serverArgs(command)];
  const apiVersion = apiVersionOf(command.apiVersion) ?? 'client.authentication.k8s.io/v1';
  if (command.apiVersion !== undefined) args.push('--api-version', command.apiVersion);
  const user = command.user ?? `oidc-auth-${command.issuer !== undefined ? new URL(command.issuer).host : new URL(normalizeHost(command.host ?? '')).host}`;
  if (command.write) {
    await run('kubectl', ['config', 'set-credentials', user, `--exec-command=${command.command}`, `--exec-api-version=${apiVersion}`, ...args.map((arg) => `--exec-arg=${arg}`), '--exec-interactive-mode=IfAvailable'], io);
    io.err.write(`The kubeconfig user "${user}" runs ${shellLine([command.command, ...args])}. Use it with: kubectl config set-context --current --user ${shellQuote(user)}\n`);
    return EXIT.ok;
  }
  io.out.write(kubeconfigUser(user, command.command, args, apiVersion));
  io.err.write(`Add this user to your kubeconfig (or run this command again with --write), then: kubectl config set-context --current --user ${shellQuote(user)}\n`);
  return EXIT.ok;
}

/** The git config lines that make `oidc-auth credential git ...` the helper for one URL only, printed or run. */
async function setupGit(command: Extract<ToolCommand, { kind: 'setup'; tool: 'git' }>, io: CliIo): Promise<number> {
  const url = (command.url ?? (command.issuer === undefined ? command.host : undefined))?.replace(/\/+$/, '');
  if (url === undefined) throw new UsageError('setup git with --issuer needs the URL git uses: oidc-auth setup git --issuer URL --client-id ID https://git.example.org');
  const helper = `!${shellLine([command.command, 'credential', 'git', ...serverArgs(command), ...(command.username ? ['--username', command.username] : [])])}`;
  const key = `credential.${url}.helper`;
  // The empty value first: git then asks only this helper for this URL, not the ones configured for every host.
  const lines = [['config', '--global', key, ''], ['config', '--global', '--add', key, helper]];
  if (command.write) {
    for (const line of lines) await run('git', line, io);
    io.err.write(`git now asks oidc-auth for ${url} only (${key}).\n`);
    return EXIT.ok;
  }
  io.out.write(lines.map((line) => shellLine(['git', ...line])).join('\n').concat('\n'));
  return EXIT.ok;
}
