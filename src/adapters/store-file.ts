import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuthError } from '../errors.ts';
import { tokenFromStored } from '../protocol/token.ts';
import type { Token } from '../types.ts';

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
  | { shape: 'hosts'; entries: Record<string, StoreEntry>; others?: Record<string, unknown> | undefined }
  | { shape: 'single'; token: Token | undefined };

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
  for (const [host, entry] of Object.entries(record)) {
    const fields = entry !== null && typeof entry === 'object' ? entry as Record<string, unknown> : {};
    const version = typeof fields.version === 'number' ? fields.version : 0;
    const token = version <= STORE_FORMAT_VERSION ? tokenFromStored(fields.token) : undefined;
    if (!token) {
      others[host] = entry; // Not ours to judge or drop: written back as it was.
      continue;
    }
    const storedAt = fields.stored_at;
    // The ID token (standard providers) lives beside the token, so the token keeps exactly the Python client's fields.
    if (typeof fields.id_token === 'string' && fields.id_token !== '' && token.id_token === undefined) token.id_token = fields.id_token;
    entries[host] = { token, stored_at: typeof storedAt === 'number' ? storedAt : 0, version };
  }
  return Object.keys(others).length > 0 ? { shape: 'hosts', entries, others } : { shape: 'hosts', entries };
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

/**
 * A store file readable by others (mode looser than 0600) is tightened, and
 * so is its folder (looser than 0700) when it is this user's own folder: never
 * a shared one such as /tmp (sticky) or the home folder. Once per path and process.
 */
export function tightenModes(file: string, warn: WarningSink, home = os.homedir()): void {
  if (tightened.has(file) || process.platform === 'win32') return;
  tightened.add(file);
  const fix = (target: string, wanted: number, what: string) => {
    try {
      const stat = fs.statSync(target);
      if ((stat.mode & 0o077) === 0) return;
      if (what === 'folder' && (stat.uid !== process.getuid?.() || (stat.mode & 0o1000) !== 0 || path.resolve(target) === path.resolve(home))) return;
      fs.chmodSync(target, wanted);
      warn(`The token store's ${what} ${target} was readable by others (mode ${(stat.mode & 0o777).toString(8)}); it is now ${wanted.toString(8)}.`);
    } catch {
      // Missing, or not ours to change: nothing to tighten.
    }
  };
  fix(file, 0o600, 'file');
  fix(path.dirname(file), 0o700, 'folder');
}

/**
 * Read the store file. A missing file is an empty store; an unreadable one
 * (empty, truncated, not JSON, wrong shape) is moved aside, never deleted,
 * and the person is told where it went.
 */
export function readStoreFile(file: string, warn: WarningSink): StoreContent {
  tightenModes(file, warn);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { shape: 'hosts', entries: {} };
    throw new AuthError('store_error', `Cannot read the token store ${file}: ${(error as Error).message}. Check its permissions.`, { cause: error });
  }
  let content: StoreContent | undefined;
  try {
    content = parseStoreContent(JSON.parse(text));
  } catch {
    content = undefined;
  }
  if (content) return content;
  const aside = `${file}.corrupt-${Date.now()}`;
  try {
    fs.renameSync(file, aside);
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
