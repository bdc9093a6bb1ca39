// Provider metadata and JWKS, fetched once and shared by every process
// through small files with an expiry, so a run with a valid cached token (or
// a second process) makes no discovery request. The files live in the
// user's private cache folder only: a discovery document planted by another
// user would send the refresh token and the client secret to them.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cacheHome } from '../../adapters/store/paths.ts';
import { get, type HttpOptions } from '../../adapters/http/http.ts';
import { currentUid, readOwnFile } from '../../adapters/store/safe-file.ts';
import { successJson } from '../../protocol/oauth.ts';
import type { Environment } from '../../types.ts';

/** The user's private cache folder for provider metadata: `${XDG_CACHE_HOME:-~/.cache}/oidc-auth-client/metadata`. */
export function defaultMetadataFolder(env: Environment = process.env): string {
  return path.join(cacheHome(env), 'oidc-auth-client', 'metadata');
}

/**
 * Whether `folder` (made 0700 if missing) is private: a real directory of
 * this user that nobody else can write or read. Any other folder is not
 * used; documents are then kept in memory only.
 */
function isPrivateFolder(folder: string): boolean {
  try {
    fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
    const stat = fs.lstatSync(folder);
    const uid = currentUid();
    return stat.isDirectory() && (uid === undefined || stat.uid === uid) && (process.platform === 'win32' || (stat.mode & 0o077) === 0);
  } catch {
    return false;
  }
}

/** Where and how long fetched documents are kept. */
export interface MetadataCacheOptions {
  /** Folder of the cache files; `undefined` keeps documents in memory only. */
  folder?: string | undefined;
  /** Seconds a fetched document stays fresh. @default 3600 */
  ttl?: number | undefined;
}

interface Entry {
  url: string;
  expires_at: number;
  body: Record<string, unknown>;
}

const memory = new Map<string, Entry>();

function fileFor(folder: string, url: string): string {
  return path.join(folder, `${createHash('sha256').update(url).digest('hex').slice(0, 32)}.json`);
}

function readEntry(file: string, url: string): Entry | undefined {
  try {
    const entry = JSON.parse(readOwnFile(file, 'The metadata cache file') ?? 'null') as Entry;
    return entry !== null && entry.url === url && typeof entry.expires_at === 'number' && entry.body !== null && typeof entry.body === 'object' ? entry : undefined;
  } catch {
    return undefined; // Missing or damaged: fetch again.
  }
}

function writeEntry(file: string, entry: Entry): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify(entry), { mode: 0o600 });
    fs.renameSync(temporary, file);
  } catch {
    // A cache that cannot be written only costs a request next time.
  }
}

const privateFolders = new Map<string, boolean>();

/**
 * The JSON document at `url`, read by `parse` (which throws when it is not
 * acceptable): from memory or the cache folder while fresh and accepted by
 * `parse` exactly as a fresh one would be, else fetched (and cached).
 * `refresh: true` skips the cache (a JWKS without the key an ID token names).
 */
export async function cachedJson<T>(url: string, what: string, http: HttpOptions, cache: MetadataCacheOptions, parse: (body: Record<string, unknown>) => T, refresh = false): Promise<T> {
  const now = Date.now() / 1000;
  let file: string | undefined;
  if (cache.folder) {
    let usable = privateFolders.get(cache.folder);
    if (usable === undefined) privateFolders.set(cache.folder, (usable = isPrivateFolder(cache.folder)));
    if (usable) file = fileFor(cache.folder, url);
  }
  if (!refresh) {
    const hit = memory.get(url) ?? (file ? readEntry(file, url) : undefined);
    if (hit && hit.expires_at > now) {
      try {
        return parse(hit.body);
      } catch {
        // A cached document that fails the checks of a fresh one is fetched again.
      }
    }
  }
  const response = await get(url, http);
  const body = successJson(response.status, response.text, what, response);
  const parsed = parse(body);
  const entry: Entry = { url, expires_at: now + (cache.ttl ?? 3600), body };
  memory.set(url, entry);
  if (file) writeEntry(file, entry);
  return parsed;
}

/** Forget the in-memory copies (tests). */
export function clearMetadataMemory(): void {
  memory.clear();
  privateFolders.clear();
}
