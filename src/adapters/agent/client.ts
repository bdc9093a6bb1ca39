// A client of the agent: one JSON request over the socket, one answer.
import net from 'node:net';
import { AuthError } from '../../errors.ts';
import { parseAnswer, type AgentAnswer, type AgentRequest } from '../../protocol/agent-ipc.ts';

/** How long a client waits for the agent's answer (a refresh may be in it). */
export const ANSWER_TIMEOUT_MS = 30_000;

/**
 * Ask the agent at `socketPath`. A socket that is gone, refuses, or ends
 * without an answer is `agent_unavailable` at once, never a hang.
 */
export function askAgent(socketPath: string, request: AgentRequest, timeoutMs = ANSWER_TIMEOUT_MS): Promise<AgentAnswer> {
  return new Promise((resolve, reject) => {
    let text = '';
    let settled = false;
    const socket = net.connect(socketPath);
    const fail = (why: string, cause?: unknown) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(new AuthError('agent_unavailable', `The agent at ${socketPath} ${why}. Start it again (eval "$(oidc-auth agent)"), or unset OIDC_AUTH_SOCK to use this machine's store.`, { cause }));
    };
    const timer = setTimeout(() => fail(`did not answer within ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
    timer.unref();
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify(request)));
    socket.on('data', (chunk: string) => {
      text += chunk;
      try {
        JSON.parse(text);
      } catch {
        return; // More is coming.
      }
      settled = true;
      clearTimeout(timer);
      socket.end();
      resolve(parseAnswer(text));
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(error.code === 'ENOENT' || error.code === 'ECONNREFUSED' ? 'is gone (no one listens on its socket)' : `cannot be reached (${error.code ?? error.message})`, error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (!settled) fail(text === '' ? 'closed the connection without an answer' : 'sent an incomplete answer');
    });
  });
}
