import fs from 'node:fs';
import path from 'node:path';
import { AuthError } from '../errors.ts';
import { tokenFromStored } from '../protocol/token.ts';
import type { Token } from '../types.ts';

/** One host's entry, exactly as the Python client writes it. */
export interface StoreEntry {
  token: Token;
  stored_at: number;
}

/**
 * What a store file holds: the Python client's map of host -> entry, or a
 * single token (a file made with `oidc-auth HOST --json`, used through
 * `OIDC_TOKEN_FILE`), which then serves every host.
 */
export type StoreContent =
  | { shape: 'hosts'; entries: Record<string, StoreEntry> }
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
  for (const [host, entry] of Object.entries(record)) {
    if (entry === null || typeof entry !== 'object') continue;
    const token = tokenFromStored((entry as Record<string, unknown>).token);
    if (!token) continue;
    const storedAt = (entry as Record<string, unknown>).stored_at;
    entries[host] = { token, stored_at: typeof storedAt === 'number' ? storedAt : 0 };
  }
  return { shape: 'hosts', entries };
}

/** Serialise back into the shape the file had. */
export function serializeStoreContent(content: StoreContent): unknown {
  return content.shape === 'single' ? content.token ?? {} : content.entries;
}

/**
 * Read the store file. A missing file is an empty store; an unreadable one
 * (empty, truncated, not JSON, wrong shape) is moved aside, never deleted,
 * and the person is told where it went.
 */
export function readStoreFile(file: string, warn: WarningSink): StoreContent {
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
