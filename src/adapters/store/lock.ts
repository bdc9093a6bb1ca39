import fs from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { debug } from '../../debug.ts';
import { AuthError } from '../../errors.ts';
import { readOwnFile } from './safe-file.ts';
import { ensureStoreFolder } from './file-format.ts';

/** Options for {@link withFileLock}. */
export interface FileLockOptions {
  /** Milliseconds to wait for the lock before `lock_timeout`. @default 30000 */
  timeoutMs?: number;
  /** A lock whose holder stopped refreshing it this long ago is stale. @default 10000 */
  staleMs?: number;
}

/** Who holds a lock: written into the lock file. */
export interface Holder {
  pid: number;
  hostname: string;
  nonce: string;
  /**
   * The PID namespace and boot of the holder (Linux). A pid means something
   * only in its own namespace: containers share a hostname but not pids.
   */
  ns?: string | undefined;
}

let namespace: string | undefined | null = null;

/** This process's PID namespace and boot id, where the system tells them. */
function currentNamespace(): string | undefined {
  if (namespace !== null) return namespace;
  try {
    namespace = `${fs.readlinkSync('/proc/self/ns/pid')} boot:${fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}`;
  } catch {
    namespace = undefined;
  }
  return namespace;
}

/** What this process writes into a lock it takes (`nonce` is filled in per lock). */
export function lockHolder(): Holder {
  return { pid: process.pid, hostname: os.hostname(), nonce: '', ns: currentNamespace() };
}

/**
 * The holder named in the lock file; `undefined` when the file is gone or
 * does not name one (a half-written lock). A link, a FIFO, a directory or
 * another user's file there is refused with `store_error`.
 */
function readHolder(path: string): Holder | undefined {
  const text = readOwnFile(path, 'The lock file');
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<Holder>;
    return typeof value.pid === 'number' && typeof value.hostname === 'string' && typeof value.nonce === 'string' ? (value as Holder) : undefined;
  } catch {
    return undefined;
  }
}

