// The oidc-auth command's fast path: with a valid cached token (or --help,
// --version) it loads only the argument parser and the store reader, prints
// and returns. Logins, HTTP, xstate and the terminal UI load only when needed.
import { parseCommandLine, UsageError, type Command } from './args.ts';
import { EXIT, formatToken, loginKey, openStore, readStdin, type CliIo } from './common.ts';
import { isDpopTokenType } from '../protocol/dpop.ts';
import { tokenStatus } from '../protocol/token.ts';
import type { Token } from '../types.ts';

/** With an agent: its token, asked with the light client (a failure takes the full path, which says why). */
async function agentToken(command: Extract<Command, { kind: 'token' | 'credential' }>, socket: string, io: CliIo): Promise<Token | undefined> {
  if (command.issuer !== undefined && command.clientId === undefined) return undefined;
  const [{ askAgent }, { accessTokenRequest, tokenOfAnswer }] = await Promise.all([import('../adapters/agent/client.ts'), import('../protocol/agent-ipc.ts')]);
  const account = command.account ?? (io.env.OIDC_AUTH_ACCOUNT || undefined);
  const answer = await askAgent(socket, accessTokenRequest(command, account, command.minValidity, 'oidc-auth'));
  return answer.status === 'success' ? tokenOfAnswer(answer) : undefined;
}

/**
 * git's `get` with a cached token, and its `store`: git runs its helper for
 * every fetch and push, so these are answered here, like a cached token. The
 * request git wrote is kept on the command for the full path.
 */
async function cachedGitAnswer(command: Extract<Command, { kind: 'credential'; tool: 'git' }>, io: CliIo): Promise<boolean> {
  command.input = await readStdin();
  // git says `store` after every success: nothing to do (the store already has the token), and nothing to load for it.
  if (command.action === 'store') return true;
  if (command.action !== 'get' || command.force || command.verbose || io.env.OIDC_AUTH_SOCK) return false;
  const { formatCredential, helperLogin, parseCredentialRequest } = await import('../protocol/git-credential.ts');
  const login = helperLogin(command, parseCredentialRequest(command.input));
  if (!login) return false;
  try {
    const store = await openStore(login);
    const token = (await store.read(await loginKey(login, store.id, io.env))).token;
    if (!token || tokenStatus(token, undefined, command.minValidity) !== 'valid' || isDpopTokenType(token.token_type)) return false;
    io.out.write(formatCredential({ username: command.username, password: token.access_token, expires: token.expires }));
    return true;
  } catch {
    return false; // The full path reports what is wrong.
  }
}

async function cachedAnswer(command: Command, io: CliIo): Promise<boolean> {
  if (command.kind === 'credential' && command.tool === 'git') return cachedGitAnswer(command, io);
  // --verbose takes the full path, so that every step can be told.
  const kubernetes = command.kind === 'credential' && command.tool === 'kubernetes';
  if ((command.kind !== 'token' && !kubernetes) || command.force || command.verbose) return false;
  try {
    // With an agent, the agent answers: nothing is read from this machine's store.
    const socket = io.env.OIDC_AUTH_SOCK;
    let token: Token | undefined;
    if (socket) token = await agentToken(command, socket, io);
    else {
      const store = await openStore(command);
      token = (await store.read(await loginKey(command, store.id, io.env))).token;
    }
    if (!token || tokenStatus(token, undefined, command.minValidity) !== 'valid') return false;
    // A DPoP-bound token needs its proof or its refusal: the full path gives either.
    if (isDpopTokenType(token.token_type)) return false;
    if (command.kind === 'token') io.out.write(formatToken(token, command.output));
    else {
      // kubectl runs us for every command: a cached credential must cost no more than a cached token.
      const { DEFAULT_EXEC_API_VERSION, execCredential, isExecApiVersion, parseExecInfo } = await import('../protocol/kubernetes.ts');
      const named = command.kind === 'credential' && command.tool === 'kubernetes' ? command.apiVersion : undefined;
      if (named !== undefined && !isExecApiVersion(named)) return false; // The full path says what is wrong with it.
      io.out.write(execCredential(parseExecInfo(io.env.KUBERNETES_EXEC_INFO).apiVersion ?? named ?? DEFAULT_EXEC_API_VERSION, token));
    }
    return true;
  } catch {
    return false; // The full path reports what is wrong.
  }
}

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[], io: CliIo = { out: process.stdout, err: process.stderr, env: process.env }): Promise<number> {
  let command: Command;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err.write(`oidc-auth: ${error.message}\nRun oidc-auth --help for usage.\n`);
    return EXIT.usage;
  }
  if (command.kind === 'help' || command.kind === 'version') {
    const { answerAtOnce } = await import('./help.ts');
    io.out.write(answerAtOnce(command.kind));
    return EXIT.ok;
  }
  if (await cachedAnswer(command, io)) return EXIT.ok;
  const { run } = await import('./run.ts');
  return run(command, io);
}
