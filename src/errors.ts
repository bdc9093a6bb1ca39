// Errors and what they may say: every failure is an AuthError with a stable
// code, and its text is printable (no escape sequences from outside) and
// free of secrets. The floor of the import graph: it imports nothing.

/**
 * Every error code this library itself produces, as a list (for tests and
 * exhaustive handling). Most are the RFC 6749 / RFC 8628 `error` values a
 * server sends; the rest describe what happened on our side.
 */
export const KNOWN_AUTH_ERROR_CODES = [
  'login_required', 'access_denied', 'expired_token', 'timeout', 'cancelled', 'network', 'invalid_response', 'invalid_grant',
  'invalid_request', 'invalid_client', 'unauthorized_client', 'unsupported_grant_type', 'server_error', 'temporarily_unavailable',
  'authorization_pending', 'slow_down', 'unsupported_flow', 'state_mismatch', 'issuer_mismatch', 'invalid_id_token', 'invalid_scope',
  'store_error', 'lock_timeout', 'port_unavailable', 'unexpected', 'unauthorized', 'settings_conflict', 'exchange_refused', 'agent_unavailable',
] as const;

/**
 * The known error codes as a closed union: `switch (code as KnownAuthErrorCode)`
 * can be checked for exhaustiveness (after `isKnownAuthErrorCode(code)`).
 *
 * What each one means (the message always says what to do next):
 * - `login_required`: no valid token, and no person can log in here (a batch job, `interactive: false`); the message names the login command.
 * - `access_denied`: the person or the provider refused the login.
 * - `expired_token`: the device code expired before the person finished.
 * - `timeout`: the interactive login was not finished within `timeout`.
 * - `cancelled`: the caller's `signal` aborted, or the actor got `CANCEL`.
 * - `network`: the server could not be reached; `reason` says which part failed.
 * - `invalid_response`: the server's answer is not what the protocol says (an HTML page, wrong types, no token).
 * - `invalid_grant`: the refresh token or code was refused (expired, revoked or used).
 * - `invalid_request`, `invalid_client`, `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`: the server refused the request as RFC 6749 5.2 says; a setting (client id, secret, scope) is wrong.
 * - `server_error`, `temporarily_unavailable`: the server failed on its side (5xx); try later.
 * - `authorization_pending`, `slow_down`: device flow states (RFC 8628 3.5), seen only by callers who poll themselves.
 * - `unsupported_flow`: the server or provider does not offer the login or grant asked for (e.g. no device flow).
 * - `state_mismatch`: a callback that does not belong to this login (refused).
 * - `issuer_mismatch`: the provider named another issuer than the one asked for (discovery, or the RFC 9207 `iss`).
 * - `invalid_id_token`: the ID token failed validation (signature, issuer, audience, expiry, nonce).
 * - `store_error`: the token store could not be read or written.
 * - `lock_timeout`: another process held the store, or the login turn, for too long.
 * - `port_unavailable`: no loopback callback port could be had.
 * - `unauthorized`: a bare 401 or 403: the server refused on its own side, without an OAuth error.
 * - `settings_conflict`: options that contradict each other.
 * - `exchange_refused`: the server refused an RFC 8693 token exchange.
 * - `agent_unavailable`: the agent could not serve: its socket is gone, or it holds no usable token for this login.
 * - `unexpected`: anything else (a bug: please report it).
 */
export type KnownAuthErrorCode = (typeof KNOWN_AUTH_ERROR_CODES)[number];

/**
 * Stable error codes. Branch on `error.code`, never on the message. A
 * server may send an OAuth error code that is not in {@link KnownAuthErrorCode}
 * (an extension); it is passed on as it is, hence the open `string` member.
 */
export type AuthErrorCode = KnownAuthErrorCode | (string & {});

/** Whether `code` is one of {@link KNOWN_AUTH_ERROR_CODES}. */
export function isKnownAuthErrorCode(code: string): code is KnownAuthErrorCode {
  return (KNOWN_AUTH_ERROR_CODES as readonly string[]).includes(code);
}

