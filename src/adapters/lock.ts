import fs from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuthError } from '../errors.ts';

/** Options for {@link withFileLock}. */
export interface FileLockOptions {
  /** Milliseconds to wait for the lock before `lock_timeout`. @default 30000 */
  timeoutMs?: number;
  /** A lock whose holder stopped refreshing it this long ago is stale. @default 10000 */
  staleMs?: number;
}

interface Holder {
  pid: number;
  hostname: string;
  nonce: string;
}

function readHolder(path: string): Holder | undefined {
  try {
    const value = JSON.parse(fs.readFileSync(path, 'utf8')) as Partial<Holder>;
    return typeof value.pid === 'number' && typeof value.hostname === 'string' && typeof value.nonce === 'string' ? (value as Holder) : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isStale(path: string, holder: Holder | undefined, staleMs: number): boolean {
  let mtimeMs: number;
  try {
    mtimeMs = fs.statSync(path).mtimeMs;
  } catch {
    return false; // Gone already: just try again.
  }
  if (holder && holder.hostname === os.hostname() && !alive(holder.pid)) return true;
  // Another machine (NFS) or an unreadable lock: trust only the heartbeat.
  return Date.now() - mtimeMs > staleMs;
}

/** Move a stale lock away, but only if it is still the one judged stale. */
function breakStale(path: string, judged: Holder | undefined, nonce: string): void {
  const aside = `${path}.stale-${nonce}`;
  try {
    fs.renameSync(path, aside);
  } catch {
    return;
  }
  const moved = readHolder(aside);
  if (moved?.nonce !== judged?.nonce) {
    // A live holder took the lock in between: give it back (link never overwrites).
    try {
      fs.linkSync(aside, path);
    } catch {
      // Someone holds a newer lock already; nothing to restore.
    }
  }
  fs.rmSync(aside, { force: true });
}

/**
 * Run `fn` while holding an exclusive lock file at `path` (O_EXCL create,
 * which works on local disks and NFS). The holder refreshes the file's time
 * while it works; a lock whose holder died (same machine) or stopped
 * refreshing for `staleMs` is broken. Waiting is bounded by `timeoutMs`.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T> | T, options: FileLockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? 10_000;
  // node:crypto loads here, not at start-up: a read-only run never locks.
  const { randomUUID } = await import('node:crypto');
  const me: Holder = { pid: process.pid, hostname: os.hostname(), nonce: randomUUID() };
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  for (;;) {
    try {
      const fd = fs.openSync(path, 'wx', 0o600);
      try {
        fs.writeSync(fd, JSON.stringify(me));
      } finally {
        fs.closeSync(fd);
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new AuthError('store_error', `Cannot create the lock file ${path}: ${(error as Error).message}. Check the folder's permissions.`, { cause: error });
      }
    }
    const holder = readHolder(path);
    if (isStale(path, holder, staleMs)) {
      breakStale(path, holder, randomUUID());
      continue;
    }
    if (Date.now() >= deadline) {
      const who = holder ? `process ${holder.pid} on ${holder.hostname}` : 'an unknown process';
      throw new AuthError('lock_timeout', `Waited ${Math.round(timeoutMs / 1000)} s for the token store lock ${path}, held by ${who}. ` +
        'If that process is stuck, stop it; the lock is recovered by itself once its holder is gone.');
    }
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())) * (0.5 + Math.random()));
    delay = Math.min(delay * 2, 250);
  }
  const heartbeat = setInterval(() => {
    const now = new Date();
    try {
      fs.utimesSync(path, now, now);
    } catch {
      // Lost it (broken as stale): the release below checks ownership.
    }
  }, Math.max(100, Math.floor(staleMs / 3)));
  heartbeat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    if (readHolder(path)?.nonce === me.nonce) fs.rmSync(path, { force: true });
  }
}
