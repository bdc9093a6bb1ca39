// Properties of every parser that reads outside input. test/fuzz.test.ts runs
// a short round of each in `npm test`; `npm run fuzz` runs 10,000 cases each.
import fc from 'fast-check';
import { retryAfterSeconds } from '../../src/adapters/http/http.ts';
import { parseStoreContent, serializeStoreContent, storeText } from '../../src/adapters/store/file-format.ts';
import { AuthError } from '../../src/errors.ts';
import { callbackMatches, parseCallbackQuery, providerRedirect } from '../../src/protocol/callback.ts';
import { parseDeviceCodeResponse } from '../../src/protocol/device.ts';
import { extractOAuthError, interpretErrorResponse } from '../../src/protocol/error-response.ts';
import { normalizeHost } from '../../src/protocol/host.ts';
import { formatCredential, parseCredentialRequest } from '../../src/protocol/git-credential.ts';
import { isExecApiVersion, parseExecInfo } from '../../src/protocol/kubernetes.ts';
import { identityFromClaims } from '../../src/protocol/identity.ts';
import { identityFromStored } from '../../src/protocol/token.ts';
import { accountOfKey, accountProblem, DEFAULT_ACCOUNT, hostKey, serverOfKey, storeKey, withAccount } from '../../src/protocol/store-key.ts';
import { parseAuthResponse, parseOAuthTokenResponse, parseProviderMetadata } from '../../src/protocol/oauth.ts';
import { describeNetworkError } from '../../src/protocol/network-error.ts';
import { bypassesProxy, proxySettings } from '../../src/protocol/proxy.ts';
import { redactText } from '../../src/errors.ts';
import { canonicalAddress, ownerOf, parseSocketTable } from '../../src/protocol/socket-table.ts';
import { printable } from '../../src/errors.ts';
import { isBearerToken, MAX_LIFETIME, parseTokenResponse } from '../../src/protocol/token.ts';

/** Either a value, or an AuthError (the only failure a parser may raise). */
function outcome<T>(run: () => T): T | AuthError {
  try {
    return run();
  } catch (error) {
    if (error instanceof AuthError) return error;
    throw error;
  }
}

const number = fc.oneof(fc.integer(), fc.double(), fc.constant(Number.NaN), fc.constant(1e308));
const scalar = fc.oneof(fc.string(), number, fc.boolean(), fc.constant(null), fc.constant(undefined));
const field = (names: string[]) => fc.dictionary(fc.constantFrom(...names), fc.oneof(scalar, fc.jsonValue()));
const TOKEN_FIELDS = ['access_token', 'token_type', 'expires', 'expires_in', 'exp', 'expires_at', 'refresh_token', 'refresh_expires', 'refresh_expires_in', 'scope', 'id_token', 'error'];
const tokenLike = fc.oneof(fc.jsonValue(), field(TOKEN_FIELDS));
const secret = fc.stringMatching(/^[A-Za-z0-9_-]{16,40}$/);

/** One named property; `run(numRuns)` checks it and resolves to the cases run. */
export interface FuzzProperty {
  name: string;
  run(numRuns: number): Promise<number>;
}

function property<T>(name: string, arbitrary: fc.Arbitrary<T>, check: (value: T) => void): FuzzProperty {
  return {
    name,
    async run(numRuns) {
      await fc.assert(fc.property(arbitrary, check), { numRuns });
      return numRuns;
    },
  };
}

const isFiniteNumber = (value: unknown) => typeof value === 'number' && Number.isFinite(value);

