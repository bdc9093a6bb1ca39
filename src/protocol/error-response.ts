import { AuthError, type AuthErrorCode } from '../errors.ts';
import { redact, redactText } from '../errors.ts';

/** An OAuth error as found in a response body, whichever shape it came in. */
export interface OAuthErrorBody {
  error: string;
  error_description?: string | undefined;
}

const UPSTREAM = /Upstream OIDC error:\s*/;

function oauthError(value: unknown): OAuthErrorBody | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.error !== 'string' || record.error === '') return undefined;
  return {
    error: record.error,
    error_description: typeof record.error_description === 'string' ? record.error_description : undefined,
  };
}

/**
 * Find the OAuth error in a parsed body: a plain RFC 6749 body
 * (`{"error": ...}`), or py-oidc-auth's FastAPI wrapper
 * (`{"detail": "Upstream OIDC error: {\"error\": ...}"}`).
 */
export function extractOAuthError(body: unknown): OAuthErrorBody | undefined {
  const direct = oauthError(body);
  if (direct) return direct;
  if (body === null || typeof body !== 'object') return undefined;
  const detail = (body as Record<string, unknown>).detail;
  if (typeof detail === 'string' && UPSTREAM.test(detail)) {
    const embedded = detail.slice(detail.search(UPSTREAM)).replace(UPSTREAM, '');
    try {
      return oauthError(JSON.parse(embedded));
    } catch {
      // Some servers embed a Python repr (single quotes); read the error name from it.
      const match = /['"]error['"]\s*:\s*['"]([a-z_]+)['"]/.exec(embedded);
      return match?.[1] ? { error: match[1] } : undefined;
    }
  }
  if (detail !== null && typeof detail === 'object') return oauthError(detail);
  return undefined;
}

/** What the person should do next, per error code. */
const NEXT_STEP: Partial<Record<AuthErrorCode, string>> = {
  access_denied: 'The login was denied. Run the login again and approve the request.',
  authorization_declined: 'The login was declined. Run the login again and approve the request.',
  bad_refresh_token: 'The refresh token is incorrect or expired. Log in again.',
  expired_token: 'The login code expired before it was approved. Run the login again and finish it before the code expires.',
  invalid_grant: 'The server rejected the grant (the refresh token or code is expired, revoked or already used). Log in again (the CLI: the same command with --force).',
  invalid_client: 'The server does not accept this client. Check the host and the server\'s client registration.',
  unauthorized_client: 'This client may not use this grant. Check the server\'s client registration.',
  invalid_request: 'The server rejected the request as malformed or no longer valid (for a refresh: the refresh token is unknown or expired). Log in again; if it persists, check the server settings.',
  unauthorized: 'The server refused it on its own side (its session for this login ended, or the token is not valid there); this is no denial by you. Log in again.',
  unsupported_grant_type: 'The server does not support this grant. Try another flow (flow: "code" or "device").',
  server_error: 'The server failed. Try again later; if it persists, tell the server\'s operators.',
  temporarily_unavailable: 'The server is temporarily unavailable. Try again later.',
};

/** A sentence telling the person what to do about an error with `code`. */
export function nextStep(code: AuthErrorCode): string {
  return NEXT_STEP[code] ?? 'Try again; if it persists, check the host and the server.';
}

/** Parse JSON without throwing. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** The start of a body, secrets removed, for messages. */
export function bodyExcerpt(text: string, max = 200): string {
  const flat = redactText(text).replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}...` : flat;
}

/**
 * Turn an error response (any status, any body) into an {@link AuthError}.
 * Understands both error shapes; a non-JSON body gives `invalid_response`
 * with the status and the start of the body.
 */
export function interpretErrorResponse(status: number, text: string, what = 'The request', headers: { retryAfter?: number | undefined; location?: string | undefined } = {}): AuthError {
  if (status >= 300 && status < 400) {
    return new AuthError('invalid_response', `${what} was answered with a redirect (HTTP ${status}${headers.location ? ` to ${redactText(headers.location)}` : ''}); ` +
      'redirects are not followed, so that no credential goes where it was not sent. Check the host and routes (use the final URL).', { status });
  }
  if (status === 429 || (status === 503 && headers.retryAfter !== undefined)) {
    const wait = headers.retryAfter === undefined ? 'later' : `in ${headers.retryAfter} s`;
    return new AuthError('temporarily_unavailable', `${what} failed: the server is ${status === 429 ? 'rate-limiting requests' : 'temporarily unavailable'} (HTTP ${status}). Try again ${wait}.`, {
      status,
      detail: { retryAfter: headers.retryAfter, body: bodyExcerpt(text, 200) },
    });
  }
  const parsed = parseJson(text);
  if (!parsed.ok) {
    return new AuthError(
      status >= 500 ? 'server_error' : 'invalid_response',
      `${what} failed with HTTP ${status} and a body that is not JSON ("${bodyExcerpt(text)}"). Check that the host and routes point at a py-oidc-auth server${status >= 500 ? ', or try again later' : ''}.`,
      { status, detail: bodyExcerpt(text, 500) },
    );
  }
  const detail = redact(parsed.value);
  const error = extractOAuthError(parsed.value);
  if (error) {
    const description = error.error_description ? ` (${redactText(error.error_description)})` : '';
    return new AuthError(error.error, `${what} failed: ${error.error}${description}. ${nextStep(error.error)}`, { status, detail });
  }
  const message = parsed.value !== null && typeof parsed.value === 'object' ? (parsed.value as Record<string, unknown>).detail : undefined;
  // Only an OAuth access_denied is the person's denial: a bare 401/403 is the server refusing on its own side.
  const code: AuthErrorCode = status >= 500 ? 'server_error' : status === 400 || status === 422 ? 'invalid_request' : status === 401 || status === 403 ? 'unauthorized' : 'invalid_response';
  const said = typeof message === 'string' ? `: ${redactText(message)}` : '';
  return new AuthError(code, `${what} failed with HTTP ${status}${said}. ${nextStep(code)}`, { status, detail });
}

/**
 * Whether a device-authorization answer means "this server has no device
 * flow", so the code flow should be used instead (404, 405, 501, 503, and
 * 502 when the endpoint is missing from the IdP's discovery).
 */
export function meansNoDeviceFlow(error: AuthError): boolean {
  if (error.status === 404 || error.status === 405 || error.status === 501 || error.status === 503) return true;
  if (error.status !== 502) return false;
  return /not found in discovery|device_authorization_endpoint|not supported|does not support/i.test(JSON.stringify(error.detail ?? '') + error.message);
}

/**
 * Whether a failed request is worth retrying: network trouble, 5xx, 429 and
 * `temporarily_unavailable`, but never a denial or an expired code.
 */
export function isRetriable(error: AuthError): boolean {
  if (error.code === 'access_denied' || error.code === 'expired_token') return false;
  if (error.code === 'network' || error.code === 'temporarily_unavailable') return true;
  return error.status !== undefined && (error.status >= 500 || error.status === 429);
}

/**
 * The JSON body of a successful response, or an {@link AuthError}: an error
 * status, a body that is not JSON, or an error sent with HTTP 200 (GitHub does this).
 */
export function successBody(response: { status: number; text: string; retryAfter?: number | undefined; location?: string | undefined }, what: string): unknown {
  const { status, text } = response;
  const parsed = parseJson(text);
  if (status < 200 || status >= 300 || !parsed.ok || extractOAuthError(parsed.value)) throw interpretErrorResponse(status, text, what, response);
  return parsed.value;
}
