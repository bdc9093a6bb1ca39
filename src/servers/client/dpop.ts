// DPoP keys and proofs (RFC 9449): one key pair per login, signing through
// WebCrypto with a non-extractable private key; the private key leaves this
// module only as the JWK the store keeps (exportDpopKey), never in a log,
// error or inspector event.
import { createHash, randomUUID, webcrypto } from 'node:crypto';
import type * as Jose from 'jose';
import type { JWK } from 'jose';
import { AuthError } from '../../errors.ts';
import { DPOP_ALGORITHMS, parseDpopNonce, proofClaims, type DpopAlgorithm } from '../../protocol/dpop.ts';

/**
 * A DPoP key pair, as a login holds it: the private key is a non-extractable
 * WebCrypto key; the server nonces it was handed are kept per origin.
 */
export interface DpopKey {
  /** The algorithm proofs are signed with. */
  readonly alg: DpopAlgorithm;
  /** The public key, as each proof's header carries it. */
  readonly publicJwk: JWK;
  /** The RFC 7638 thumbprint of the public key: the `cnf.jkt` of the tokens bound to it. */
  readonly thumbprint: string;
}

interface KeyParts {
  privateKey: webcrypto.CryptoKey;
  storable: JWK;
  nonces: Map<string, string>;
}

/** The private parts, out of reach of anything that prints or serialises a key handle. */
const parts = new WeakMap<DpopKey, KeyParts>();

function partsOf(key: DpopKey): KeyParts {
  const found = parts.get(key);
  if (!found) throw new AuthError('unexpected', 'This DPoP key was not made by generateDpopKey() or dpopKeyFromJwk().');
  return found;
}

const WEBCRYPTO: Record<DpopAlgorithm, webcrypto.EcKeyImportParams | webcrypto.Algorithm> = {
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  EdDSA: { name: 'Ed25519' },
  Ed25519: { name: 'Ed25519' },
};

/** jose, loaded on the first key (a process without DPoP never loads it for this). */
let jose: Promise<typeof Jose> | undefined;

async function handle(alg: DpopAlgorithm, storable: JWK): Promise<DpopKey> {
  const { calculateJwkThumbprint } = await (jose ??= import('jose'));
  // What a proof needs, and nothing more: the public members of the key.
  const publicJwk: JWK = storable.kty === 'EC' ? { kty: 'EC', crv: storable.crv, x: storable.x, y: storable.y } : { kty: 'OKP', crv: storable.crv, x: storable.x };
  // Signing uses a key that cannot be exported again from this process.
  const privateKey = await webcrypto.subtle.importKey('jwk', storable as webcrypto.JsonWebKey, WEBCRYPTO[alg], false, ['sign']);
  const key: DpopKey = Object.freeze({ alg, publicJwk: Object.freeze(publicJwk), thumbprint: await calculateJwkThumbprint(publicJwk) });
  // Kept as plain strings only (WebCrypto adds key_ops and ext), so that every store reads it back as it was written.
  const kept: Record<string, string> = { kty: String(storable.kty), crv: String(storable.crv), x: String(storable.x), ...(storable.y === undefined ? {} : { y: String(storable.y) }), d: String(storable.d), alg };
  parts.set(key, { privateKey, storable: Object.freeze(kept), nonces: new Map() });
  return key;
}

/** A new DPoP key pair for one login. */
export async function generateDpopKey(alg: DpopAlgorithm = 'ES256'): Promise<DpopKey> {
  const pair = await webcrypto.subtle.generateKey(WEBCRYPTO[alg] as webcrypto.EcKeyGenParams, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
  return handle(alg, await webcrypto.subtle.exportKey('jwk', pair.privateKey) as JWK);
}

/** The key a store entry keeps (a private JWK), ready to sign again; invalid ones are a `store_error`. */
export async function dpopKeyFromJwk(jwk: unknown): Promise<DpopKey> {
  const record = (jwk ?? {}) as JWK;
  const named = DPOP_ALGORITHMS.find((candidate) => candidate === record.alg);
  const alg: DpopAlgorithm | undefined = named ?? (record.kty === 'EC' && record.crv === 'P-256' ? 'ES256' : record.kty === 'OKP' && record.crv === 'Ed25519' ? 'EdDSA' : undefined);
  if (alg === undefined || typeof record.d !== 'string') {
    throw new AuthError('store_error', 'The stored DPoP key of this login is not a P-256 or Ed25519 private key, so its tokens cannot be used. Log in again (oidc-auth ... --force).');
  }
  try {
    return await handle(alg, record);
  } catch (error) {
    throw new AuthError('store_error', 'The stored DPoP key of this login cannot be read, so its tokens cannot be used. Log in again (oidc-auth ... --force).', { cause: error });
  }
}

const loaded = new Map<string, Promise<DpopKey>>();

/**
 * The key of a stored DPoP-bound token, loaded once per process and public
 * key (so that the nonces its servers hand out are kept between requests).
 */
export function dpopKeyFor(jwk: unknown): Promise<DpopKey> {
  const record = (jwk ?? {}) as Record<string, unknown>;
  const id = [record.kty, record.crv, record.x, record.y].map(String).join(':');
  let key = loaded.get(id);
  if (!key) {
    loaded.set(id, (key = dpopKeyFromJwk(jwk)));
    key.catch(() => loaded.delete(id));
  }
  return key;
}

/** The private key as a JWK, for the store that keeps the login. Secret: never print it. */
export function exportDpopKey(key: DpopKey): JWK {
  return partsOf(key).storable;
}

/** `base64url(SHA-256(accessToken))`: a resource request's `ath`. */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest('base64url');
}

/** The nonce a server at `url`'s origin last handed out, if any. */
export function dpopNonceFor(key: DpopKey, url: string): string | undefined {
  return partsOf(key).nonces.get(new URL(url).origin);
}

/** Keep the `DPoP-Nonce` a server at `url`'s origin sent (a malformed one is ignored); whether one was kept. */
export function rememberDpopNonce(key: DpopKey, url: string, header: string | null | undefined): boolean {
  const nonce = parseDpopNonce(header);
  if (nonce === undefined) return false;
  partsOf(key).nonces.set(new URL(url).origin, nonce);
  return true;
}

/**
 * A proof for one request (RFC 9449 4.2): `typ` dpop+jwt, the public key in
 * the header; `jti`, `htm`, `htu`, `iat`, the origin's nonce, and `ath` when
 * an access token goes with the request.
 */
export async function signDpopProof(key: DpopKey, method: string, url: string, accessToken?: string): Promise<string> {
  const { SignJWT } = await (jose ??= import('jose'));
  const { privateKey } = partsOf(key);
  const claims = proofClaims(method, url, { nonce: dpopNonceFor(key, url), ath: accessToken === undefined ? undefined : accessTokenHash(accessToken) });
  return new SignJWT({ ...claims, jti: randomUUID() })
    .setProtectedHeader({ alg: key.alg, typ: 'dpop+jwt', jwk: key.publicJwk })
    .setIssuedAt()
    .sign(privateKey);
}
