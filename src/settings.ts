import { tokenFileFromEnv } from './adapters/environment.ts';
import type { HostSettings } from './host-actor.ts';
import { TokenStore } from './token-store.ts';
import { DEFAULT_CONFIG, type Config } from './types.ts';

/** Seconds a person has to finish an interactive login unless told otherwise. */
export const DEFAULT_LOGIN_TIMEOUT = 600;

/** Where and how to reach a py-oidc-auth server; every field but `host` is optional. */
export interface ServerOptions {
  /** Base URL of the application server, e.g. `https://myapp.example.org` (a path prefix is kept). */
  host: string;
  /** @default '/auth/v2/login' */
  loginRoute?: string | undefined;
  /** @default '/auth/v2/token' */
  tokenRoute?: string | undefined;
  /** @default '/auth/v2/device' */
  deviceRoute?: string | undefined;
  /** Loopback ports tried in order for the code-flow callback. @default 53100-53105 */
  redirectPorts?: number[] | undefined;
  /** Seconds one HTTP request may take. @default 30 */
  requestTimeout?: number | undefined;
  /**
   * Token store. Default: the file named by `OIDC_TOKEN_FILE` if set, else
   * the Python client's default store for `appName`.
   */
  store?: TokenStore | undefined;
  /** Store folder name when no `store` is given. @default 'py-oidc-auth' */
  appName?: string | undefined;
  /** Transport override (proxies, tests). @default globalThis.fetch */
  fetch?: typeof globalThis.fetch | undefined;
}

/**
 * The store used when none is given: the file named by `OIDC_TOKEN_FILE`
 * if set, else the Python client's default store for `appName`.
 */
export function defaultStore(appName?: string, env: NodeJS.ProcessEnv = process.env): TokenStore {
  const tokenFile = tokenFileFromEnv(env);
  return tokenFile ? new TokenStore({ path: tokenFile }) : new TokenStore({ appName });
}

/** Fill in defaults and pick the store. */
export function resolveSettings(options: ServerOptions, env: NodeJS.ProcessEnv = process.env): HostSettings {
  if (typeof options.host !== 'string' || options.host.trim() === '') {
    throw new TypeError('host is required: the base URL of the py-oidc-auth application server, e.g. https://myapp.example.org');
  }
  const config: Config = {
    host: options.host.trim(),
    loginRoute: options.loginRoute ?? DEFAULT_CONFIG.loginRoute,
    tokenRoute: options.tokenRoute ?? DEFAULT_CONFIG.tokenRoute,
    deviceRoute: options.deviceRoute ?? DEFAULT_CONFIG.deviceRoute,
    redirectPorts: options.redirectPorts ?? [...DEFAULT_CONFIG.redirectPorts],
    requestTimeout: options.requestTimeout ?? DEFAULT_CONFIG.requestTimeout,
  };
  const store = options.store ?? defaultStore(options.appName, env);
  return { config, store, fetch: options.fetch };
}
