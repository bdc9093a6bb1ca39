// Where the agent's socket lives, and the checks that keep another user out:
// a folder of this user's, 0700, never a link; the socket 0600.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AuthError } from '../../errors.ts';
import type { Environment } from '../../types.ts';

/** The folder for agent sockets: `$XDG_RUNTIME_DIR/oidc-auth`, else a private folder under /tmp. */
export function agentFolder(env: Environment = process.env, uid: number | undefined = process.getuid?.()): string {
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime !== undefined && runtime.trim() !== '') return path.join(runtime, 'oidc-auth');
  return path.join('/tmp', `oidc-auth-${uid ?? 'user'}`);
}

/** The socket of the agent for the store `storeId` (one agent per user and store). */
export function agentSocketPath(storeId: string, env: Environment = process.env): string {
  return path.join(agentFolder(env), `agent-${createHash('sha256').update(storeId).digest('hex').slice(0, 12)}.sock`);
}

/** Why `folder` must not hold our socket, or undefined when it is ours, private and no link. */
export function folderProblem(folder: string): string | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(folder);
  } catch {
    return undefined; // Not there: we make it.
  }
  if (stat.isSymbolicLink()) return 'is a symbolic link';
  if (!stat.isDirectory()) return 'is not a folder';
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) return `belongs to another user (uid ${stat.uid})`;
  if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) return `can be entered by others (mode ${(stat.mode & 0o777).toString(8)})`;
  return undefined;
}

/** Make (or check) the socket's folder: 0700 and this user's, else a clear `store_error`. */
export function prepareAgentFolder(folder: string): void {
  const problem = folderProblem(folder);
  if (problem) {
    throw new AuthError('store_error', `The agent's folder ${folder} ${problem}; the agent does not put its socket there, since another user could reach or replace it. ` +
      'Remove it (or fix it: chmod 700), or set XDG_RUNTIME_DIR to a folder of your own.');
  }
  fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
  const again = folderProblem(folder);
  if (again) throw new AuthError('store_error', `The agent's folder ${folder} ${again}. Remove it and start the agent again.`);
}
