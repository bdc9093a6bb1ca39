import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuthError } from '../../errors.ts';
import { identityFromStored, tokenFromStored } from '../../protocol/token.ts';
import type { StoredEntry } from './contract.ts';
import type { Token } from '../../types.ts';
import { assertWritable, currentUid, readOwnFile } from './safe-file.ts';

/**
 * Format version written into every entry (the Python client ignores the
 * extra key; a missing one means a file it wrote). Entries of a newer version,
 * or that we cannot read, are kept as they are and written back unchanged.
 */
export const STORE_FORMAT_VERSION = 1;

/** One host's entry, as the Python client writes it (plus `version`). */
export interface StoreEntry extends StoredEntry {
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
    const who = identityFromStored(fields.who);
    if (who && token.who === undefined) token.who = who;
    entries[host] = { token, stored_at: typeof storedAt === 'number' ? storedAt : 0, version };
  }
  return {
    shape: 'hosts',
    entries,
    ...(Object.keys(others).length > 0 ? { others } : {}),
    ...(dropped.length > 0 ? { dropped } : {}),
  };
}

/** One entry as the file holds it: the token with exactly the Python client's fields, the ID token and who logged in beside it. */
function serializeEntry(entry: StoreEntry): Record<string, unknown> {
  const { id_token: idToken, who, ...token } = entry.token;
  return { token, stored_at: entry.stored_at, version: STORE_FORMAT_VERSION, ...(idToken ? { id_token: idToken } : {}), ...(who ? { who } : {}) };
}

/** Serialise back into the shape the file had. */
export function serializeStoreContent(content: StoreContent): unknown {
  if (content.shape === 'single') return content.token ?? {};
  const entries = Object.fromEntries(Object.entries(content.entries).map(([host, entry]) => [host, serializeEntry(entry)]));
  return { ...content.others, ...entries };
}

/** The text of each entry as last written, as a member of the file's object: an entry object is never changed once made, so its text stays right. */
const memberTexts = new WeakMap<StoreEntry, { key: string; text: string }>();

/** `text`, a JSON value printed with an indent of 2, as the value of `key` one level down. */
function member(key: string, text: string): string {
  return `  ${JSON.stringify(key)}: ${text.replace(/\n/g, '\n  ')}`;
}

/**
 * The file's text for `content`: exactly `JSON.stringify(serializeStoreContent(content), undefined, 2)`
 * and a newline, built from the text of each entry, which is kept from the
 * last write for an unchanged entry. A refresh in a store of thousands of
 * logins stringifies one entry, not the whole store (bench/growth.ts).
 */
export function storeText(content: StoreContent): string {
  if (content.shape === 'single') return `${JSON.stringify(content.token ?? {}, undefined, 2)}\n`;
  const entryMember = (key: string, entry: StoreEntry) => {
    const known = memberTexts.get(entry);
    if (known?.key === key) return known.text;
    const text = member(key, JSON.stringify(serializeEntry(entry), undefined, 2));
    memberTexts.set(entry, { key, text });
    return text;
  };
  const parts: string[] = [];
  // The order of `{ ...others, ...entries }`: unknown entries first; a key in both has the unknown one's place and the entry's value.
  for (const [key, value] of Object.entries(content.others ?? {})) {
    const entry = Object.hasOwn(content.entries, key) ? content.entries[key] : undefined;
    parts.push(entry ? entryMember(key, entry) : member(key, JSON.stringify(value, undefined, 2)));
  }
  for (const [key, entry] of Object.entries(content.entries)) if (!content.others || !Object.hasOwn(content.others, key)) parts.push(entryMember(key, entry));
  return parts.length === 0 ? '{}\n' : `{\n${parts.join(',\n')}\n}\n`;
}

const warnedShared = new Set<string>();
const warnedDeep = new Set<string>();

/** How a store file is treated: whether its path is the library's own default or one the person chose. */
export interface StoreFileOptions {
  /**
   * The person chose this path (`OIDC_TOKEN_FILE`, `--store`, `new
   * TokenStore({ path })`): its folder is never changed, and a file others
   * can read gets one warning. Else it is the library's own default store,
   * whose folder is made private when the store is written.
   */
  chosen: boolean;
}

