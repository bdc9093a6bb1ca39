import { AuthError } from '../errors.ts';

/** What the browser brings back to the loopback `redirect_uri`. */
export interface CallbackParams {
  /** The authorization code. Secret until exchanged. */
  code?: string | undefined;
  /** The `state` sent with the login, which must come back unchanged. */
  state?: string | undefined;
  /** The issuer that answered (RFC 9207). */
  iss?: string | undefined;
  /** The provider's error code when the login failed, e.g. `access_denied`. */
  error?: string | undefined;
  /** The provider's words about the error (shown, never trusted as HTML). */
  error_description?: string | undefined;
}

/** Read the callback query (`?code=...&state=...` or `?error=...`). Repeated keys: the first wins. */
export function parseCallbackQuery(search: string | URLSearchParams): CallbackParams {
  const params = typeof search === 'string' ? new URLSearchParams(search.startsWith('?') ? search.slice(1) : search) : search;
  const pick = (key: string) => {
    const value = params.get(key);
    return value === null || value === '' ? undefined : value;
  };
  return {
    code: pick('code'),
    state: pick('state'),
    iss: pick('iss'),
    error: pick('error'),
    error_description: pick('error_description'),
  };
}

/**
 * py-oidc-auth puts the PKCE verifier into `state` as
 * `<random>|<redirect_uri>|<code_verifier>`: the verifier is what follows
 * the last `|`.
 */
export function verifierFromState(state: string | undefined): string | undefined {
  if (state === undefined) return undefined;
  const at = state.lastIndexOf('|');
  if (at < 0) return undefined;
  const verifier = state.slice(at + 1);
  return verifier === '' ? undefined : verifier;
}

/** Compare two strings in time that does not depend on where they differ (states, one-time secrets). */
export function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i += 1) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Whether a callback belongs to the login this client started: it carries a
 * `code` or an `error`, and exactly the `state` that login was started with.
 * Errors need the state too: without it any web page could end the login.
 */
export function callbackMatches(params: CallbackParams, expectedState: string | undefined): boolean {
  if (expectedState === undefined || expectedState === '') return false;
  if (params.code === undefined && params.error === undefined) return false;
  return params.state !== undefined && sameText(params.state, expectedState);
}

/**
 * The identity provider's URL and its `state`, from the `Location` of the
 * application server's login route (asked without following the redirect).
 * Throws `invalid_response` when the route did not redirect to an http(s)
 * URL whose `state` carries a PKCE verifier.
 */
export function providerRedirect(status: number, location: string | undefined, loginRoute: string): { url: string; state: string } {
  const fail = (why: string) => new AuthError('invalid_response', `The login route ${loginRoute} ${why}. Check that the host and --login-route point at a py-oidc-auth server.`, { status });
  if (status < 300 || status > 399 || location === undefined) return throwing(fail(`answered HTTP ${status} instead of redirecting to the identity provider`));
  let url: URL;
  try {
    url = new URL(location, loginRoute);
  } catch {
    return throwing(fail('redirected to something that is not a URL'));
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return throwing(fail(`redirected to a ${url.protocol} URL, not to an http(s) identity provider`));
  const state = url.searchParams.get('state');
  if (state === null || verifierFromState(state) === undefined) return throwing(fail('redirected without a state that carries the PKCE verifier'));
  return { url: url.toString(), state };
}

function throwing(error: Error): never {
  throw error;
}

/** The login URL on the application server for a given loopback `redirect_uri`. */
export function buildLoginUrl(loginEndpoint: string, redirectUri: string, query: LoginQuery = {}): string {
  const url = new URL(loginEndpoint);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('offline_access', 'true');
  url.searchParams.set('prompt', query.prompt ?? 'consent');
  if (query.scope && query.scope.length > 0) url.searchParams.set('scope', query.scope.join(' '));
  return url.toString();
}

/** What a py-oidc-auth login route takes beside the redirect URI. */
export interface LoginQuery {
  /** `consent` (the Python client's), or `login` to make the provider ask who logs in. @default 'consent' */
  prompt?: 'consent' | 'login' | undefined;
  /** Scopes instead of the server's default ones. */
  scope?: readonly string[] | undefined;
}

/**
 * The callback parameters of an address the person pasted (the browser's
 * address bar after the login), or undefined when it is no URL with a query.
 */
export function parsePastedCallback(text: string): CallbackParams | undefined {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return undefined;
  }
  return url.search === '' ? undefined : parseCallbackQuery(url.searchParams);
}
