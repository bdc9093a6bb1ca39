// What both CLI paths share. Light on purpose: the fast path loads it.
import { sharedMemoryStore } from '../adapters/store/memory-store.ts';
import type { TokenStoreBackend } from '../adapters/store/contract.ts';
import { chooseStore, isStoreName, type StoreName } from '../adapters/store/choice.ts';
import { TokenStore } from '../adapters/store/file-store.ts';
import type { Token } from '../types.ts';
import { AuthError } from '../errors.ts';
import { isDpopTokenType } from '../protocol/dpop.ts';
import { DEFAULT_PROVIDER_SCOPE, hostKey, providerKey, scopeList, withAccount } from '../protocol/store-key.ts';
import fs from 'node:fs';
import { accountsFile } from '../adapters/store/paths.ts';
import type { LoginChoice, OutputKind, StoreChoice } from './args.ts';


/** The store key of a login command's server, without the account. */
export function serverKey(choice: LoginChoice): string {
  if (choice.issuer !== undefined) return providerKey(choice.issuer, choice.clientId ?? '', scopeList(choice.scope ?? DEFAULT_PROVIDER_SCOPE), undefined, choice.dpop === true);
  return hostKey(choice.host ?? '', { scope: choice.exchangeFrom === undefined ? scopeList(choice.scope) : undefined });
}

/**
 * The store key a login command reads and writes: its server's, with the
 * account from --account, else OIDC_AUTH_ACCOUNT, else the one `switch` chose.
 */
export async function loginKey(choice: LoginChoice, storeId: string, env: NodeJS.ProcessEnv): Promise<string> {
  const server = serverKey(choice);
  const named = choice.account ?? (env.OIDC_AUTH_ACCOUNT?.trim() ? env.OIDC_AUTH_ACCOUNT : undefined);
  if (named !== undefined) return withAccount(server, named);
  // The accounts file's reader loads only where `switch` ever wrote one (one stat otherwise).
  if (!fs.existsSync(accountsFile(env))) return server;
  const { rememberedAccount } = await import('../adapters/store/accounts.ts');
  return withAccount(server, rememberedAccount(storeId, server, env));
}

/** Documented exit codes. */
export const EXIT = { ok: 0, failed: 1, usage: 2, loginRequired: 3, cancelled: 130 } as const;

/** Where the CLI writes, and the environment it reads. */
export interface CliIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

/**
 * The store named by --store (a file, `keyring`, `file`, `memory`, or
 * `redis://host:port/db?prefix=app:`), else OIDC_TOKEN_FILE, else
 * OIDC_AUTH_STORE, else the file store for --app-name.
 */
export async function openStore(choice: StoreChoice): Promise<TokenStoreBackend> {
  if (choice.noStore) return sharedMemoryStore();
  const kind = choice.store === undefined ? undefined : storeArgumentKind(choice.store);
  if (choice.store && kind === 'redis') {
    const url = new URL(choice.store);
    const prefix = url.searchParams.get('prefix') ?? undefined;
    url.search = '';
    const { RedisTokenStore } = await import('../adapters/store/redis-store.ts');
    return new RedisTokenStore({ url: url.toString(), prefix });
  }
  if (kind !== undefined && kind !== 'redis' && kind !== 'path') return chooseStore(kind, choice.appName);
  return choice.store ? new TokenStore({ path: choice.store }) : chooseStore(undefined, choice.appName);
}

/**
 * What a --store value names: a Redis URL, a store by name, or a file path
 * (POSIX, or Windows: `C:\Users\...`, `C:/...`, UNC `\\server\share\...`).
 */
export function storeArgumentKind(value: string): 'redis' | 'path' | StoreName {
  if (/^rediss?:\/\//i.test(value)) return 'redis';
  const name = value.toLowerCase();
  return isStoreName(name) ? name : 'path';
}

/**
 * Refuse a DPoP-bound token (RFC 9449) where `what` would carry it: a fixed
 * header or a tool's bearer credential cannot carry the proof each request
 * needs. The error says what works instead.
 */
export function assertBearer(token: Token, what: string): void {
  if (!isDpopTokenType(token.token_type)) return;
  throw new AuthError('settings_conflict', `This login's token is DPoP-bound: every request needs a proof of its own, which ${what} cannot carry. ` +
    'Print both headers for one request with --dpop-proof METHOD URL (e.g. | curl -H @- URL), or use the library\'s authenticatedFetch, which signs each request.');
}

/** What goes to stdout: the token, the whole token as JSON, or an Authorization header line (`dpop-proof`: see {@link formatProof}). */
export function formatToken(token: Token, output: OutputKind): string {
  if (output === 'json') return `${JSON.stringify(token, undefined, 2)}\n`;
  if (output === 'header') {
    assertBearer(token, 'a fixed --header');
    return `Authorization: ${token.headers.Authorization}\n`;
  }
  return `${token.access_token}\n`;
}

/** `--dpop-proof METHOD URL`: the two headers of one request with a DPoP-bound token, one per line (`curl -H @-` reads them). */
export async function formatProof(token: Token, method: string, url: string): Promise<string> {
  if (!isDpopTokenType(token.token_type) || !token.dpop_key) throw new AuthError('settings_conflict', 'This login\'s token is not DPoP-bound, so it has no proof to print. Use --header.');
  const { dpopKeyFromJwk, signDpopProof } = await import('../servers/client/dpop.ts');
  const proof = await signDpopProof(await dpopKeyFromJwk(token.dpop_key), method, url, token.access_token);
  return `Authorization: DPoP ${token.access_token}\nDPoP: ${proof}\n`;
}

/** Everything written to our stdin (git's few request lines), up to 64 KiB. */
export async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.length > 65_536) break;
  }
  return text;
}
