import { AuthError } from '../errors.ts';
import type { DeviceCode } from '../types.ts';
import { redact } from '../errors.ts';
import { hasControl } from '../errors.ts';

/** Poll interval when the server sends none (RFC 8628 section 3.2). */
export const DEFAULT_INTERVAL = 5;
/** Lifetime assumed when the server sends no `expires_in`. */
export const DEFAULT_DEVICE_CODE_LIFETIME = 600;

function positive(value: unknown): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
}

/** An http(s) URL with no control character or white space in it. */
function isWebUrl(text: string): boolean {
  if (!/^https?:\/\/\S+$/i.test(text) || hasControl(text)) return false;
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}

/** Read a device authorization response; throws `invalid_response` when a required field is missing or mistyped. */
export function parseDeviceCodeResponse(body: unknown, status?: number): DeviceCode {
  const fail = (why: string) =>
    new AuthError('invalid_response', `The device authorization answer ${why}. Check that the device route points at a py-oidc-auth server.`, {
      status,
      detail: redact(body),
    });
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw fail('is not a JSON object');
  const record = body as Record<string, unknown>;
  // Google and Entra ID's v1 endpoint name it verification_url (their documented wire format).
  const verificationUri = record.verification_uri ?? record.verification_url;
  for (const [field, value] of [['device_code', record.device_code], ['user_code', record.user_code], ['verification_uri', verificationUri]] as const) {
    if (typeof value !== 'string' || value === '') throw fail(`has no ${field}`);
  }
  // These are shown on a terminal and opened in a browser: a control character or a space in them is an attack, not a typo.
  if (hasControl(record.user_code as string) || (record.user_code as string).includes('\n')) throw fail('has a user_code with control characters');
  if (!isWebUrl(verificationUri as string)) throw fail('has a verification_uri that is not an http(s) URL');
  const complete = typeof record.verification_uri_complete === 'string' && isWebUrl(record.verification_uri_complete)
    ? record.verification_uri_complete
    : undefined;
  return {
    uri: complete ?? (verificationUri as string),
    user_code: record.user_code as string,
    device_code: record.device_code as string,
    interval: Math.max(1, Math.ceil(positive(record.interval) ?? DEFAULT_INTERVAL)),
    verification_uri: verificationUri as string,
    verification_uri_complete: complete,
    expires_in: Math.ceil(positive(record.expires_in) ?? DEFAULT_DEVICE_CODE_LIFETIME),
  };
}

/** The part of a device code that may be shown anywhere (no `device_code`). */
export type PublicDeviceCode = Omit<DeviceCode, 'device_code'>;

/** Drop the secret `device_code`. */
export function publicDeviceCode(code: DeviceCode): PublicDeviceCode {
  const { device_code: _secret, ...rest } = code;
  return rest;
}
