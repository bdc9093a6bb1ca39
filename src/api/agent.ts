// The agent: one per user and store. It keeps every login of its store
// fresh in the background and answers access tokens (never a refresh token)
// over a UNIX socket, in oidc-agent's IPC format so that oidc-agent's own
// clients work too.
import { writeOwnFileAtomic } from '../adapters/store/safe-file.ts';
import { listLogins, type StoredSummary, type TokenStoreBackend } from '../adapters/store/contract.ts';
import { startAgentServer, type AgentServer } from '../adapters/agent/server.ts';
import { agentSocketPath } from '../adapters/agent/socket.ts';
import { debug } from '../debug.ts';
import { AuthError, isAuthError } from '../errors.ts';
import { failureAnswer, successAnswer, type AgentRequest } from '../protocol/agent-ipc.ts';
import { normalizeHost } from '../protocol/host.ts';
import { accountOfKey, DEFAULT_ACCOUNT, PROVIDER_KEY_PREFIX, serverOfKey } from '../protocol/store-key.ts';
import { nowSeconds } from '../protocol/token.ts';
import type { Token } from '../types.ts';
import { authenticate, reauthenticate } from './authenticate.ts';
import type { ServerOptions } from './settings.ts';

/** Options of {@link startAgent}. */
export interface AgentOptions {
  /** The store whose logins the agent keeps fresh and serves. */
  store: TokenStoreBackend;
  /** The socket. @default one per user and store under `$XDG_RUNTIME_DIR/oidc-auth` (else a private folder under /tmp) */
  socketPath?: string | undefined;
  /** Keep the WLCG bearer token file of this login rewritten before each expiry. */
  bearerTokenFile?: {
    /** The store key of the login whose access token goes into the file. */
    login: string;
    /** The file, written 0600 and atomically (WLCG Bearer Token Discovery reads `$XDG_RUNTIME_DIR/bt_u$UID`). */
    file: string;
  } | undefined;
  /** Told about each background refresh and its failures (no secret). */
  log?: ((line: string) => void) | undefined;
}

/** A running agent. */
export interface Agent {
  /** The socket clients use (`OIDC_AUTH_SOCK`). */
  readonly socketPath: string;
  /** Resolves when the agent stops (`--stop`, or {@link Agent.stop}). */
  readonly stopped: Promise<void>;
  /** The logins it keeps fresh, without secrets. */
  status(): AgentStatus;
  /** Stop serving, close and remove the socket; resolves when done. */
  stop(): Promise<void>;
}

/** What `oidc-auth agent --status` shows. */
export interface AgentStatus {
  /** The agent's process id. */
  pid: number;
  /** The store it serves (its path, or the store's id). */
  store: string;
  /** Every login of the store, without secrets. */
  logins: Array<{
    /** The store key. */
    key: string;
    /** The server (the key without its account). */
    server: string;
    /** The account name (`default` for the unnamed one). */
    account: string;
    /** When the access token held expires, in Unix seconds; undefined when none is held. */
    expires: number | undefined;
    /** Why the last background refresh failed, if it did. */
    lastError?: string | undefined;
  }>;
}

/** The server options that reach the login stored under `key` (default routes for a py-oidc-auth server). */
export function optionsOfKey(key: string): ServerOptions {
  const account = accountOfKey(key);
  const server = serverOfKey(key);
  const hash = server.indexOf('#');
  const params = new URLSearchParams(hash < 0 ? '' : server.slice(hash + 1));
  const scope = params.get('scope') ?? undefined;
  if (key.startsWith(PROVIDER_KEY_PREFIX)) {
    return { issuer: server.slice(PROVIDER_KEY_PREFIX.length, hash), clientId: params.get('client_id') ?? '', scope, account, ...(params.get('proof') === 'dpop' ? { dpop: true } : {}) };
  }
  return { host: hash < 0 ? server : server.slice(0, hash), scope, account };
}

/** The issuer (or server URL) a login's tokens come from, as oidc-agent names it in answers. */
function issuerOf(key: string): string {
  const options = optionsOfKey(key);
  return options.issuer ?? options.host ?? key;
}

