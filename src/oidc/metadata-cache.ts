// Provider metadata and JWKS, fetched once and shared by every process
// through small files with an expiry, so a run with a valid cached token (or
// a second process) makes no discovery request.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { get, type HttpOptions } from '../adapters/http.ts';
import { successJson } from '../protocol/oauth.ts';

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
    const entry = JSON.parse(fs.readFileSync(file, 'utf8')) as Entry;
    return entry.url === url && typeof entry.expires_at === 'number' && entry.body !== null && typeof entry.body === 'object' ? entry : undefined;
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

/**
 * The JSON document at `url`: from memory or the cache folder while fresh,
 * else fetched (and cached). `refresh: true` skips the cache (a JWKS without
 * the key an ID token names).
 */
export async function cachedJson(url: string, what: string, http: HttpOptions, cache: MetadataCacheOptions, refresh = false): Promise<Record<string, unknown>> {
  const now = Date.now() / 1000;
  const file = cache.folder ? fileFor(cache.folder, url) : undefined;
  if (!refresh) {
    const hit = memory.get(url) ?? (file ? readEntry(file, url) : undefined);
    if (hit && hit.expires_at > now) return hit.body;
  }
  const response = await get(url, http);
  const body = successJson(response.status, response.text, what, response);
  const entry: Entry = { url, expires_at: now + (cache.ttl ?? 3600), body };
  memory.set(url, entry);
  if (file) writeEntry(file, entry);
  return body;
}

/** Forget the in-memory copies (tests). */
export function clearMetadataMemory(): void {
  memory.clear();
}
