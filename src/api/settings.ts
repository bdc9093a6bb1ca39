import { routesBackend } from '../servers/py-oidc-auth.ts';
import { hostProblem } from '../protocol/host.ts';
import type { HostSettings } from '../servers/backend.ts';
import { defaultMetadataFolder } from '../servers/client/metadata-cache.ts';
import { providerBackend, type ProviderSettings } from '../servers/provider.ts';
import { rememberedAccount } from '../adapters/store/accounts.ts';
import { accountProblem, DEFAULT_PROVIDER_SCOPE, hostKey, providerKey, scopeList } from '../protocol/store-key.ts';
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
  /**
   * Scopes to ask for. With `issuer`: the provider's scopes (default
   * `['openid', 'offline_access']`). With `host`: sent to the login route as
   * `scope`, instead of the server's default scopes; such a login is its own
   * store entry, and logs in through the code flow (py-oidc-auth's device
   * route takes no scope).
   */
  scope?: string | string[] | undefined;
  /**
   * A named account of this server: its own store entry and its own login
   * (a personal and a project account, an admin and a normal one). Default:
   * `OIDC_AUTH_ACCOUNT`, else the account `oidc-auth switch` chose for this
   * server and store, else the default account (the entry the Python client
   * reads). Letters, digits, `.`, `_` and `-`; `default` names the default account.
   */
  account?: string | undefined;
  /**
   * With `host`: obtain the server's token by RFC 8693 token exchange of an
   * access token of this provider login (py-oidc-auth's broker mode), so
   * that one provider login serves every server that trusts it. The provider
   * login is made (or refreshed) as `authenticate({ issuer, clientId, scope })`
   * would; the exchanged token is exchanged again when it nears expiry.
   */
  exchangeFrom?: ExchangeFrom | undefined;
  /** Port of the loopback redirect `http://127.0.0.1:<port>/callback` (with `issuer`). @default 0: any free port */
  redirectPort?: number | undefined;
  /** More Client options for the provider (auth method, private key, clock tolerance). */
  client?: ProviderSettings['client'];
  /**
   * With `issuer`: bind the tokens to a key pair of this login (DPoP, RFC
   * 9449), so that a copied access or refresh token is worth nothing without
   * the key. The login has its own store entry; the key is kept where the
   * store keeps the token (the keyring with the keyring store). Requests made
   * with the token then need a proof each: use `authenticatedFetch` or
   * `authHooks` (or the CLI's `--dpop-proof`). A provider without DPoP is an
   * `unsupported_flow` error, never a silent bearer token.
   * @default false
   * @see {@link https://www.rfc-editor.org/rfc/rfc9449 | RFC 9449}
   */
  dpop?: boolean | undefined;
  /**
   * With `issuer`: push the code login's parameters to the provider (PAR),
   * so that the browser's address carries only `client_id` and
   * `request_uri`. Done without asking when the provider's metadata says
   * `require_pushed_authorization_requests`; ask for it when only your
   * client is required to (the provider then refuses other logins).
   * @default false
   * @see {@link https://www.rfc-editor.org/rfc/rfc9126 | RFC 9126}
   */
  par?: boolean | undefined;
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

/** The provider login whose access token a py-oidc-auth server in broker mode exchanges for its own. */
export interface ExchangeFrom {
  /** The provider's issuer URL (the one the server trusts). */
  issuer: string;
  /** The client id registered at the provider. */
  clientId: string;
  /** The client secret, for a confidential client. */
  clientSecret?: string | undefined;
  /** Scopes of the provider login. @default ['openid', 'offline_access'] */
  scope?: string | string[] | undefined;
  /** The `audience` asked of the exchange, when the server wants one. */
  audience?: string | undefined;
  /** The provider login's account. @default the server's account */
  account?: string | undefined;
}

/**
 * The account of a login: the option, else `OIDC_AUTH_ACCOUNT`, else the one
 * `oidc-auth switch` remembered for `server` in `storeId`. Throws a
 * TypeError that says what is allowed for a bad name.
 */
export function chooseAccount(option: string | undefined, server: () => string, storeId: string, env: Environment = process.env): string | undefined {
  if (option !== undefined) {
    const problem = accountProblem(option);
    if (problem) throw new TypeError(`account: ${problem}`);
    return option;
  }
  const fromEnv = env.OIDC_AUTH_ACCOUNT;
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    const problem = accountProblem(fromEnv);
    if (problem) throw new TypeError(`OIDC_AUTH_ACCOUNT: ${problem}`);
    return fromEnv;
  }
  return rememberedAccount(storeId, server(), env);
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
    if (options.exchangeFrom !== undefined) throw new TypeError('exchangeFrom goes with host (a py-oidc-auth server in broker mode), not with issuer.');
    if (!required(options.issuer) || !required(options.clientId)) throw new TypeError('issuer and clientId are both required for a standard OpenID provider.');
    const problem = hostProblem(options.issuer);
    if (problem) throw new TypeError(`issuer: ${problem}`);
    const issuer = options.issuer.trim();
    const clientId = options.clientId;
    const dpop = options.dpop === true;
    const par = options.par === true;
    const account = chooseAccount(options.account, () => providerKey(issuer, clientId, scopeList(options.scope ?? DEFAULT_PROVIDER_SCOPE), undefined, dpop), store.id, env);
    const backend = providerBackend(
      { issuer, clientId, clientSecret: options.clientSecret, scope: options.scope, redirectPorts: options.redirectPorts ?? [options.redirectPort ?? 0], client: options.client, account, dpop, par },
      { cacheFolder: defaultMetadataFolder(env), timeout: options.requestTimeout, fetch: options.fetch },
    );
    const reach = { issuer: options.issuer, clientId: options.clientId, clientSecret: options.clientSecret, scope: options.scope, redirectPorts: options.redirectPorts ?? [options.redirectPort ?? 0], client: options.client, requestTimeout: options.requestTimeout, fetch: options.fetch, dpop, par };
    return { backend, store, fingerprint: fingerprint(reach) };
  }
  if (options.par) throw new TypeError('par goes with issuer + clientId (a standard OpenID provider); a py-oidc-auth server builds its own authorization requests.');
  if (options.dpop) throw new TypeError('dpop goes with issuer + clientId (a standard OpenID provider that binds tokens, RFC 9449); a py-oidc-auth server issues bearer tokens.');
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
  if (options.exchangeFrom !== undefined && options.scope !== undefined) throw new TypeError('With exchangeFrom, give the provider login\'s scopes as exchangeFrom.scope (an exchange asks the server for no scope).');
  const scope = scopeList(options.scope);
  const account = chooseAccount(options.account, () => hostKey(config.host, { scope }), store.id, env);
  const from = options.exchangeFrom;
  if (from !== undefined && (!required(from.issuer) || !required(from.clientId))) throw new TypeError('exchangeFrom needs the provider\'s issuer and clientId.');
  // The provider login is a login of its own, in the same store.
  const exchangeFrom = from === undefined ? undefined : resolveSettings({
    issuer: from.issuer, clientId: from.clientId, clientSecret: from.clientSecret, scope: from.scope, account: from.account ?? account ?? 'default',
    store, requestTimeout: options.requestTimeout, fetch: options.fetch,
  }, env);
  const backend = routesBackend(config, options.fetch, { account, scope, exchangeFrom: from && { issuer: from.issuer.trim(), audience: from.audience } });
  return { backend, store, config, exchangeFrom, fingerprint: fingerprint({ config, fetch: options.fetch, exchangeFrom: from && { ...from, clientSecret: undefined } }) };
}
