import { AuthError } from '../errors.ts';
import type { Identity, Token } from '../types.ts';
import { printable, redact } from '../errors.ts';

/** Lifetime assumed when a server says nothing about it (the Python client's default). */
export const DEFAULT_LIFETIME = 180;
/** An access or refresh token counts as valid while at least this many seconds remain. */
export const VALIDITY_MARGIN = 60;
/** Store entries are evicted this many seconds before the later of both expiries. */
export const EVICTION_MARGIN = 30;

/** Where a stored token stands right now. */
export type TokenStatus = 'valid' | 'refreshable' | 'expired';

/** Expiries are clamped to at most this many seconds from now: a server's `1e20` must not break dates. */
export const MAX_LIFETIME = 10 * 365 * 86_400;

/** RFC 6750 section 2.1 `b64token`: the only characters a bearer token may have (so it can never inject a header). */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Whether `value` can be sent as `Authorization: Bearer <value>`. */
export function isBearerToken(value: string): boolean {
  return B64TOKEN.test(value);
}

function clampExpiry(value: number, now: number): number {
  return Math.min(Math.max(value, 0), Math.floor(now + MAX_LIFETIME));
}

/** Current time in Unix seconds. */
export function nowSeconds(): number {
  return Date.now() / 1000;
}

function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function absoluteExpiry(body: Record<string, unknown>, prefix: '' | 'refresh_', now: number): number | undefined {
  const absolute = numberOf(body[`${prefix}expires`]) ?? numberOf(body[`${prefix}exp`]) ?? numberOf(body[`${prefix}expires_at`]);
  if (absolute !== undefined) return Math.floor(clampExpiry(absolute, now));
  const relative = numberOf(body[`${prefix}expires_in`]);
  return relative === undefined ? undefined : Math.floor(clampExpiry(now + relative, now));
}

function invalid(message: string, body: unknown, status?: number): AuthError {
  return new AuthError('invalid_response', `${message} The server's answer is not a usable token; check that the host and routes point at a py-oidc-auth server.`, {
    status,
    detail: redact(body),
  });
}

/**
 * Read a token response (py-oidc-auth's absolute `expires`, or a standard
 * `expires_in`) into a {@link Token}. Throws `invalid_response` when the body
 * is not a token, or when the token has already expired.
 */
export function parseTokenResponse(body: unknown, now: number = nowSeconds(), status?: number, options: { dpop?: boolean } = {}): Token {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('Expected a JSON object.', body, status);
  const record = body as Record<string, unknown>;
  const accessToken = record.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') throw invalid('The response has no access_token.', body, status);
  if (!isBearerToken(accessToken)) throw invalid('The access_token has characters a bearer token may not have (RFC 6750).', body, status);
  const refreshToken = record.refresh_token;
  if (refreshToken !== undefined && refreshToken !== null && typeof refreshToken !== 'string') {
    throw invalid('refresh_token is not a string.', body, status);
  }
  const scope = record.scope;
  if (scope !== undefined && scope !== null && typeof scope !== 'string') throw invalid('scope is not a string.', body, status);
  const tokenType = typeof record.token_type === 'string' && record.token_type !== '' ? record.token_type : 'Bearer';
  const accepted = options.dpop ? 'dpop' : 'bearer';
  if (tokenType.toLowerCase() !== accepted) {
    throw invalid(options.dpop
      ? `The token_type is ${JSON.stringify(tokenType)}, not DPoP: the provider did not bind the token to the key, so it was refused.`
      : `The token_type is ${JSON.stringify(tokenType)}; only Bearer tokens can be used${tokenType.toLowerCase() === 'dpop' ? ' without a DPoP key (log in with dpop / --dpop)' : ''}.`, body, status);
  }
  const expires = absoluteExpiry(record, '', now) ?? Math.floor(now + DEFAULT_LIFETIME);
  if (expires <= now) {
    throw new AuthError('invalid_response', `The server sent an access token that had already expired (${Math.round(now - expires)} s ago by this machine's clock), so it was not used. ` +
      'If the server is right, this machine\'s clock is ahead: check it (timedatectl, ntp); else report the server\'s token lifetime to its operators.', { status, detail: redact(body) });
  }
  const hasRefresh = typeof refreshToken === 'string' && refreshToken !== '';
  const refreshExpires = hasRefresh ? absoluteExpiry(record, 'refresh_', now) ?? Math.floor(now + DEFAULT_LIFETIME) : 0;
  return {
    access_token: accessToken,
    token_type: tokenType,
    expires,
    refresh_token: hasRefresh ? refreshToken : '',
    refresh_expires: refreshExpires,
    scope: typeof scope === 'string' ? scope : '',
    headers: { Authorization: `${options.dpop ? 'DPoP' : 'Bearer'} ${accessToken}` },
  };
}