/** Options for {@link AuthError}. */
export interface AuthErrorOptions {
  /** HTTP status of the response that caused the error, if there was one. */
  status?: number | undefined;
  /** The server's error payload, with secrets removed. */
  detail?: unknown;
  /** The underlying error. */
  cause?: unknown;
  /** For `network`: what went wrong (`connection_refused`, `dns`, `timeout`, `tls`, `proxy`). */
  reason?: NetworkReason | undefined;
}

/** Why a `network` error happened: stable, for programs; the message says what to check. */
export type NetworkReason = 'connection_refused' | 'dns' | 'timeout' | 'tls' | 'proxy' | 'connection_reset' | 'unknown';

/**
 * Every failure of this library reaches the caller as an `AuthError`.
 *
 * @example
 * ```ts
 * try { await authenticate({ host }); }
 * catch (error) {
 *   if (isAuthError(error) && error.code === 'login_required') { ... }
 * }
 * ```
 */
export class AuthError extends Error {
  /** Stable, machine-readable code (see {@link AuthErrorCode}). */
  readonly code: AuthErrorCode;
  /** HTTP status of the response that caused the error, if any. */
  readonly status: number | undefined;
  /** The provider's error payload with secrets removed, if any. */
  readonly detail: unknown;
  /** For `network` errors: what went wrong (see {@link NetworkReason}). */
  readonly reason: NetworkReason | undefined;

  constructor(code: AuthErrorCode, message: string, options: AuthErrorOptions = {}) {
    // Messages quote servers and callbacks: no escape sequence of theirs reaches a terminal through us.
    super(printable(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuthError';
    this.code = isErrorCode(code) ? code : 'invalid_response';
    this.status = options.status;
    this.detail = options.detail;
    this.reason = options.reason;
  }

  /** This error with every occurrence of `secrets` removed from its message and detail (the cause is dropped). */
  withoutSecrets(secrets: readonly string[]): AuthError {
    const message = redactValues(this.message, secrets);
    const detail = redactValues(this.detail, secrets);
    if (message === this.message && JSON.stringify(detail) === JSON.stringify(this.detail)) return this;
    return new AuthError(this.code, message, { status: this.status, detail, reason: this.reason });
  }

  /** A plain, serialisable summary (no stack, no cause). */
  toJSON(): {
    /** `AuthError`. */
    name: string;
    /** The stable {@link AuthErrorCode}. */
    code: string;
    /** What happened and what to do next. */
    message: string;
    /** The HTTP status, where there was one. */
    status?: number;
    /** For `network_error`: which part of the connection failed. */
    reason?: NetworkReason;
  } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.reason === undefined ? {} : { reason: this.reason }),
    };
  }
}

/** Type guard for {@link AuthError}. */
export function isAuthError(value: unknown): value is AuthError {
  return value instanceof AuthError;
}

// Text that came from outside (a server, a callback, a file) before it
// reaches a terminal: escape sequences there could write the clipboard
// (OSC 52), fake hyperlinks or clear the screen.

/** C0 controls except newline, DEL, and C1 controls (0x80-0x9f, where CSI 0x9b lives). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;

/** Whether `text` holds a control character (newline excepted). */
export function hasControl(text: string): boolean {
  CONTROL.lastIndex = 0;
  return CONTROL.test(text);
}

/** `text` without control characters (newlines kept): safe to print to a terminal. */
export function printable(text: string): string {
  return text.replace(CONTROL, '');
}

/** RFC 6749 appendix A.7: the characters an OAuth `error` code may have. */
const ERROR_CODE = /^[\u0020\u0021\u0023-\u005b\u005d-\u007e]{1,100}$/;

/** Whether `code` is a well-formed OAuth `error` value. */
export function isErrorCode(code: string): boolean {
  return ERROR_CODE.test(code);
}

// Secret removal for everything that may reach a log, an error, a
// subscriber or the inspector.

