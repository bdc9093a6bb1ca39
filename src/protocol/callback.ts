/** What the browser brings back to the loopback `redirect_uri`. */
export interface CallbackParams {
  code?: string | undefined;
  state?: string | undefined;
  iss?: string | undefined;
  error?: string | undefined;
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

/**
 * Whether a callback belongs to the login this client started: it must
 * carry a `code` or an `error`, and a `state` whose middle part is our own
 * `redirect_uri`.
 */
export function callbackMatches(params: CallbackParams, redirectUri: string): boolean {
  if (params.code === undefined && params.error === undefined) return false;
  if (params.state === undefined) return params.error !== undefined;
  const first = params.state.indexOf('|');
  const last = params.state.lastIndexOf('|');
  if (first < 0 || last <= first) return false;
  return params.state.slice(first + 1, last) === redirectUri;
}

/** The login URL on the application server for a given loopback `redirect_uri`. */
export function buildLoginUrl(loginEndpoint: string, redirectUri: string): string {
  const url = new URL(loginEndpoint);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('offline_access', 'true');
  url.searchParams.set('prompt', 'consent');
  return url.toString();
}
