// Who a login belongs to, from the ID token's claims or a userinfo answer
// (a provider's, or py-oidc-auth's `/auth/v2/userinfo`). Pure. Reading it
// back from a store is token.ts's (the CLI's fast path loads only that).
import type { Identity } from '../types.ts';
import { identityText as text } from './token.ts';

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

/** Whether two identities are the same person: the same subject, or (without one) the same name. */
export function sameIdentity(a: Identity | undefined, b: Identity | undefined): boolean {
  if (!a || !b) return false;
  if (a.subject !== undefined && b.subject !== undefined) return a.subject === b.subject;
  return a.name === b.name;
}