/**
 * A refresh response may omit the refresh token (RFC 6749 section 6): then the
 * old one, with its expiry, stays in use.
 */
export function mergeRefreshed(previous: Pick<Token, 'refresh_token' | 'refresh_expires' | 'id_token' | 'who'>, next: Token): Token {
  // A refresh need not return an ID token (OIDC Core 12.2): the first one stays, and so does who logged in.
  const withId = { ...next, ...(next.id_token === undefined && previous.id_token !== undefined ? { id_token: previous.id_token } : {}), ...(next.who === undefined && previous.who !== undefined ? { who: previous.who } : {}) };
  if (next.refresh_token !== '') return withId;
  return { ...withId, refresh_token: previous.refresh_token, refresh_expires: previous.refresh_expires };
}

/**
 * Where `token` stands at `now`: `valid` while more than `minValidity` seconds
 * (at least 60) remain, `refreshable` while its refresh token has more than 60 s.
 */
export function tokenStatus(token: Pick<Token, 'expires' | 'refresh_expires' | 'refresh_token'> | undefined, now: number = nowSeconds(), minValidity = 0): TokenStatus {
  if (token === undefined) return 'expired';
  if (now + Math.max(VALIDITY_MARGIN, minValidity) < token.expires) return 'valid';
  if (token.refresh_token !== '' && now + VALIDITY_MARGIN < token.refresh_expires) return 'refreshable';
  return 'expired';
}

/** The Python client's eviction rule: drop once `now >= max(refresh_expires, expires) - 30`. */
export function isEvictable(token: Pick<Token, 'expires' | 'refresh_expires'>, now: number = nowSeconds()): boolean {
  return now >= Math.max(token.refresh_expires, token.expires) - EVICTION_MARGIN;
}

/**
 * Accept a token read from a file (the store, `OIDC_TOKEN_FILE`) only when
 * its fields have the right types; `headers` is rebuilt.
 */
export function tokenFromStored(value: unknown): Token | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  const expires = numberOf(record.expires);
  if (typeof record.access_token !== 'string' || !isBearerToken(record.access_token) || expires === undefined) return undefined;
  const refreshToken = typeof record.refresh_token === 'string' ? record.refresh_token : '';
  const now = nowSeconds();
  const tokenType = typeof record.token_type === 'string' ? record.token_type : 'Bearer';
  const dpop = tokenType.toLowerCase() === 'dpop';
  const dpopKey = dpop ? stringRecord(record.dpop_key) : undefined;
  if (dpop && dpopKey === undefined) return undefined; // A bound token without its key can prove nothing.
  return {
    access_token: record.access_token,
    token_type: tokenType,
    expires: clampExpiry(expires, now),
    refresh_token: refreshToken,
    refresh_expires: refreshToken === '' ? 0 : clampExpiry(numberOf(record.refresh_expires) ?? 0, now),
    scope: typeof record.scope === 'string' ? record.scope : '',
    headers: { Authorization: `${dpop ? 'DPoP' : 'Bearer'} ${record.access_token}` },
    ...(dpopKey === undefined ? {} : { dpop_key: dpopKey }),
    ...(typeof record.id_token === 'string' && record.id_token !== '' ? { id_token: record.id_token } : {}),
    ...whoField(record.who),
  };
}

/** An object of strings (a JWK), or undefined. */
function stringRecord(value: unknown): Readonly<Record<string, string>> | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const entries = Object.entries(value);
  return entries.length > 0 && entries.every(([, inner]) => typeof inner === 'string') ? Object.freeze(Object.fromEntries(entries) as Record<string, string>) : undefined;
}

/** Longest name or subject of an identity kept: a claim is shown in listings, never a page of text. */
const LONGEST_IDENTITY = 256;

/** A claim as an identity's name or subject: printable, trimmed, not empty, not too long; else undefined. */
export function identityText(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = printable(value).trim();
  return trimmed === '' || trimmed.length > LONGEST_IDENTITY ? undefined : trimmed;
}

/** An identity read back from a store entry (its fields checked), or undefined. */
export function identityFromStored(value: unknown): Identity | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const name = identityText(record.name);
  if (name === undefined) return undefined;
  const subject = identityText(record.subject);
  return subject === undefined ? { name } : { name, subject };
}

/** `{ who }` for a stored identity that checks out, else `{}`: to spread into a token or index entry. */
export function whoField(value: unknown): { who?: Identity } {
  const who = identityFromStored(value);
  return who ? { who } : {};
}
