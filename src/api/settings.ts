import { routesBackend } from '../servers/py-oidc-auth.ts';
import { hostProblem } from '../protocol/host.ts';
import type { HostSettings } from '../servers/backend.ts';
import { defaultMetadataFolder } from '../servers/client/metadata-cache.ts';
import { providerBackend, type ProviderSettings } from '../servers/provider.ts';
import type { TokenStoreBackend } from '../adapters/store/contract.ts';
import { chooseStore } from '../adapters/store/choice.ts';
import { DEFAULT_CONFIG, type Config, type Environment } from '../types.ts';

/** Seconds a person has to finish an interactive login unless told otherwise. */
export const DEFAULT_LOGIN_TIMEOUT = 600;

/**
 * Which server to use and how to reach it: either `host` (an application
 * server with the py-oidc-auth routes) or `issuer` + `clientId` (any standard
 * OpenID provider, found through discovery).
 */
export interface ServerOptions {
  /** Base URL of the application server, e.g. `https://myapp.example.org` (a path prefix is kept). */
  host?: string | undefined;
  /** @default '/auth/v2/login' */
  loginRoute?: string | undefined;
  /** @default '/auth/v2/token' */
  tokenRoute?: string | undefined;
  /** @default '/auth/v2/device' */
  deviceRoute?: string | undefined;
  /**
   * Loopback ports tried in order for the code-flow callback. Host mode
   * default: 53100-53105. Issuer mode default: `[redirectPort ?? 0]` (0 = any
   * free port, for providers that allow any loopback port, RFC 8252 7.3);
   * give the registered ports for a provider that matches redirect URIs exactly.
   */
  redirectPorts?: number[] | undefined;
  /** A standard OpenID provider's issuer URL, exactly as its discovery document names it. */
  issuer?: string | undefined;
  /** The client id registered at the provider (with `issuer`). */
  clientId?: string | undefined;
  /** The client secret, for a confidential client (with `issuer`). */
  clientSecret?: string | undefined;
  /** Scopes to ask the provider for (with `issuer`). @default ['openid', 'offline_access'] */
  scope?: string | string[] | undefined;
  /** Port of the loopback redirect `http://127.0.0.1:<port>/callback` (with `issuer`). @default 0: any free port */
  redirectPort?: number | undefined;
  /** More Client options for the provider (auth method, private key, clock tolerance). */
  client?: ProviderSettings['client'];
  /** Seconds one HTTP request may take. @default 30 */
  requestTimeout?: number | undefined;
  /**
   * Token store: a `TokenStore` (a file), `'file'`, `'keyring'` (the
   * operating system's keyring, falling back visibly to the file), `'memory'`,
   * or any {@link TokenStoreBackend} (for example `RedisTokenStore` from
   * `oidc-auth-client/redis`). Default: the file named by `OIDC_TOKEN_FILE`
   * if set, else what `OIDC_AUTH_STORE` names (`file`, `keyring`, `memory`),
   * else the Python client's default store for `appName`.
   */
  store?: TokenStoreBackend | 'file' | 'keyring' | 'memory' | undefined;
  /** Store folder name when no `store` is given. @default 'py-oidc-auth' */
  appName?: string | undefined;
  /** Transport override (proxies, tests). @default globalThis.fetch */
  fetch?: typeof globalThis.fetch | undefined;
}

const identities = new WeakMap<object, number>();
let nextIdentity = 0;

/** Options as a comparable string: functions and keys by identity, everything else by value. */
function fingerprint(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (typeof inner === 'function' || (inner !== null && typeof inner === 'object' && !Array.isArray(inner) && Object.getPrototypeOf(inner) !== Object.prototype)) {
      let id = identities.get(inner as object);
      if (id === undefined) identities.set(inner as object, (id = (nextIdentity += 1)));
      return `#${id}`;
    }
    return inner;
  }) ?? '';
}

function required(value: string | undefined): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

/** Fill in defaults, pick the store, and make the backend for the server kind. */
export function resolveSettings(options: ServerOptions, env: Environment = process.env): HostSettings {
  const store = chooseStore(options.store, options.appName, env);
  if (options.issuer !== undefined) {
    if (options.host !== undefined) throw new TypeError('Give either host (a py-oidc-auth server) or issuer + clientId (an OpenID provider), not both.');
    if (!required(options.issuer) || !required(options.clientId)) throw new TypeError('issuer and clientId are both required for a standard OpenID provider.');
    const problem = hostProblem(options.issuer);
    if (problem) throw new TypeError(`issuer: ${problem}`);
    const backend = providerBackend(
      { issuer: options.issuer.trim(), clientId: options.clientId, clientSecret: options.clientSecret, scope: options.scope, redirectPorts: options.redirectPorts ?? [options.redirectPort ?? 0], client: options.client },
      { cacheFolder: defaultMetadataFolder(env), timeout: options.requestTimeout, fetch: options.fetch },
    );
    const reach = { issuer: options.issuer, clientId: options.clientId, clientSecret: options.clientSecret, scope: options.scope, redirectPorts: options.redirectPorts ?? [options.redirectPort ?? 0], client: options.client, requestTimeout: options.requestTimeout, fetch: options.fetch };
    return { backend, store, fingerprint: fingerprint(reach) };
  }
  if (!required(options.host)) {
    throw new TypeError('host is required: the base URL of the py-oidc-auth application server, e.g. https://myapp.example.org (or give issuer + clientId for a standard OpenID provider)');
  }
  const problem = hostProblem(options.host);
  if (problem) throw new TypeError(`host: ${problem}`);
  const config: Config = {
    host: options.host.trim(),
    loginRoute: options.loginRoute ?? DEFAULT_CONFIG.loginRoute,
    tokenRoute: options.tokenRoute ?? DEFAULT_CONFIG.tokenRoute,
    deviceRoute: options.deviceRoute ?? DEFAULT_CONFIG.deviceRoute,
    redirectPorts: options.redirectPorts ?? [...DEFAULT_CONFIG.redirectPorts],
    requestTimeout: options.requestTimeout ?? DEFAULT_CONFIG.requestTimeout,
  };
  return { backend: routesBackend(config, options.fetch), store, config, fingerprint: fingerprint({ config, fetch: options.fetch }) };
}