/** The holder named at `path`, or undefined also when something that is no lock of ours sits there (nothing to compare with). */
function holderIfAny(path: string): Holder | undefined {
  try {
    return readHolder(path);
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
  if (holder && deadAtOnce(holder, { hostname: os.hostname(), ns: currentNamespace() }, alive)) return true;
  // Another machine (NFS), another namespace (a container), no /proc (Windows, macOS) or an unreadable lock: trust only the heartbeat.
  return Date.now() - mtimeMs > staleMs;
}

/**
 * Whether a lock's holder is known dead without waiting for its heartbeat to
 * go stale: only in this PID namespace and boot, which Linux's /proc names.
 * Where /proc is not there (`ns` undefined: Windows, macOS) a pid proves
 * nothing, and the heartbeat decides.
 */
export function deadAtOnce(holder: Holder, here: { hostname: string; ns: string | undefined }, isAlive: (pid: number) => boolean): boolean {
  return holder.hostname === here.hostname && here.ns !== undefined && holder.ns === here.ns && !isAlive(holder.pid);
}

/**
 * Move a stale lock away, but only if it is still the one judged stale.
 * Resolves to why it could not be moved (a read-only folder, another user's
 * lock in a sticky folder), or undefined.
 */
function breakStale(path: string, judged: Holder | undefined, nonce: string): string | undefined {
  const aside = `${path}.stale-${nonce}`;
  try {
    fs.renameSync(path, aside);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? undefined : (error as Error).message;
  }
  if (holderIfAny(aside)?.nonce !== judged?.nonce) {
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
 * Create the lock file with `me` in it: true when it is ours, false when
 * someone holds it. A lock that cannot be written whole (a full disk) is
 * removed again, so that it never blocks the next writer.
 */
function tryCreate(path: string, me: Holder): boolean {
  let fd: number;
  try {
    fd = fs.openSync(path, 'wx', 0o600); // O_EXCL: never follows a link, never opens an existing file.
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new AuthError('store_error', `Cannot create the lock file ${path}: ${(error as Error).message}. Check the folder's permissions.`, { cause: error });
  }
  try {
    fs.writeSync(fd, JSON.stringify(me));
    fs.closeSync(fd);
    return true;
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(path, { force: true });
    const full = (error as NodeJS.ErrnoException).code === 'ENOSPC' || (error as NodeJS.ErrnoException).code === 'EDQUOT';
    throw new AuthError('store_error', `Cannot write the lock file ${path}: ${(error as Error).message}. ` +
      (full ? 'The disk (or your quota) is full: free some space and try again.' : 'Check the folder\'s permissions.'), { cause: error });
  }
}

/** A held lock: release it exactly once. */
export interface FileLease {
  release(): void;
}

/**
 * Take an exclusive lock file at `path` (O_EXCL create, which works on local
 * disks and NFS) and keep it until `release()`. The holder refreshes the
 * file's time while it holds it; a lock whose holder died (same namespace)
 * or stopped refreshing for `staleMs` is broken. Waiting is bounded by
 * `timeoutMs`, and by `signal`; `onWait` hears once who holds it.
 */
export async function acquireFileLock(path: string, options: FileLockOptions & { signal?: AbortSignal | undefined; onWait?: ((holder: Holder | undefined) => void) | undefined } = {}): Promise<FileLease> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? 10_000;
  // node:crypto loads here, not at start-up: a read-only run never locks.
  const { randomUUID } = await import('node:crypto');
  const me: Holder = { ...lockHolder(), nonce: randomUUID() };
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  let unbreakable: string | undefined;
  const started = Date.now();
  let waited = false;
  let tries = 0;
  for (;;) {
    if (options.signal?.aborted) throw new AuthError('cancelled', `Stopped waiting for the lock ${path}.`);
    if (tryCreate(path, me)) break;
    const holder = readHolder(path);
    tries += 1;
    // A holder writes its name just after creating the file: an empty one is read again before the wait is told as "an unknown process".
    if (!waited && (holder !== undefined || tries >= 4)) {
      waited = true;
      debug(() => `waiting for the lock ${path}, held by ${holder ? `process ${holder.pid} on ${holder.hostname}` : 'an unknown process'}`);
      options.onWait?.(holder);
    }
    // A stale lock is moved away and the lock tried again at once; one that cannot be moved is waited for like a live one.
    if (isStale(path, holder, staleMs)) {
      unbreakable = breakStale(path, holder, randomUUID());
      if (unbreakable === undefined) continue;
    }
    if (Date.now() >= deadline) {
      const who = holder ? `process ${holder.pid} on ${holder.hostname}` : 'an unknown process';
      if (unbreakable !== undefined) {
        throw new AuthError('lock_timeout', `The token store lock ${path} is stale (left by ${who}) but cannot be removed: ${unbreakable}. ` +
          'Remove it by hand (or ask its owner to), or choose a store in a folder you can write.');
      }
      throw new AuthError('lock_timeout', `Waited ${Math.round(timeoutMs / 1000)} s for the token store lock ${path}, held by ${who}. ` +
        'If that process is stuck, stop it; the lock is recovered by itself once its holder is gone.');
    }
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())) * (0.5 + Math.random()));
    delay = Math.min(delay * 2, 250);
  }
  if (waited) debug(() => `got the lock ${path} after ${Date.now() - started} ms`);
  const heartbeat = setInterval(() => {
    const now = new Date();
    try {
      fs.utimesSync(path, now, now);
    } catch {
      // Lost it (broken as stale): the release below checks ownership.
    }
  }, Math.max(100, Math.floor(staleMs / 3)));
  heartbeat.unref();
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      if (holderIfAny(path)?.nonce === me.nonce) fs.rmSync(path, { force: true });
    },
  };
}

/** Run `fn` while holding the lock file at `path` (see {@link acquireFileLock}). */
export async function withFileLock<T>(path: string, fn: () => Promise<T> | T, options: FileLockOptions = {}): Promise<T> {
  const lease = await acquireFileLock(path, options);
  try {
    return await fn();
  } finally {
    lease.release();
  }
}

/**
 * One login at a time for `key` among the processes that share the store at
 * `storePath`: a lock file beside it, per server, with a heartbeat; a dead
 * holder's is taken over.
 */
export async function loginLockBeside(storePath: string, key: string, options: { timeoutMs: number; signal?: AbortSignal | undefined; onWait?: ((holder: { pid: number; hostname: string } | undefined) => void) | undefined }): Promise<FileLease> {
  const { createHash } = await import('node:crypto');
  ensureStoreFolder(storePath);
  return acquireFileLock(`${storePath}.lock.login-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`, {
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    onWait: (holder) => options.onWait?.(holder ? { pid: holder.pid, hostname: holder.hostname } : undefined),
  });
}
