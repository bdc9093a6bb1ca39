import { AuthError } from '../errors.ts';

/** Placeholder for an actor the host wires in with `machine.provide()`. */
export function notProvided(name: string) {
  return async (): Promise<never> => {
    throw new AuthError('unexpected', `The actor "${name}" was not provided; wire it in with machine.provide().`);
  };
}

/** Whatever was thrown, as an {@link AuthError}. */
export function asAuthError(value: unknown): AuthError {
  if (value instanceof AuthError) return value;
  if (value !== null && typeof value === 'object' && typeof (value as { code?: unknown }).code === 'string' && typeof (value as { message?: unknown }).message === 'string') {
    const { code, message } = value as { code: string; message: string };
    return new AuthError(code, message);
  }
  const message = value instanceof Error ? value.message : String(value);
  return new AuthError('unexpected', `Unexpected failure: ${message}`, { cause: value });
}

/**
 * What the adapters of a host are handed in every invoked actor's input: an
 * opaque reference to their host, passed down the machines untouched. It
 * holds no secret (it serialises as `{ host }`), so inspectors may see it.
 */
export interface HostPort {
  /** The store key of the host. */
  readonly host: string;
}