/** One warning per file and process when others can read a chosen token file (a group project folder may want that; the person decides). */
function warnIfShared(file: string, stat: fs.Stats, warn: WarningSink): void {
  if (process.platform === 'win32' || (stat.mode & 0o077) === 0 || warnedShared.has(file)) return;
  warnedShared.add(file);
  const who = (stat.mode & 0o007) !== 0 ? 'every user of this machine' : 'the members of its group';
  warn(`The token file ${file} can be read by ${who} (mode ${(stat.mode & 0o777).toString(8)}), who can then use your login. ` +
    `If that is not intended, run: chmod 600 ${file}`);
}

/**
 * Make the library's own store folder private (0700) when it writes there:
 * only a folder of this user, never a sticky shared one such as /tmp, never
 * the home folder.
 */
function tightenOwnFolder(folder: string, warn: WarningSink, home = os.homedir()): void {
  if (process.platform === 'win32') return;
  try {
    const stat = fs.lstatSync(folder);
    if ((stat.mode & 0o077) === 0 || !stat.isDirectory() || stat.uid !== currentUid() || (stat.mode & 0o1000) !== 0) return;
    if (path.resolve(folder) === path.resolve(home)) return;
    fs.chmodSync(folder, 0o700);
    warn(`The token store's folder ${folder} was readable by others (mode ${(stat.mode & 0o777).toString(8)}); it is now 700.`);
  } catch {
    // Not ours to change.
  }
}

/**
 * Read the store file. A missing file is an empty store; an unreadable one
 * (empty, truncated, not JSON, wrong shape) is moved aside, never deleted,
 * and the person is told where. A symbolic link, a file that is not a
 * regular file, or one owned by another user is refused (`store_error`):
 * another user could have planted it to choose the person's identity.
 */
export function readStoreFile(file: string, warn: WarningSink, options: StoreFileOptions = { chosen: true }): StoreContent {
  // Reading never changes a mode.
  const text = readOwnFile(file, 'The token store', options.chosen ? (_fd, stat) => warnIfShared(file, stat, warn) : undefined);
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

/** Make the store's folder (0700: the library created it) if it is missing. */
export function ensureStoreFolder(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
}

/** A file's `conf`, and the text its next write puts in the file. */
type ConfStore = { conf: { store: Record<string, unknown> }; next: { text: string | undefined } };
const confs = new Map<string, Promise<ConfStore>>();

/**
 * One `conf` instance per store file. conf is the atomic writer (temporary
 * file, fsync, rename, mode 0600); the text is ours ({@link storeText}), handed
 * to it through `serialize`. Reads are ours too (readStoreFile), so conf's own
 * reading, which it does before every whole-store write for bookkeeping this
 * store never has, gets nothing to parse: parsing a large store again per
 * write cost more than the write itself (bench/growth.ts).
 */
function confFor(file: string): Promise<ConfStore> {
  let made = confs.get(file);
  if (!made) {
    // Set just before each write and taken by it: a write conf might make of its own accord throws instead of writing a stale text.
    const next: { text: string | undefined } = { text: undefined };
    const take = () => {
      const { text } = next;
      next.text = undefined;
      if (text === undefined) throw new Error('conf wrote the token store without a text from this store');
      return text;
    };
    made = import('conf').then(({ default: Conf }) => ({
      next,
      conf: new Conf<Record<string, unknown>>({
        cwd: path.dirname(file),
        configName: path.basename(file),
        fileExtension: '',
        accessPropertiesByDotNotation: false,
        configFileMode: 0o600,
        clearInvalidConfig: false,
        serialize: take,
        deserialize: () => ({}),
      }),
    }));
    made.catch(() => confs.delete(file)); // Made again on the next write.
    confs.set(file, made);
  }
  return made;
}

/**
 * Write the whole store atomically (temp file, fsync, rename) as a new file
 * with mode 0600, through `conf`. The folder of a chosen path is left as it
 * is; the library's own folder is made private.
 */
export async function writeStoreFile(file: string, content: StoreContent, warn: WarningSink = () => {}, options: StoreFileOptions = { chosen: true }): Promise<void> {
  ensureStoreFolder(file);
  if (!options.chosen) tightenOwnFolder(path.dirname(file), warn);
  assertWritable(file, 'The token store');
  try {
    const { conf, next } = await confFor(file);
    next.text = storeText(content);
    conf.store = {}; // The value conf is given is not what it writes: it writes next.text (see confFor).
  } catch (error) {
    throw new AuthError('store_error', `Cannot write the token store ${file}: ${(error as Error).message}. Check the folder's permissions and free space.`, { cause: error });
  }
}
