// Calling an API for hours: a fetch (and ky hooks) that add the bearer token,
// refresh it ahead of expiry, and on a 401 from the API get a new one and
// retry once. The token only ever goes to the API's own origins.
import { authenticate, reauthenticate, type AuthenticateOptions } from './authenticate.ts';
import { baseUrl } from '../protocol/host.ts';
import { proxiedFetch } from '../adapters/http/proxy.ts';
import { isDpopNonceChallenge, isDpopTokenType } from '../protocol/dpop.ts';
import type { Token } from '../types.ts';
import type { AfterResponseHook, BeforeRequestHook } from 'ky';

/** Options for {@link authenticatedFetch} and {@link authHooks}. */
export interface AuthenticatedFetchOptions extends AuthenticateOptions {
  /**
   * The origins the token may be sent to (`https://api.example.org`). Host
   * mode default: the host's own origin. With `issuer` it must be given: the
   * API is not the identity provider.
   */
  origins?: string[] | undefined;
  /**
   * The transport for the API's requests. @default globalThis.fetch, or with
   * `client.tlsClientCertificate` a fetch that presents that certificate
   * (a certificate-bound token is only taken with it, RFC 8705 3)
   */
  apiFetch?: typeof globalThis.fetch | undefined;
}

function allowedOrigins(options: AuthenticatedFetchOptions): Set<string> {
  if (options.origins !== undefined) return new Set(options.origins.map((origin) => new URL(origin).origin));
  if (options.host !== undefined) return new Set([new URL(baseUrl(options.host)).origin]);
  throw new TypeError('origins is required with issuer: name the API origins the token may be sent to, e.g. origins: [\'https://api.example.org\'].');
}

/**
 * `headers` with the token: `Authorization: Bearer ...`, or for a DPoP-bound
 * token `Authorization: DPoP ...` and a fresh proof of this request (RFC 9449 7.1).
 */
async function withToken(headers: Headers, token: Token, method: string, url: string): Promise<Headers> {
  const copy = new Headers(headers);
  if (!isDpopTokenType(token.token_type)) {
    copy.set('authorization', `Bearer ${token.access_token}`);
    return copy;
  }
  const { dpopKeyFor, signDpopProof } = await import('../servers/client/dpop.ts');
  copy.set('authorization', `DPoP ${token.access_token}`);
  copy.set('dpop', await signDpopProof(await dpopKeyFor(token.dpop_key), method, url, token.access_token));
  return copy;
}

/** After an API answer with a DPoP-bound token: keep its nonce, and tell whether it asked for one (RFC 9449 9: then one retry with it). */
async function askedForNonce(token: Token, url: string, response: Response): Promise<boolean> {
  if (!isDpopTokenType(token.token_type)) return false;
  const { dpopKeyFor, rememberDpopNonce } = await import('../servers/client/dpop.ts');
  const kept = rememberDpopNonce(await dpopKeyFor(token.dpop_key), url, response.headers.get('dpop-nonce'));
  return kept && isDpopNonceChallenge(response.status, { wwwAuthenticate: response.headers.get('www-authenticate') });
}

/**
 * A `fetch` with the same signature that calls the API as the logged-in
 * person: it adds `Authorization: Bearer ...` (from {@link authenticate},
 * so the token is refreshed ahead of expiry, per `minValidity`), and when
 * the API answers 401 it gets a new token ({@link reauthenticate}) and
 * retries the request once, if its body can be sent again (not a stream).
 *
 * The token goes only to `origins`: requests elsewhere are sent without it,
 * and a redirect to another origin drops it (the fetch standard's rule,
 * which Node's fetch follows).
 *
 * @example
 * ```ts
 * const api = authenticatedFetch({ host: 'https://myapp.example.org' });
 * const response = await api('https://myapp.example.org/api/data');
 * ```
 * @see {@link https://www.rfc-editor.org/rfc/rfc6750#section-2.1 | RFC 6750 2.1}
 * @see {@link https://www.rfc-editor.org/rfc/rfc6750#section-3 | RFC 6750 3}
 */
export function authenticatedFetch(options: AuthenticatedFetchOptions): typeof globalThis.fetch {
  const origins = allowedOrigins(options);
  const certificate = options.client?.tlsClientCertificate;
  const send: typeof globalThis.fetch = options.apiFetch ?? (certificate
    ? async (input, init) => ((await proxiedFetch(process.env, certificate)) ?? globalThis.fetch)(input, init)
    : globalThis.fetch);
  return async (input, init) => {
    const request = new Request(input, init);
    if (!origins.has(new URL(request.url).origin)) return send(request);
    // A body that can be sent again is read once; a stream cannot be, so it gets no retry.
    const replayable = !(init?.body instanceof ReadableStream) && !(input instanceof Request && input.bodyUsed);
    const body = replayable && request.body !== null ? await request.arrayBuffer() : request.body;
    const attempt = async (token: Token) => send(request.url, {
      method: request.method,
      headers: await withToken(request.headers, token, request.method, request.url),
      body,
      redirect: request.redirect,
      signal: request.signal,
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit);
    const token = await authenticate(options);
    let response = await attempt(token);
    if (await askedForNonce(token, request.url, response) && replayable) {
      await response.body?.cancel();
      response = await attempt(token);
    }
    // Only the API's own 401 means the token was refused (a redirect may have led elsewhere).
    if (response.status !== 401 || !replayable || !origins.has(new URL(response.url || request.url).origin)) return response;
    await response.body?.cancel();
    return attempt(await reauthenticate(options));
  };
}

/** The ky hooks that {@link authHooks} returns. */
export interface AuthKyHooks {
  /** Sets the `Authorization` header from a valid token (cached, refreshed or from a login). */
  beforeRequest: BeforeRequestHook[];
  /** On a 401, gets a new token once and retries the request with it. */
  afterResponse: AfterResponseHook[];
}

/**
 * The same as {@link authenticatedFetch}, as `ky` hooks (ky is this SDK's
 * HTTP client): `ky.extend({ hooks: authHooks({ host }) })`. A 401 from the
 * API gets a new token and one retry through `ky.retry`.
 *
 * @example
 * ```ts
 * const api = ky.extend({ prefixUrl: 'https://myapp.example.org/api', hooks: authHooks({ host: 'https://myapp.example.org' }) });
 * const data = await api.get('data').json();
 * ```
 * @see {@link https://www.rfc-editor.org/rfc/rfc6750#section-2.1 | RFC 6750 2.1}
 */
export function authHooks(options: AuthenticatedFetchOptions): AuthKyHooks {
  const origins = allowedOrigins(options);
  const ours = (request: Request) => origins.has(new URL(request.url).origin);
  return {
    beforeRequest: [async ({ request }) => {
      if (!ours(request)) return;
      const headers = await withToken(request.headers, await authenticate(options), request.method, request.url);
      for (const name of ['authorization', 'dpop']) {
        const value = headers.get(name);
        if (value !== null) request.headers.set(name, value);
      }
    }],
    afterResponse: [async ({ request, response, retryCount }) => {
      if (response.status !== 401 || retryCount > 0 || !ours(request) || !origins.has(new URL(response.url || request.url).origin)) return undefined;
      // A DPoP nonce challenge is met with the same token and a new proof; a refused token with a new token.
      const held = await authenticate(options);
      const token = await askedForNonce(held, request.url, response) ? held : await reauthenticate(options);
      const { default: ky } = await import('ky');
      return ky.retry({ request: new Request(request, { headers: await withToken(request.headers, token, request.method, request.url) }), code: 'TOKEN_REFRESHED' });
    }],
  };
}
