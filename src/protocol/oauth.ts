// Pure OAuth 2.0 / OpenID Connect rules for talking to a standard provider:
// metadata, authorization responses, scopes, token responses.
import { AuthError } from '../errors.ts';
import { parseJson, successBody } from './error-response.ts';
import { redact, redactText } from '../errors.ts';

export { scopeList } from './store-key.ts';

/** RFC 8628 device-code grant type. */
export const DEVICE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

/** OpenID Provider metadata (OIDC Discovery 1.0 / RFC 8414); only what we use is typed. */
export interface ProviderMetadata {
  /** The issuer identifier; must equal the one discovery was asked for, character for character. */
  issuer: string;
  /** Where the browser logs in (code flow). */
  authorization_endpoint?: string | undefined;
  /** Where codes, refresh tokens and device codes are exchanged for tokens. */
  token_endpoint: string;
  /** Where a device code is requested (RFC 8628 4). */
  device_authorization_endpoint?: string | undefined;
  /** Where tokens are revoked (RFC 7009). */
  revocation_endpoint?: string | undefined;
  /** Where an access token tells who logged in (OIDC Core 5.3). */
  userinfo_endpoint?: string | undefined;
  /** Where the browser logs out (OIDC RP-Initiated Logout). */
  end_session_endpoint?: string | undefined;
  /** The provider's signing keys, for ID tokens. */
  jwks_uri?: string | undefined;
  /** How clients may authenticate at the token endpoint, e.g. `client_secret_basic`, `private_key_jwt`. */
  token_endpoint_auth_methods_supported?: string[] | undefined;
  /** Whether the authorization response carries `iss` (RFC 9207); when true, one without it is refused. */
  authorization_response_iss_parameter_supported?: boolean | undefined;
  /** PKCE methods; a list without `S256` is refused. */
  code_challenge_methods_supported?: string[] | undefined;
  /** The grant types the provider serves. */
  grant_types_supported?: string[] | undefined;
  /** The `prompt` values the provider understands, e.g. `login`, `consent`, `select_account`. */
  prompt_values_supported?: string[] | undefined;
  /** Where authorization requests are pushed (RFC 9126 5). */
  pushed_authorization_request_endpoint?: string | undefined;
  /** Whether every authorization request must be pushed (RFC 9126 5); the client then pushes without being asked. */
  require_pushed_authorization_requests?: boolean | undefined;
  /** The endpoints to use with a client certificate (RFC 8705 5), by metadata name. */
  mtls_endpoint_aliases?: Record<string, string> | undefined;
  /** The algorithms DPoP proofs may be signed with (RFC 9449 5.1); absent: no DPoP. */
  dpop_signing_alg_values_supported?: string[] | undefined;
  [key: string]: unknown;
}

const ENDPOINTS = ['authorization_endpoint', 'token_endpoint', 'device_authorization_endpoint', 'revocation_endpoint', 'userinfo_endpoint', 'end_session_endpoint', 'jwks_uri', 'pushed_authorization_request_endpoint'] as const;

function isUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * Check a discovery document: a JSON object whose `issuer` is exactly the one
 * asked for (OIDC Discovery 4.3; no trailing-slash leniency), with a token
 * endpoint and well-formed endpoint URLs.
 */
export function parseProviderMetadata(value: unknown, expectedIssuer: string): ProviderMetadata {
  const where = `The discovery document of ${expectedIssuer}`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AuthError('invalid_response', `${where} is not a JSON object. Check the issuer URL.`, { detail: redact(value) });
  }
  const record = value as Record<string, unknown>;
  if (record.issuer !== expectedIssuer) {
    throw new AuthError('issuer_mismatch', `${where} names the issuer ${JSON.stringify(record.issuer)}, not ${JSON.stringify(expectedIssuer)}. ` +
      'Use exactly the issuer the provider names (a trailing slash counts); a different one may mean a misconfigured or impersonated provider.');
  }
  for (const name of ENDPOINTS) {
    if (record[name] !== undefined && !isUrl(record[name])) {
      throw new AuthError('invalid_response', `${where} has a ${name} that is not an http(s) URL (${JSON.stringify(record[name])}).`);
    }
  }
  if (!isUrl(record.token_endpoint)) throw new AuthError('invalid_response', `${where} has no token_endpoint.`);
  for (const name of ['token_endpoint_auth_methods_supported', 'code_challenge_methods_supported', 'grant_types_supported'] as const) {
    if (record[name] !== undefined && !(Array.isArray(record[name]) && (record[name] as unknown[]).every((v) => typeof v === 'string'))) {
      throw new AuthError('invalid_response', `${where} has a ${name} that is not a list of strings.`);
    }
  }
  return record as ProviderMetadata;
}

