// The agent's UNIX stream socket: one conversation per connection, plain
// JSON or oidc-agent's encrypted handshake, answered by a function the
// caller gives. A malformed, oversized or slow client gets a failure answer
// or a closed connection; the others are served on.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { AuthError } from '../../errors.ts';
import { failureAnswer, readMessage, type AgentRequest } from '../../protocol/agent-ipc.ts';
import { ipcKeyPair, open, seal, sharedKey } from './crypto.ts';
import { prepareAgentFolder } from './socket.ts';

/** Seconds a client has to send its request. */
export const REQUEST_TIMEOUT_MS = 5000;

export interface AgentServer {
  path: string;
  close(): Promise<void>;
}

/** Answer each request with `answer(request)` (a JSON text), on a socket at `socketPath`. */
export async function startAgentServer(socketPath: string, answer: (request: AgentRequest) => Promise<string>): Promise<AgentServer> {
  prepareAgentFolder(path.dirname(socketPath));
  // A socket left by an agent that died is replaced; anything else at the path is not ours to remove.
  const existing = fs.lstatSync(socketPath, { throwIfNoEntry: false });
  if (existing && !existing.isSocket()) throw new AuthError('store_error', `${socketPath} exists and is not a socket; the agent does not replace it. Remove it and start the agent again.`);
  if (existing) {
    const alive = await new Promise<boolean>((resolve) => {
      const probe = net.connect(socketPath, () => probe.end(() => resolve(true)));
      probe.on('error', () => resolve(false));
    });
    if (alive) throw new AuthError('store_error', `An agent already serves ${socketPath}. Use it (export OIDC_AUTH_SOCK=${socketPath}), or stop it: oidc-auth agent --stop.`);
    fs.rmSync(socketPath, { force: true });
  }
  const server = net.createServer({ allowHalfOpen: false }, (socket) => converse(socket, answer));
  const previous = process.umask(0o177); // The socket is made 0600 from the start.
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
  } finally {
    process.umask(previous);
  }
  fs.chmodSync(socketPath, 0o600);
  return {
    path: socketPath,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      fs.rmSync(socketPath, { force: true });
    }),
  };
}

/** One client: its key or a JSON request, then (encrypted) its request; one answer; then the connection ends. */
function converse(socket: net.Socket, answer: (request: AgentRequest) => Promise<string>): void {
  let text = '';
  let key: Uint8Array | undefined;
  let done = false;
  socket.setEncoding('utf8');
  const timer = setTimeout(() => socket.destroy(), REQUEST_TIMEOUT_MS);
  timer.unref();
  const finish = (reply: string) => {
    done = true;
    clearTimeout(timer);
    socket.end(reply);
  };
  socket.on('error', () => clearTimeout(timer));
  socket.on('close', () => clearTimeout(timer));
  socket.on('data', (chunk: string) => {
    if (done) return;
    text += chunk;
    const message = readMessage(text, key === undefined);
    if (message.kind === 'incomplete') return;
    text = '';
    if (message.kind === 'invalid') return finish(failureAnswer('bad request', message.why));
    if (message.kind === 'public-key') {
      const mine = ipcKeyPair();
      key = sharedKey(message.key, mine);
      if (!key) return finish(failureAnswer('bad request', 'the public key is not 32 bytes'));
      socket.write(mine.publicKey);
      return;
    }
    if (message.kind === 'json') {
      done = true;
      void answer(message.request).then(finish, () => finish(failureAnswer('internal error')));
      return;
    }
    const conversation = key;
    const opened = conversation ? open(message, conversation) : undefined;
    if (!conversation || opened === undefined) return finish(failureAnswer('bad request', 'the encrypted request does not open with this conversation\'s key'));
    const inner = readMessage(opened, true);
    if (inner.kind !== 'json') return finish(seal(failureAnswer('bad request', inner.kind === 'invalid' ? inner.why : 'the request is not JSON'), conversation));
    done = true;
    void answer(inner.request).then((reply) => finish(seal(reply, conversation)), () => finish(seal(failureAnswer('internal error'), conversation)));
  });
}
