/**
 * Secret removal for everything that may reach a log, an error, a
 * subscriber or the inspector.
 */

export const REDACTED = '[redacted]';

/** Keys whose values are secrets wherever they appear. */
const SECRET_KEYS = new Set([
  'access_token', 'refresh_token', 'id_token', 'device_code', 'code', 'code_verifier',
  'client_secret', 'password', 'assertion', 'client_assertion', 'subject_token', 'actor_token',
  'refresh-token', 'device-code', 'state', 'authorization', 'token', 'headers', 'cookie', 'set-cookie',
  // camelCase spellings, as in our own requests and machine contexts (compared lower-cased)
  'refreshtoken', 'accesstoken', 'idtoken', 'codeverifier', 'clientsecret', 'privatekey',
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
const BEARER = /\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/gi;
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