/** A pushed authorization request's answer (RFC 9126 2.2): `request_uri` and its lifetime in seconds. */
export function parsePushedRequest(body: Record<string, unknown>, status: number): { request_uri: string; expires_in: number } {
  const { request_uri: uri, expires_in: lifetime } = body;
  if (typeof uri !== 'string' || uri === '' || typeof lifetime !== 'number' || !Number.isFinite(lifetime) || lifetime <= 0) {
    throw new AuthError('invalid_response', 'The pushed authorization request was answered without a request_uri and a positive expires_in (RFC 9126 2.2). Report it to the provider\'s operators.', { status, detail: redact(body) });
  }
  return { request_uri: uri, expires_in: lifetime };
}

/** A provider's key set (`jwks_uri`): an object whose `keys` is a list of objects. */
export function parseKeySet(value: Record<string, unknown>): { keys: Array<Record<string, unknown>> } {
  const keys = value.keys;
  if (!Array.isArray(keys) || !keys.every((key) => key !== null && typeof key === 'object' && !Array.isArray(key))) {
    throw new AuthError('invalid_response', 'The provider\'s key set (jwks_uri) has no list of keys, so its ID tokens cannot be checked. Check the provider\'s configuration.');
  }
  return value as { keys: Array<Record<string, unknown>> };
}

/**
 * The JSON body of a successful response, or an {@link AuthError}: an error
 * status, an error sent with HTTP 200 (GitHub does this), a body that is not
 * JSON or not an object (`invalid_response`, with the status and the start
 * of the body, secrets removed).
 */
export function successJson(status: number, text: string, what: string, headers: { retryAfter?: number | undefined; location?: string | undefined } = {}): Record<string, unknown> {
  let value: unknown;
  try {
    value = successBody({ status, text, ...headers }, what);
  } catch (error) {
    // A provider's 5xx page that is not JSON is invalid_response too (a py-oidc-auth host's stays server_error).
    if (error instanceof AuthError && error.code === 'server_error' && !parseJson(text).ok) {
      throw new AuthError('invalid_response', error.message, { status, detail: error.detail });
    }
    throw error;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AuthError('invalid_response', `${what} answered HTTP ${status} with JSON that is not an object.`, { status, detail: redact(value) });
  }
  return value as Record<string, unknown>;
}

/** A token endpoint's answer (RFC 6749 5.1), checked for the required fields. Extra fields are kept. */
export interface TokenResponse {
  /** The access token. Secret: never log it. */
  access_token: string;
  /** How the token is sent, normally `Bearer`. */
  token_type: string;
  /** Seconds the access token lives, counted from the response. */
  expires_in?: number | undefined;
  /** The refresh token, when the provider issued (or rotated) one. Secret. */
  refresh_token?: string | undefined;
  /** The ID token (a JWT), when the login asked for `openid`. */
  id_token?: string | undefined;
  /** The granted scopes, space-separated, when they differ from those asked for (RFC 6749 5.1). */
  scope?: string | undefined;
  /** The ID token's validated claims, when there was an ID token. */
  id_token_claims?: Record<string, unknown> | undefined;
  [key: string]: unknown;
}

