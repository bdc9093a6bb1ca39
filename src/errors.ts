import { redactValues } from './protocol/redact.ts';
import { isErrorCode, printable } from './protocol/text.ts';
/**
 * Every error code this library itself produces, as a list (for tests and
 * exhaustive handling). Most are the RFC 6749 / RFC 8628 `error` values a
 * server sends; the rest describe what happened on our side.
 */
export const KNOWN_AUTH_ERROR_CODES = [
  'login_required', 'access_denied', 'expired_token', 'timeout', 'cancelled', 'network', 'invalid_response', 'invalid_grant',
  'invalid_request', 'invalid_client', 'unauthorized_client', 'unsupported_grant_type', 'server_error', 'temporarily_unavailable',
  'authorization_pending', 'slow_down', 'unsupported_flow', 'state_mismatch', 'issuer_mismatch', 'invalid_id_token', 'invalid_scope',
  'store_error', 'lock_timeout', 'port_unavailable', 'unexpected', 'unauthorized', 'settings_conflict',
] as const;

/**
 * The known error codes as a closed union: `switch (code as KnownAuthErrorCode)`
 * can be checked for exhaustiveness (after `isKnownAuthErrorCode(code)`).
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
  toJSON(): { name: string; code: string; message: string; status?: number; reason?: NetworkReason } {
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
