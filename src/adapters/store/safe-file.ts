// Reading files that another local user may have planted: never through a
// symbolic link, never blocking on a FIFO, only a regular file of this user.
import fs from 'node:fs';
import { AuthError } from '../../errors.ts';

const { O_RDONLY, O_NOFOLLOW = 0, O_NONBLOCK = 0 } = fs.constants;

/** What a file at a path is, in words, for messages. */
function kindOf(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** This process's user id, or undefined where there is none (Windows). */
export function currentUid(): number | undefined {
  return process.getuid?.();
}

/**
 * Why `stat` (of a file this user is about to trust) is unsafe: another
 * user's file, or not a regular file; undefined when it is fine.
 */
export function unsafeBecause(stat: fs.Stats): string | undefined {
  if (!stat.isFile()) return `is ${kindOf(stat)}, not a regular file`;
  const uid = currentUid();
  if (uid !== undefined && stat.uid !== uid) return `is owned by another user (uid ${stat.uid}, not ${uid})`;
  return undefined;
}

/**
 * Read `file` as text, or `undefined` when it does not exist. Throws
 * `store_error` when it is a symbolic link, not a regular file (a FIFO would
 * block forever), or owned by another user: `what` names it ("The token
 * store") and the message says what to do. `onOpen` may act on the open file
 * (tighten its mode) before it is read.
 */
export function readOwnFile(file: string, what: string, onOpen?: (fd: number, stat: fs.Stats) => void): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP' || code === 'EMLINK') {
      throw new AuthError('store_error', `${what} ${file} is a symbolic link; it is not followed, so that nobody can point it at another file. ` +
        'Remove the link, or point the store at the real file.', { cause: error });
    }
    throw new AuthError('store_error', `Cannot read ${what.toLowerCase()} ${file}: ${(error as Error).message}. Check its permissions.`, { cause: error });
  }
  try {
    const stat = fs.fstatSync(fd);
    const unsafe = unsafeBecause(stat);
    if (unsafe) {
      throw new AuthError('store_error', `${what} ${file} ${unsafe}; it is not used, since another user could have put it there. ` +
        'Remove or move it, or choose a store in a folder only you can write.');
    }
    onOpen?.(fd, stat);
    return fs.readFileSync(fd, 'utf8');
  } catch (error) {
    if (error instanceof AuthError) throw error;
    throw new AuthError('store_error', `Cannot read ${what.toLowerCase()} ${file}: ${(error as Error).message}.`, { cause: error });
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Refuse a path that exists as a symbolic link or another user's file or
 * folder entry, before anything is written there (a write through a link
 * would change the link's target).
 */
export function assertWritable(file: string, what: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch {
    return; // Missing: it will be created.
  }
  if (stat.isSymbolicLink()) {
    throw new AuthError('store_error', `${what} ${file} is a symbolic link; nothing is written through it. Remove the link, or point the store at the real file.`);
  }
  const unsafe = unsafeBecause(stat);
  if (unsafe) throw new AuthError('store_error', `${what} ${file} ${unsafe}; nothing is written to it. Remove or move it, or choose a store in a folder only you can write.`);
}

/**
 * The identity of the file's current content, or undefined while there is
 * no file: writes replace files (a new inode), so any write by any process
 * gives a new one. One `stat`.
 */
export function fileVersion(file: string): string | undefined {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  return stat ? `${stat.ino}:${stat.size}:${stat.mtimeMs}` : undefined;
}

/**
 * A file's parsed content, kept in memory with the version it belongs to:
 * while the file is that version, a read costs one stat. A read is
 * remembered only when the file did not change during it.
 */
export class FileCache<T> {
  readonly #file: string;
  readonly #load: () => T;
  #known: { version: string; value: T } | undefined;

  constructor(file: string, load: () => T) {
    this.#file = file;
    this.#load = load;
  }

  /** The content, from memory while the file is unchanged, and the version it was read as (undefined when it changed during the read). */
  current(): { value: T; version: string | undefined } {
    const before = fileVersion(this.#file);
    if (this.#known && before !== undefined && before === this.#known.version) return this.#known;
    const value = this.#load();
    const version = before !== undefined && before === fileVersion(this.#file) ? before : undefined;
    if (version) this.#known = { version, value };
    return { value, version };
  }

  /** Remember `value` as the content of `version` (read or written under a lock); forget when there is no version. */
  remember(version: string | undefined, value: T): void {
    this.#known = version ? { version, value } : undefined;
  }

  /** Read the file again on the next call. */
  forget(): void {
    this.#known = undefined;
  }

  /** The version last remembered, if any. */
  get version(): string | undefined {
    return this.#known?.version;
  }
}

/**
 * Write `text` to `file` atomically: a new 0600 file beside it, flushed, then
 * renamed over it (a rename replaces the link itself, never its target).
 */
export function writeOwnFileAtomic(file: string, text: string, what: string): void {
  assertWritable(file, what);
  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    const fd = fs.openSync(temporary, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | O_NOFOLLOW, 0o600);
    try {
      fs.writeFileSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw new AuthError('store_error', `Cannot write ${what.toLowerCase()} ${file}: ${(error as Error).message}. Check the folder's permissions and free space.`, { cause: error });
  }
}
