// Who a login belongs to, from the ID token's claims or a userinfo answer
// (a provider's, or py-oidc-auth's `/auth/v2/userinfo`). Pure.
import { printable } from '../errors.ts';
import type { Identity } from '../types.ts';

/** Longest name or subject kept: a claim is shown in listings, never a page of text. */
const LONGEST = 256;

function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = printable(value).trim();
  return trimmed === '' || trimmed.length > LONGEST ? undefined : trimmed;
}

/**
 * The identity in OpenID claims or a py-oidc-auth userinfo answer:
 * `preferred_username` (py-oidc-auth: `username`), else `email`, else `sub`;
 * undefined when none is there.
 */
export function identityFromClaims(claims: unknown): Identity | undefined {
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) return undefined;
  const record = claims as Record<string, unknown>;
  const subject = text(record.sub);
  const name = text(record.preferred_username) ?? text(record.username) ?? text(record.email) ?? subject;
  if (name === undefined) return undefined;
  return subject === undefined ? { name } : { name, subject };
}

/** An identity read back from a store entry (its fields checked), or undefined. */
export function identityFromStored(value: unknown): Identity | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const name = text(record.name);
  if (name === undefined) return undefined;
  const subject = text(record.subject);
  return subject === undefined ? { name } : { name, subject };
}

/** Whether two identities are the same person: the same subject, or (without one) the same name. */
export function sameIdentity(a: Identity | undefined, b: Identity | undefined): boolean {
  if (!a || !b) return false;
  if (a.subject !== undefined && b.subject !== undefined) return a.subject === b.subject;
  return a.name === b.name;
}

/** `{ who }` for a stored identity that checks out, else `{}`: to spread into a token or index entry. */
export function whoField(value: unknown): { who?: Identity } {
  const who = identityFromStored(value);
  return who ? { who } : {};
}
