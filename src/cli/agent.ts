// `oidc-auth agent`: start one agent per user and store (in the background,
// printing the line for eval, or in the foreground), or ask it for its
// status, or stop it.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { startAgent } from '../api/agent.ts';
import { askAgent } from '../adapters/agent/client.ts';
import { agentSocketPath } from '../adapters/agent/socket.ts';
import { AuthError } from '../errors.ts';
import { bearerTokenFile } from '../protocol/wlcg.ts';
import { shellQuote } from '../protocol/shell.ts';
import { UsageError, type Command } from './args.ts';
import { EXIT, loginKey, openStore, type CliIo } from './common.ts';

type AgentCommand = Extract<Command, { kind: 'agent' }>;

/** Whether something accepts connections on `socketPath`. */
function listening(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath, () => probe.end(() => resolve(true)));
    probe.on('error', () => resolve(false));
  });
}

/** Run `oidc-auth agent ...`. */
export async function runAgentCommand(command: AgentCommand, io: CliIo): Promise<number> {
  const store = await openStore(command);
  const socketPath = command.socket ?? agentSocketPath(store.id, io.env);
  if (command.action === 'status' || command.action === 'stop') {
    const answer = await askAgent(socketPath, { request: command.action }, 5000);
    if (answer.status === 'failure') throw new AuthError('agent_unavailable', `The agent at ${socketPath}: ${answer.error}`);
    if (command.action === 'stop') io.err.write(`The agent at ${socketPath} stops.\n`);
    else io.out.write(`${JSON.stringify(answer.status === 'other' ? answer.fields : answer, undefined, 2)}\n`);
    return EXIT.ok;
  }
  if (!command.foreground) return startInBackground(command, socketPath, io);
  // The agent never asks an agent (itself) for tokens.
  delete process.env.OIDC_AUTH_SOCK;
  let bearer: { login: string; file: string } | undefined;
  if (command.bearerTokenFile) {
    const uid = process.getuid?.();
    if (uid === undefined) throw new UsageError('--bearer-token-file needs a POSIX user id; set BEARER_TOKEN_FILE');
    bearer = { login: await loginKey(command, store.id, io.env), file: bearerTokenFile(io.env, uid) };
  }
  const agent = await startAgent({ store, socketPath, bearerTokenFile: bearer, log: command.verbose ? (line) => void io.err.write(`oidc-auth agent: ${line}\n`) : undefined });
  io.err.write(`oidc-auth agent ${process.pid} serves ${store.description} on ${agent.socketPath}${bearer ? ` and keeps ${bearer.file} fresh` : ''}.\n`);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => void agent.stop());
  await agent.stopped;
  return EXIT.ok;
}

/** Start the agent as a process of its own, wait until it listens, and print the lines for `eval`. */
async function startInBackground(command: AgentCommand, socketPath: string, io: CliIo): Promise<number> {
  if (await listening(socketPath)) {
    io.out.write(`OIDC_AUTH_SOCK=${shellQuote(socketPath)}; export OIDC_AUTH_SOCK;\necho An agent already serves ${shellQuote(socketPath)};\n`);
    return EXIT.ok;
  }
  const args = [...process.execArgv, process.argv[1] ?? '', ...process.argv.slice(2), '--foreground', '--socket', socketPath];
  const child = spawn(process.execPath, args, { detached: true, stdio: 'ignore', env: io.env });
  child.unref();
  const deadline = Date.now() + 10_000;
  while (!(await listening(socketPath))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new AuthError('agent_unavailable', `The agent did not start (${child.exitCode !== null ? `it exited with ${child.exitCode}` : 'it does not listen after 10 s'}). Run oidc-auth agent --foreground to see why.`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  io.out.write(`OIDC_AUTH_SOCK=${shellQuote(socketPath)}; export OIDC_AUTH_SOCK;\necho Agent pid ${child.pid};\n`);
  return EXIT.ok;
}
