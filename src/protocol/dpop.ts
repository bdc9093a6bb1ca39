// Pure DPoP rules (RFC 9449): which algorithm to sign proofs with, what a
// proof's htu is, which nonces a server may hand out, and reading a resource
// server's challenge. Signing itself lives with the client (servers/client/dpop.ts).
import { AuthError } from '../errors.ts';
import { extractOAuthError, parseJson } from './error-response.ts';

/** The algorithms we sign proofs with, in order of preference (both are required of few and offered by most providers). */
export const DPOP_ALGORITHMS = ['ES256', 'EdDSA', 'Ed25519'] as const;

/** One of {@link DPOP_ALGORITHMS}. */
export type DpopAlgorithm = (typeof DPOP_ALGORITHMS)[number];

/** The token type of a DPoP-bound access token (RFC 9449 5), compared without case. */
export function isDpopTokenType(tokenType: string | undefined): boolean {
  return typeof tokenType === 'string' && tokenType.toLowerCase() === 'dpop';
}

/**
 * The algorithm for a provider's `dpop_signing_alg_values_supported`: ES256
 * where offered, else EdDSA. A provider that names none does not do DPoP: a
 * clear error, never a silent bearer token.
 */
export function chooseDpopAlgorithm(supported: unknown, issuer: string): DpopAlgorithm {
  if (!Array.isArray(supported) || supported.length === 0) {
    throw new AuthError('unsupported_flow', `${issuer} does not offer DPoP (its metadata has no dpop_signing_alg_values_supported), so a DPoP-bound token cannot be had there. ` +
      'Log in without DPoP (drop dpop / --dpop), or ask the provider\'s operators to enable it.');
  }
  const found = DPOP_ALGORITHMS.find((alg) => supported.includes(alg));
  if (!found) {
    throw new AuthError('unsupported_flow', `${issuer} signs DPoP proofs only with ${supported.map(String).join(', ')}; this client signs with ES256 or EdDSA. Log in without DPoP, or ask the provider to accept ES256.`);
  }
  return found;
}

/** A proof's `htu`: the request URL without query and fragment (RFC 9449 4.2). */
export function proofUrl(url: string): string {
  const parsed = new URL(url);
  parsed.search = '';
  parsed.hash = '';
  return parsed.href;
}

/** RFC 9449 8.1: a nonce is `1*NQCHAR` (printable ASCII without `"` and `\`). */
const NONCE = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Longest nonce taken: no server needs more, and a header of megabytes must not grow every later proof. */
export const MAX_NONCE_LENGTH = 1024;

/** The `DPoP-Nonce` header as a nonce to use, or undefined when it is absent or malformed (then it is ignored, never signed). */
export function parseDpopNonce(header: string | null | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const nonce = header.trim();
  return nonce.length <= MAX_NONCE_LENGTH && NONCE.test(nonce) ? nonce : undefined;
}

/**
 * Whether a resource server's `WWW-Authenticate` asks for a DPoP nonce
 * (RFC 9449 9: `DPoP error="use_dpop_nonce"`).
 */
export function asksForDpopNonce(wwwAuthenticate: string | null | undefined): boolean {
  return typeof wwwAuthenticate === 'string' && /(^|,|\s)DPoP\b[^]*\berror\s*=\s*"?use_dpop_nonce"?/i.test(wwwAuthenticate);
}

/**
 * Whether an answer asks for a DPoP nonce: an authorization server's 400
 * with the OAuth error `use_dpop_nonce` in its body (RFC 9449 8), or a
 * resource server's 401 with `WWW-Authenticate: DPoP error="use_dpop_nonce"` (RFC 9449 9).
 */
export function isDpopNonceChallenge(status: number, answer: { text?: string | undefined; wwwAuthenticate?: string | null | undefined }): boolean {
  if (status === 400 && answer.text !== undefined) {
    const body = parseJson(answer.text);
    return body.ok && extractOAuthError(body.value)?.error === 'use_dpop_nonce';
  }
  return status === 401 && asksForDpopNonce(answer.wwwAuthenticate);
}

/** The claims of a proof for one request (the signer adds `jti` and `iat`). */
export function proofClaims(method: string, url: string, options: { nonce?: string | undefined; ath?: string | undefined } = {}): Record<string, string> {
  return {
    htm: method.toUpperCase(),
    htu: proofUrl(url),
    ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
    ...(options.ath === undefined ? {} : { ath: options.ath }),
  };
}