export const PROPERTIES: FuzzProperty[] = [
  property('parseTokenResponse (routes)', tokenLike, (body) => {
    const token = outcome(() => parseTokenResponse(body, 1_700_000_000));
    if (token instanceof AuthError) {
      if (token.code !== 'invalid_response') throw new Error(`unexpected code ${token.code}`);
      return;
    }
    if (typeof token.access_token !== 'string' || token.access_token === '') throw new Error('empty access token accepted');
    if (!isFiniteNumber(token.expires) || !isFiniteNumber(token.refresh_expires)) throw new Error('expiry is not a finite number');
    if (token.headers.Authorization !== `Bearer ${token.access_token}`) throw new Error('header does not match');
    if (!isBearerToken(token.access_token) || token.token_type.toLowerCase() !== 'bearer') throw new Error('a token a header line could not carry was accepted');
    if (token.expires > 1_700_000_000 + MAX_LIFETIME || token.refresh_expires > 1_700_000_000 + MAX_LIFETIME) throw new Error('expiry not clamped');
  }),
  property('parseOAuthTokenResponse (providers)', fc.dictionary(fc.constantFrom(...TOKEN_FIELDS), fc.oneof(scalar, fc.jsonValue())), (body) => {
    const response = outcome(() => parseOAuthTokenResponse(body as Record<string, unknown>, 200));
    if (response instanceof AuthError) return;
    if (typeof response.access_token !== 'string' || typeof response.token_type !== 'string') throw new Error('wrong types accepted');
    if (response.expires_in !== undefined && !Number.isFinite(response.expires_in)) throw new Error('expires_in is not finite');
  }),
  property('parseDeviceCodeResponse', fc.oneof(fc.jsonValue(), field(['device_code', 'user_code', 'verification_uri', 'verification_uri_complete', 'verification_url', 'expires_in', 'interval'])), (body) => {
    const code = outcome(() => parseDeviceCodeResponse(body, 200));
    if (code instanceof AuthError) return;
    if (!code.device_code || !code.user_code || !code.uri) throw new Error('empty field accepted');
    if (!(code.interval > 0) || !(code.expires_in > 0) || !Number.isFinite(code.interval) || !Number.isFinite(code.expires_in)) throw new Error('bad interval or lifetime');
  }),
  property('error bodies: both shapes, any status; never a secret in message or detail', fc.tuple(fc.integer({ min: 100, max: 599 }), secret, fc.oneof(fc.jsonValue(), field(['error', 'error_description', 'detail'])), fc.boolean()), ([status, value, body, asText]) => {
    const withSecret = body !== null && typeof body === 'object' && !Array.isArray(body) ? { ...body, refresh_token: value, access_token: value } : { detail: `Upstream OIDC error: {"error": "invalid_grant", "refresh_token": "${value}"}` };
    const text = asText ? `<html>${JSON.stringify(body)}</html>` : JSON.stringify(withSecret);
    extractOAuthError(body);
    const error = interpretErrorResponse(status, text, 'The request');
    if (!(error instanceof AuthError) || error.status !== status) throw new Error('not a typed error with the status');
    if (!asText && (error.message.includes(value) || JSON.stringify(error.detail ?? '').includes(value))) throw new Error('secret leaked');
  }),
  property('normalizeHost: scheme://host[:port], idempotent, or a TypeError', fc.oneof(fc.webUrl(), fc.string(), fc.domain()), (input) => {
    let host: string;
    try {
      host = normalizeHost(input);
    } catch (error) {
      if (error instanceof TypeError) return;
      throw error;
    }
    if (!/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*$/.test(host)) throw new Error(`odd key ${host}`);
    if (normalizeHost(host) !== host) throw new Error('not idempotent');
  }),
  property('parseCallbackQuery never throws; values are strings or absent', fc.oneof(fc.string(), fc.webQueryParameters(), fc.webUrl({ withQueryParameters: true }).map((u) => new URL(u).search)), (query) => {
    const params = parseCallbackQuery(query);
    for (const value of Object.values(params)) if (value !== undefined && (typeof value !== 'string' || value === '')) throw new Error('bad value');
  }),
  property('parseAuthResponse: the state must match exactly', fc.tuple(fc.webQueryParameters(), fc.option(fc.string(), { nil: undefined })), ([query, state]) => {
    const response = outcome(() => parseAuthResponse(query, state));
    if (response instanceof AuthError) {
      if (response.code !== 'state_mismatch' || state === undefined) throw new Error('wrong failure');
      return;
    }
    if (state !== undefined && response.state !== state) throw new Error('a different state was accepted');
  }),
  property('parseStoreContent: never throws; round-trips what it reads', fc.oneof(fc.jsonValue(), fc.dictionary(fc.webUrl(), fc.record({ token: tokenLike, stored_at: fc.oneof(number, fc.string()) }, { requiredKeys: [] }))), (value) => {
    const content = parseStoreContent(value);
    if (!content) return;
    const again = parseStoreContent(JSON.parse(JSON.stringify(serializeStoreContent(content))));
    if (!again || JSON.stringify(again.shape === 'hosts' ? Object.keys(again.entries) : again.token) !== JSON.stringify(content.shape === 'hosts' ? Object.keys(content.entries) : content.token)) {
      throw new Error('round trip changed the content');
    }
  }),
  property('storeText: the text JSON.stringify(serializeStoreContent(...), 2) gives, also with entry texts kept from an earlier write and keys in both maps', fc.tuple(fc.oneof(fc.jsonValue(), fc.dictionary(fc.oneof(fc.webUrl(), fc.string()), fc.record({ token: tokenLike, stored_at: number }, { requiredKeys: [] }))), fc.dictionary(fc.string(), fc.jsonValue())), ([value, extra]) => {
    const content = parseStoreContent(value);
    if (!content) return;
    const expected = (c: typeof content) => `${JSON.stringify(serializeStoreContent(c), undefined, 2)}\n`;
    if (storeText(content) !== expected(content)) throw new Error('storeText differs from JSON.stringify');
    if (content.shape !== 'hosts') return;
    // A second write with some entries kept (their texts from the first), others beside them, one key in both.
    const others = { ...content.others, ...extra, ...(Object.keys(content.entries)[0] ? { [Object.keys(content.entries)[0] ?? '']: 'shadowed' } : {}) };
    const next = { ...content, others };
    if (storeText(next) !== expected(next)) throw new Error('storeText differs on a second write');
  }),
  property('parseProviderMetadata: the issuer must match exactly', fc.tuple(fc.oneof(fc.jsonValue(), field(['issuer', 'token_endpoint', 'authorization_endpoint', 'jwks_uri', 'grant_types_supported'])), fc.webUrl()), ([value, issuer]) => {
    const metadata = outcome(() => parseProviderMetadata(value, issuer));
    if (metadata instanceof AuthError) return;
    if (metadata.issuer !== issuer) throw new Error('issuer mismatch accepted');
  }),
  property('redactText removes secret pairs, bearer credentials and JWTs', fc.tuple(secret, fc.constantFrom('access_token', 'refresh_token', 'code', 'device_code', 'code_verifier'), fc.string()), ([value, key, noise]) => {
    for (const text of [`${noise} "${key}": "${value}" ${noise}`, `${noise}?${key}=${value}&x=1`, `Authorization: Bearer ${value}`, `eyJ${value}.${value}.${value}`]) {
      if (redactText(text).includes(value)) throw new Error(`leaked from ${text}`);
    }
  }),
  property('callbackMatches: only a code or error with exactly the expected state', fc.tuple(fc.webQueryParameters(), fc.option(fc.string(), { nil: undefined })), ([query, expected]) => {
    const params = parseCallbackQuery(query);
    if (callbackMatches(params, expected) && !(expected && params.state === expected && (params.code !== undefined || params.error !== undefined))) throw new Error('a foreign callback matched');
  }),
  property('providerRedirect: an http(s) URL with a state that carries a verifier, or invalid_response', fc.tuple(fc.integer({ min: 100, max: 599 }), fc.option(fc.oneof(fc.string(), fc.webUrl({ withQueryParameters: true })), { nil: undefined })), ([status, location]) => {
    const result = outcome(() => providerRedirect(status, location, 'http://h.example/auth/v2/login'));
    if (result instanceof AuthError) {
      if (result.code !== 'invalid_response') throw new Error(`unexpected code ${result.code}`);
      return;
    }
    if (!/^https?:/.test(result.url) || !result.state.includes('|')) throw new Error('accepted a redirect without a usable state');
  }),
  property('printable: no control character survives; AuthError messages are printable', fc.string({ unit: 'binary' }), (text) => {
    const clean = printable(text);
    if (/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(clean)) throw new Error('control character kept');
    if (new AuthError('network', text).message !== clean) throw new Error('AuthError message not cleaned');
  }),
  property('NO_PROXY: loopback never proxied, * bypasses all, an entry covers its subdomains', fc.tuple(fc.domain(), fc.nat({ max: 65535 }).map(String), fc.string()), ([domain, port, noise]) => {
    const settings = proxySettings({ HTTPS_PROXY: 'http://proxy.example:3128', NO_PROXY: noise });
    if (!settings) throw new Error('no settings');
    for (const loopback of ['localhost', '127.0.0.1', '::1']) if (!bypassesProxy(loopback, port, settings.noProxy)) throw new Error(`${loopback} proxied`);
    if (!bypassesProxy(domain, port, '*')) throw new Error('* did not bypass');
    if (!bypassesProxy(`a.${domain}`, port, domain) || !bypassesProxy(domain, port, `.${domain}`)) throw new Error('domain rule broken');
  }),
  property('describeNetworkError: a reason and a message for any error, never the proxy password', fc.tuple(fc.constantFrom('ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET', 'CERT_HAS_EXPIRED', 'SELF_SIGNED_CERT_IN_CHAIN', 'ERR_TLS_CERT_ALTNAME_INVALID', 'UND_ERR_SOCKET', 'EWHATEVER'), fc.string(), fc.boolean()), ([code, text, viaProxy]) => {
    const error = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(text), { code }) });
    const { reason, message } = describeNetworkError(error, 'https://app.example.org/auth/v2/token', viaProxy ? 'http://user:hunter2-secret@proxy.example:3128' : undefined);
    if (!reason || !message) throw new Error('nothing said');
    if (message.includes('hunter2-secret')) throw new Error('proxy password shown');
  }),
  property('socket table: any text reads without throwing; a row written as the kernel does reads back with its owner', fc.tuple(fc.ipV4(), fc.ipV6(), fc.nat({ max: 65535 }), fc.nat({ max: 65535 }), fc.nat({ max: 4_294_967_295 }), fc.string({ unit: 'binary' }), fc.boolean()), ([v4, v6, clientPort, serverPort, uid, noise, littleEndian]) => {
    for (const row of parseSocketTable(noise, littleEndian)) if (!(row.local.port <= 65535 && Number.isInteger(row.uid))) throw new Error('impossible row');
    const hex = (bytes: number[]) => {
      const words: string[] = [];
      for (let at = 0; at < bytes.length; at += 4) {
        const word = bytes.slice(at, at + 4);
        words.push((littleEndian ? word.reverse() : word).map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(''));
      }
      return words.join('');
    };
    const v4Bytes = v4.split('.').map(Number);
    const v6Canonical = canonicalAddress(v6);
    if (canonicalAddress(v4) !== v4 || v6Canonical === undefined) throw new Error(`address not read: ${v4} ${v6}`);
    const v6Bytes = /^\d+\.\d+\.\d+\.\d+$/.test(v6Canonical) ? [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, ...v6Canonical.split('.').map(Number)] : v6Canonical.split(':').flatMap((group) => [Number.parseInt(group.slice(0, 2), 16), Number.parseInt(group.slice(2), 16)]);
    const port = (n: number) => n.toString(16).padStart(4, '0').toUpperCase();
    for (const [address, bytes] of [[v4, v4Bytes], [v6Canonical, v6Bytes]] as const) {
      const text = `  sl  local_address rem_address st\n   0: ${hex([...bytes])}:${port(clientPort)} ${hex([...bytes])}:${port(serverPort)} 01 00000000:00000000 00:00000000 00000000 ${uid} 0 1\n${noise.replace(/\n/g, ' ')}`;
      const owner = ownerOf(parseSocketTable(text, littleEndian), { address, port: clientPort }, { address, port: serverPort });
      if (owner !== uid) throw new Error(`owner ${owner} for ${address}, written ${uid}`);
    }
  }),
  property('identityFromClaims: a printable name of at most 256 characters or undefined; never throws', fc.oneof(fc.jsonValue(), field(['sub', 'preferred_username', 'username', 'email'])), (claims) => {
    const who = identityFromClaims(claims);
    if (who === undefined) return;
    if (who.name === '' || who.name.length > 256 || printable(who.name) !== who.name) throw new Error(`bad name ${JSON.stringify(who.name)}`);
    if (JSON.stringify(identityFromStored(JSON.parse(JSON.stringify(who)))) !== JSON.stringify(who)) throw new Error('does not round-trip through the store');
  }),
  property('account keys: any valid name round-trips through withAccount / accountOfKey / serverOfKey; other names are refused', fc.tuple(fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/), fc.string()), fc.webUrl(), fc.option(fc.array(fc.stringMatching(/^[a-z:]{1,8}$/), { maxLength: 3 }), { nil: undefined })), ([name, host, scope]) => {
    const problem = accountProblem(name);
    if (problem !== undefined) {
      if (/^[A-Za-z0-9._-]{1,64}$/.test(name) && !/^\.+$/.test(name)) throw new Error(`refused a valid name ${name}`);
      return;
    }
    const server = hostKey(host, { scope });
    const key = withAccount(server, name);
    if (accountOfKey(key) !== name || serverOfKey(key) !== server || storeKey(key) !== key) throw new Error(`${key} does not round-trip`);
    if (name === DEFAULT_ACCOUNT && key !== server) throw new Error('the default account has the server\'s key');
  }),
  property('KUBERNETES_EXEC_INFO: any text gives a known version or none, a boolean or none; never throws', fc.oneof(fc.string(), fc.jsonValue().map((v) => JSON.stringify(v)), fc.record({ apiVersion: fc.oneof(fc.string(), fc.constant('client.authentication.k8s.io/v1')), spec: fc.oneof(fc.jsonValue(), fc.record({ interactive: fc.oneof(fc.boolean(), fc.string()) })) }).map((v) => JSON.stringify(v))), (text) => {
    const info = parseExecInfo(text);
    if (info.apiVersion !== undefined && !isExecApiVersion(info.apiVersion)) throw new Error(`unknown version ${info.apiVersion}`);
    if (info.interactive !== undefined && typeof info.interactive !== 'boolean') throw new Error('interactive is not a boolean');
  }),
  property('git credential lines: any input reads without throwing; an answer is always three lines or two, whatever the values hold', fc.tuple(fc.string(), fc.string(), fc.string()), ([input, username, password]) => {
    const fields = parseCredentialRequest(input);
    if (Object.getPrototypeOf(fields) !== Object.prototype) throw new Error('prototype changed');
    const lines = formatCredential({ username, password, expires: 1 }).split('\n');
    if (lines.length !== 4 || lines[3] !== '' || !lines[0]?.startsWith('username=') || !lines[1]?.startsWith('password=')) throw new Error(`answer split: ${JSON.stringify(lines)}`);
  }),
  property('Retry-After: undefined or whole seconds in [0, 86400]', fc.oneof(fc.string(), fc.nat().map(String), fc.date({ noInvalidDate: true }).map((d) => d.toUTCString())), (value) => {
    const seconds = retryAfterSeconds(value);
    if (seconds !== undefined && !(Number.isInteger(seconds) && seconds >= 0 && seconds <= 86_400)) throw new Error(`bad ${seconds}`);
  }),
];