function sameUrl(a: string, b: string): boolean {
  const trim = (text: string) => text.replace(/\/+$/, '');
  if (trim(a) === trim(b)) return true;
  try {
    return normalizeHost(a) === normalizeHost(b) && !/^https?:\/\/[^/]+\/./.test(trim(a)) && !/^https?:\/\/[^/]+\/./.test(trim(b));
  } catch {
    return false;
  }
}

/**
 * The login a request names: `host` (ours), `issuer`, or `account` (an
 * issuer or server URL, or an account name of ours); the default account
 * when a URL has several. A string says why none or which to choose.
 */
export function chooseLogin(request: AgentRequest, logins: readonly StoredSummary[]): string | { error: string; info: string } {
  const url = request.host ?? request.issuer ?? (request.account?.includes('://') ? request.account : undefined);
  const accountName = request.account !== undefined && !request.account.includes('://') ? request.account : undefined;
  let candidates = [...logins];
  if (url !== undefined) candidates = candidates.filter((login) => sameUrl(issuerOf(login.host), url));
  if (accountName !== undefined) candidates = candidates.filter((login) => login.account === accountName);
  else if (url !== undefined && candidates.length > 1) candidates = candidates.filter((login) => login.account === DEFAULT_ACCOUNT);
  if (candidates.length === 1 && candidates[0]) return candidates[0].host;
  const named = url ?? accountName;
  if (candidates.length === 0) {
    const command = url && !url.startsWith(PROVIDER_KEY_PREFIX) ? `oidc-auth ${url}${accountName ? ` --account ${accountName}` : ''}` : 'oidc-auth <server>';
    return { error: `no login for ${named ?? 'any server'} in the agent's store`, info: `Log in on the agent's machine: ${command} (with the agent's store), then ask again.` };
  }
  return { error: `${candidates.length} logins match ${named ?? 'the request'}`, info: `Name one: ${candidates.map((login) => `${issuerOf(login.host)} (account ${login.account})`).join(', ')}.` };
}

/** Seconds before expiry at which a token of `lifetime` seconds is refreshed in the background. */
export function refreshMargin(lifetime: number): number {
  return Math.min(Math.max(60, lifetime * 0.1), lifetime * 0.3);
}

/**
 * Start an agent for `options.store`: it keeps the store's logins fresh and
 * serves their access tokens on a socket only this user can open (refresh
 * tokens never leave it). `oidc-auth agent --foreground` runs the same.
 *
 * @example
 * ```ts
 * const agent = await startAgent({ store: new TokenStore() });
 * process.env.OIDC_AUTH_SOCK = agent.socketPath; // authenticate() now asks the agent first
 * await agent.stop();
 * ```
 */