export const REDACTED = '[redacted]';

/** Keys whose values are secrets wherever they appear. */
const SECRET_KEYS = new Set([
  'access_token', 'refresh_token', 'id_token', 'device_code', 'code', 'code_verifier',
  'client_secret', 'password', 'assertion', 'client_assertion', 'subject_token', 'actor_token',
  'refresh-token', 'device-code', 'state', 'authorization', 'token', 'headers', 'cookie', 'set-cookie',
  // camelCase spellings, as in our own requests and machine contexts (compared lower-cased)
  'refreshtoken', 'accesstoken', 'idtoken', 'codeverifier', 'clientsecret', 'privatekey',
  // a DPoP private key (a JWK) and the proof header
  'dpop_key', 'dpopkey', 'dpop',
  // a client certificate's secrets
  'passphrase', 'pfx',
]);

/** Keys that hold a secret when their value is a string (`deviceCode` is also the name of the public code object). */
const SECRET_STRING_KEYS = new Set(['devicecode']);

/** Whether a property name holds a secret. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEYS.has(key.toLowerCase());
}

/** A deep copy of `value` with every secret-bearing property replaced by `[redacted]`. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return REDACTED;
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value instanceof Error) {
    return { name: value.name, message: redactText(value.message), ...(redact({ ...value }, depth + 1) as object) };
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      const secret = isSecretKey(key) || (typeof inner === 'string' && SECRET_STRING_KEYS.has(key.toLowerCase()));
      out[key] = secret && inner !== undefined && inner !== null && inner !== '' ? REDACTED : redact(inner, depth + 1);
    }
    return out;
  }
  return value;
}

const JWT = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
const BEARER = /\b(Bearer|DPoP)\s+[A-Za-z0-9._~+/=-]+/gi;
const JSON_PAIR = /("(?:access_token|refresh_token|id_token|device_code|code|code_verifier|client_secret|password|assertion|state|refresh-token|device-code)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;
// The same pair inside a JSON string (escaped quotes), as in py-oidc-auth's "Upstream OIDC error: {...}" details.
const ESCAPED_JSON_PAIR = /(\\"(?:access_token|refresh_token|id_token|device_code|code|code_verifier|client_secret|password|assertion|state|refresh-token|device-code)\\"\s*:\s*)\\"(?:[^"\\]|\\[^"])*\\"/gi;
const QUERY_PAIR = /([?&;\s](?:access_token|refresh_token|id_token|device_code|code|code_verifier|client_secret|password|assertion|state|refresh-token|device-code)=)[^&\s"'<>]*/gi;

/** Remove JWTs, bearer credentials and secret `key=value` / `"key": "value"` pairs from free text. */
export function redactText(text: string): string {
  return text
    .replace(JSON_PAIR, `$1"${REDACTED}"`)
    .replace(ESCAPED_JSON_PAIR, `$1\\"${REDACTED}\\"`)
    .replace(QUERY_PAIR, `$1${REDACTED}`)
    .replace(BEARER, `$1 ${REDACTED}`)
    .replace(JWT, REDACTED);
}

/**
 * Replace every occurrence of the given secret values (the refresh token,
 * device code or verifier a request carried) in `value`, deeply: a server
 * that echoes a secret in free text cannot leak it through us.
 */
export function redactValues<T>(value: T, secrets: readonly string[], depth = 0): T {
  const known = secrets.filter((secret) => secret.length >= 6);
  if (known.length === 0 || depth > 8) return value;
  if (typeof value === 'string') return known.reduce((text, secret) => text.split(secret).join(REDACTED), value as string) as T;
  if (Array.isArray(value)) return value.map((item) => redactValues(item, known, depth + 1)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, redactValues(inner, known, depth + 1)])) as T;
  }
  return value;
}

/** The values of the secret-bearing fields of a request form. */
export function secretValues(form: Record<string, string>): string[] {
  return Object.entries(form).filter(([key]) => isSecretKey(key)).map(([, value]) => value);
}