/** Check the types of a token response's fields (RFC 6749 5.1). */
export function parseOAuthTokenResponse(body: Record<string, unknown>, status: number): TokenResponse {
  const bad = (field: string) => new AuthError('invalid_response', `The token response has no usable ${field}. The provider's answer is not a token response.`, { status, detail: redact(body) });
  if (typeof body.access_token !== 'string' || body.access_token === '') throw bad('access_token');
  if (typeof body.token_type !== 'string' || body.token_type === '') throw bad('token_type');
  if (body.expires_in !== undefined && !(typeof body.expires_in === 'number' || (typeof body.expires_in === 'string' && Number.isFinite(Number(body.expires_in))))) throw bad('expires_in');
  for (const field of ['refresh_token', 'id_token', 'scope'] as const) {
    if (body[field] !== undefined && typeof body[field] !== 'string') throw bad(field);
  }
  return { ...body, expires_in: body.expires_in === undefined ? undefined : Number(body.expires_in) } as TokenResponse;
}

/** The parameters of an authorization response (query or fragment), first value wins. */
export type AuthResponse = Record<string, string>;

/** Read `?code=...&state=...` (a string, URLSearchParams or plain object) into a plain object. */
export function toAuthResponse(params: string | URLSearchParams | Record<string, string | undefined>): AuthResponse {
  if (typeof params === 'string' || params instanceof URLSearchParams) {
    const search = typeof params === 'string' ? new URLSearchParams(params.replace(/^[?#]/, '')) : params;
    const out: AuthResponse = {};
    for (const [key, value] of search) if (!(key in out)) out[key] = value;
    return out;
  }
  return Object.fromEntries(Object.entries(params).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/**
 * oauth2cli's `parse_auth_response`: the parameters as an object; when
 * `state` is given, a different (or missing) `state` is refused.
 */
export function parseAuthResponse(params: string | URLSearchParams | Record<string, string | undefined>, state?: string): AuthResponse {
  const response = toAuthResponse(params);
  if (state !== undefined && response.state !== state) {
    throw new AuthError('state_mismatch', 'The authorization response carries a different state than the login that was started: it may be forged or from another login. Start the login again.');
  }
  return response;
}

/** What an authorization-code flow remembers between starting and finishing (serialisable). */
export interface AuthCodeFlow {
  /** The address the browser opens to log in. */
  authUri: string;
  /** The `state` the callback must bring back. */
  state: string;
  /** The redirect URI the code is bound to; sent again when it is exchanged. */
  redirectUri: string;
  /** The scopes asked for. */
  scope: string[];
  /** The PKCE verifier, sent only with the code exchange. Secret: never log it. */
  codeVerifier: string;
  /** The `nonce` the ID token must carry. */
  nonce: string;
  /** The `max_age` asked for, in seconds; the ID token's `auth_time` is checked against it. */
  maxAge?: number | undefined;
  /** The issuer the response must come from (RFC 9207). */
  issuer?: string | undefined;
}

/**
 * Check an authorization response against its flow, in this order: state,
 * the RFC 9207 `iss` (when present, or when the provider advertises it),
 * the requested scope (a subset of the flow's), then code or error.
 * Returns the code.
 */
export function checkAuthCodeResponse(flow: AuthCodeFlow, response: AuthResponse, options: { issRequired?: boolean | undefined; scope?: readonly string[] | undefined } = {}): string {
  parseAuthResponse(response, flow.state);
  if (response.iss !== undefined || options.issRequired) {
    if (flow.issuer !== undefined && response.iss !== flow.issuer) {
      throw new AuthError('issuer_mismatch', `The authorization response names the issuer ${JSON.stringify(response.iss ?? null)}, not ${JSON.stringify(flow.issuer)} (RFC 9207): it may come from another provider (a mix-up attack). Start the login again.`);
    }
  }
  if (options.scope && !options.scope.every((item) => flow.scope.includes(item))) {
    throw new AuthError('invalid_scope', `The scope asked for (${options.scope.join(' ')}) must be a subset of the scope the login started with (${flow.scope.join(' ')}).`);
  }
  if (response.error !== undefined) {
    const description = response.error_description ? ` (${redactText(response.error_description)})` : '';
    throw new AuthError(response.error, `The provider refused the login: ${response.error}${description}. Start the login again, or check the client's settings at the provider.`, { detail: redact(response) });
  }
  if (response.code === undefined || response.code === '') {
    throw new AuthError('invalid_response', 'The authorization response has neither a code nor an error. Start the login again.');
  }
  return response.code;
}