export async function startAgent(options: AgentOptions): Promise<Agent> {
  const { store } = options;
  const socketPath = options.socketPath ?? agentSocketPath(store.id);
  const log = options.log ?? ((line: string) => debug(() => line));
  const held = new Map<string, { token?: Token | undefined; issuedAt: number; timer?: NodeJS.Timeout | undefined; failures: number; lastError?: string | undefined }>();
  let stopping = false;
  let resolveStopped: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));

  const writeBearerFile = (key: string, token: Token) => {
    if (options.bearerTokenFile?.login !== key) return;
    try {
      writeOwnFileAtomic(options.bearerTokenFile.file, token.access_token, 'The bearer token file');
    } catch (error) {
      log(`cannot write ${options.bearerTokenFile.file}: ${(error as Error).message}`);
    }
  };

  /** Remember a fresh token of `key` and schedule its next refresh, a little before its margin, with jitter. */
  const keep = (key: string, token: Token) => {
    const entry = held.get(key) ?? { issuedAt: nowSeconds(), failures: 0 };
    clearTimeout(entry.timer);
    const now = nowSeconds();
    if (entry.token?.access_token !== token.access_token) entry.issuedAt = now;
    entry.token = token;
    entry.failures = 0;
    entry.lastError = undefined;
    const lifetime = Math.max(1, token.expires - entry.issuedAt);
    const margin = refreshMargin(lifetime);
    const delay = Math.max(0.1, token.expires - now - margin - Math.random() * margin * 0.2);
    entry.timer = stopping ? undefined : setTimeout(() => void refresh(key), delay * 1000);
    entry.timer?.unref();
    held.set(key, entry);
    writeBearerFile(key, token);
  };

  const refresh = async (key: string) => {
    const entry = held.get(key);
    if (stopping || !entry) return;
    try {
      keep(key, await reauthenticate({ ...optionsOfKey(key), store, interactive: false }));
      log(`refreshed ${key} in the background`);
    } catch (error) {
      entry.failures += 1;
      entry.lastError = isAuthError(error) ? `${error.code}: ${error.message}` : String(error);
      const wait = Math.min(60, 2 ** Math.min(entry.failures, 6));
      log(`the background refresh of ${key} failed (${entry.lastError}); trying again in ${wait} s`);
      if (isAuthError(error) && error.code === 'login_required') return; // Nothing to refresh with: a login on this machine brings it back.
      entry.timer = setTimeout(() => void refresh(key), wait * 1000);
      entry.timer.unref();
    }
  };

  /** The store's logins, listed again only when the store changed (one version check per request). */
  let listed: { version: string | undefined; logins: StoredSummary[] } | undefined;
  const logins = async (): Promise<StoredSummary[]> => {
    const version = await store.version();
    if (listed && version !== undefined && listed.version === version) return listed.logins;
    listed = { version, logins: await listLogins(store) };
    return listed.logins;
  };

  /** Start keeping every login of the store that the agent does not keep yet; resolves to the store's logins (one version check while it is unchanged). */
  let scanned: StoredSummary[] | undefined;
  const scan = async (): Promise<StoredSummary[]> => {
    const current = await logins();
    if (current === scanned) return current;
    scanned = current;
    for (const login of current) {
      if (held.has(login.host)) continue;
      held.set(login.host, { issuedAt: login.stored_at, failures: 0 });
      try {
        keep(login.host, await authenticate({ ...optionsOfKey(login.host), store, interactive: false, minValidity: 60, agent: false }));
      } catch (error) {
        const entry = held.get(login.host);
        if (entry) entry.lastError = isAuthError(error) ? `${error.code}: ${error.message}` : String(error);
      }
    }
    return current;
  };
  const scanner = setInterval(() => void scan().catch(() => {}), 2000);
  scanner.unref();

  const serve = async (request: AgentRequest): Promise<string> => {
    if (request.request === 'status') return JSON.stringify({ status: 'success', ...status() });
    if (request.request === 'stop') {
      setImmediate(() => void stop());
      return JSON.stringify({ status: 'success', info: 'the agent stops' });
    }
    if (request.request !== 'access_token') return failureAnswer(`unknown request "${request.request}"`, 'This agent answers access_token, status and stop.');
    const chosen = chooseLogin(request, await scan().catch(() => logins()));
    if (typeof chosen !== 'string') return failureAnswer(chosen.error, chosen.info);
    const reach = optionsOfKey(chosen);
    // A DPoP-bound token is worth nothing without its key, and the key stays with the store: it is not served.
    if (reach.dpop === true) {
      return failureAnswer('the login is DPoP-bound', 'Its tokens need a proof signed with a key that stays in the store; use the library (authenticatedFetch) with that store instead of the agent.');
    }
    const wanted = Math.max(0, request.min_valid_period ?? 0);
    const entry = held.get(chosen);
    // The token kept fresh serves while it has what the client asks left (oidc-agent's min_valid_period, not our 60 s floor).
    if (entry?.token && entry.token.expires - nowSeconds() > Math.max(wanted, 1)) return successAnswer(entry.token, issuerOf(chosen));
    try {
      const token = await reauthenticate({ ...reach, store, interactive: false });
      keep(chosen, token);
      return successAnswer(token, issuerOf(chosen));
    } catch (error) {
      const message = error instanceof AuthError ? error.message : String(error);
      return failureAnswer(error instanceof AuthError ? error.code : 'failure', message);
    }
  };

  const status = (): AgentStatus => ({
    pid: process.pid,
    store: store.id,
    logins: [...held].map(([key, entry]) => ({ key, server: serverOfKey(key), account: accountOfKey(key), expires: entry.token?.expires, ...(entry.lastError ? { lastError: entry.lastError } : {}) })),
  });

  const server: AgentServer = await startAgentServer(socketPath, serve);
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(scanner);
    for (const entry of held.values()) clearTimeout(entry.timer);
    await server.close();
    resolveStopped();
  };
  await scan().catch(() => {});
  return { socketPath, stopped, status, stop };
}
