import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuthError } from '../errors.ts';
import { tokenFromStored } from '../protocol/token.ts';
import type { Token } from '../types.ts';
import { assertWritable, currentUid, readOwnFile } from './safe-file.ts';

/**
 * Format version written into every entry (the Python client ignores the
 * extra key; a missing one means a file it wrote). Entries of a newer version,
 * or that we cannot read, are kept as they are and written back unchanged.
 */
export const STORE_FORMAT_VERSION = 1;

/** One host's entry, as the Python client writes it (plus `version`). */
export interface StoreEntry {
  token: Token;
  stored_at: number;
  version?: number | undefined;
}

/**
 * What a store file holds: the Python client's map of host -> entry, or a
 * single token (a file made with `oidc-auth HOST --json`, used through
 * `OIDC_TOKEN_FILE`), which then serves every host.
 */
export type StoreContent =
  | { shape: 'hosts'; entries: Record<string, StoreEntry>; others?: Record<string, unknown> | undefined; dropped?: string[] | undefined }
  | { shape: 'single'; token: Token | undefined };

/** Unknown entries nested deeper than this are dropped: no store entry is anywhere near it, and writing one back would overflow the stack. */
export const MAX_UNKNOWN_DEPTH = 64;

/** Whether `value` nests objects or arrays deeper than `limit` (iterative: any depth is safe to ask about). */
function deeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [item, depth] = next;
    if (item === null || typeof item !== 'object') continue;
    if (depth >= limit) return true;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Where a warning about the store goes (a moved-aside file, a repaired mode). */
export type WarningSink = (message: string) => void;

function looksLikeSingleToken(value: Record<string, unknown>): boolean {
  return typeof value.access_token === 'string';
}

/** Read entries, skipping any that do not hold a usable token. */
export function parseStoreContent(value: unknown): StoreContent | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  if (looksLikeSingleToken(record)) return { shape: 'single', token: tokenFromStored(record) };
  const entries: Record<string, StoreEntry> = {};
  const others: Record<string, unknown> = {};
  const dropped: string[] = [];
  for (const [host, entry] of Object.entries(record)) {
    const fields = entry !== null && typeof entry === 'object' ? entry as Record<string, unknown> : {};
    const version = typeof fields.version === 'number' ? fields.version : 0;
    const token = version <= STORE_FORMAT_VERSION ? tokenFromStored(fields.token) : undefined;
    if (!token) {
      // Not ours to judge: written back as it was, unless it could not be written at all.
      if (deeperThan(entry, MAX_UNKNOWN_DEPTH)) dropped.push(host);
      else others[host] = entry;
      continue;
    }
    const storedAt = fields.stored_at;
    // The ID token (standard providers) lives beside the token, so the token keeps exactly the Python client's fields.
    if (typeof fields.id_token === 'string' && fields.id_token !== '' && token.id_token === undefined) token.id_token = fields.id_token;
    entries[host] = { token, stored_at: typeof storedAt === 'number' ? storedAt : 0, version };
  }
  return {
    shape: 'hosts',
    entries,
    ...(Object.keys(others).length > 0 ? { others } : {}),
    ...(dropped.length > 0 ? { dropped } : {}),
  };
}

/** Serialise back into the shape the file had. */
export function serializeStoreContent(content: StoreContent): unknown {
  if (content.shape === 'single') return content.token ?? {};
  const entries = Object.fromEntries(Object.entries(content.entries).map(([host, entry]) => {
    const { id_token: idToken, ...token } = entry.token;
    return [host, { token, stored_at: entry.stored_at, version: STORE_FORMAT_VERSION, ...(idToken ? { id_token: idToken } : {}) }];
  }));
  return { ...content.others, ...entries };
}

const tightened = new Set<string>();
const warnedDeep = new Set<string>();

/**
 * A store file readable by others (mode looser than 0600) is tightened
 * through its open descriptor (never through a link), and so is its folder
 * (looser than 0700) when it is this user's own folder: never a shared one
 * such as /tmp (sticky) or the home folder. Once per path and process.
 */
function tightenModes(file: string, fd: number, stat: fs.Stats, warn: WarningSink, home = os.homedir()): void {
  if (tightened.has(file) || process.platform === 'win32') return;
  tightened.add(file);
  try {
    if ((stat.mode & 0o077) !== 0) {
      fs.fchmodSync(fd, 0o600);
      warn(`The token store's file ${file} was readable by others (mode ${(stat.mode & 0o777).toString(8)}); it is now 600.`);
    }
    const folder = path.dirname(file);
    const folderStat = fs.lstatSync(folder);
    if ((folderStat.mode & 0o077) === 0 || !folderStat.isDirectory() || folderStat.uid !== currentUid() || (folderStat.mode & 0o1000) !== 0) return;
    if (path.resolve(folder) === path.resolve(home)) return;
    fs.chmodSync(folder, 0o700);
    warn(`The token store's folder ${folder} was readable by others (mode ${(folderStat.mode & 0o777).toString(8)}); it is now 700.`);
  } catch {
    // Not ours to change: nothing to tighten.
  }
}

/**
 * Read the store file. A missing file is an empty store; an unreadable one
 * (empty, truncated, not JSON, wrong shape) is moved aside, never deleted,
 * and the person is told where. A symbolic link, a file that is not a
 * regular file, or one owned by another user is refused (`store_error`):
 * another user could have planted it to choose the person's identity.
 */
export function readStoreFile(file: string, warn: WarningSink): StoreContent {
  const text = readOwnFile(file, 'The token store', (fd, stat) => tightenModes(file, fd, stat, warn));
  if (text === undefined) return { shape: 'hosts', entries: {} };
  let content: StoreContent | undefined;
  try {
    content = parseStoreContent(JSON.parse(text));
  } catch {
    content = undefined;
  }
  if (content) {
    if (content.shape === 'hosts' && content.dropped && !warnedDeep.has(file)) {
      warnedDeep.add(file);
      warn(`The token store ${file} had entries nested too deeply to be written back (${content.dropped.map((host) => JSON.stringify(host)).join(', ')}); they are left out of the next write.`);
    }
    return content;
  }
  const aside = `${file}.corrupt-${Date.now()}`;
  try {
    fs.renameSync(file, aside); // rename moves the entry itself: never a link's target.
    warn(`The token store ${file} could not be read and was moved to ${aside}; a fresh store is used. Log in again if a token is missing.`);
  } catch {
    // Another process moved it first.
  }
  return { shape: 'hosts', entries: {} };
}

/** Make the store's folder (0700) if it is missing. */
export function ensureStoreFolder(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
}

/** Write the whole store atomically (temp file, fsync, rename) with mode 0600, through `conf`. */
export async function writeStoreFile(file: string, content: StoreContent): Promise<void> {
  ensureStoreFolder(file);
  assertWritable(file, 'The token store');
  const { default: Conf } = await import('conf');
  try {
    const conf = new Conf<Record<string, unknown>>({
      cwd: path.dirname(file),
      configName: path.basename(file),
      fileExtension: '',
      accessPropertiesByDotNotation: false,
      configFileMode: 0o600,
      clearInvalidConfig: false,
      serialize: (value) => `${JSON.stringify(value, undefined, 2)}\n`,
    });
    conf.store = serializeStoreContent(content) as Record<string, unknown>;
  } catch (error) {
    throw new AuthError('store_error', `Cannot write the token store ${file}: ${(error as Error).message}. Check the folder's permissions and free space.`, { cause: error });
  }
}
