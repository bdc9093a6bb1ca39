import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthError } from '../src/errors.ts';
import { buildLoginUrl, callbackMatches, parseCallbackQuery, providerRedirect, verifierFromState } from '../src/protocol/callback.ts';
import { parseDeviceCodeResponse } from '../src/protocol/device.ts';
import { extractOAuthError, interpretErrorResponse, isRetriable, meansNoDeviceFlow } from '../src/protocol/error-response.ts';
import { joinUrl, normalizeHost, withoutCredentials } from '../src/protocol/host.ts';
import { redact, redactText } from '../src/errors.ts';
import { isEvictable, mergeRefreshed, nowSeconds, parseTokenResponse, tokenFromStored, tokenStatus } from '../src/protocol/token.ts';
import { identityFromClaims, sameIdentity } from '../src/protocol/identity.ts';
import { accountOfKey, accountProblem, hostKey, providerKey, serverOfKey, storeKey, withAccount } from '../src/protocol/store-key.ts';
import { loginPrompt } from '../src/servers/provider.ts';
import { parseDefaults } from '../src/adapters/store/accounts.ts';
import { execCredential, parseExecInfo } from '../src/protocol/kubernetes.ts';
import { credentialServer, formatCredential, parseCredentialRequest } from '../src/protocol/git-credential.ts';
import { shellLine } from '../src/protocol/shell.ts';
import { failureAnswer, parseAnswer, readMessage, successAnswer } from '../src/protocol/agent-ipc.ts';
import { chooseLogin, optionsOfKey, refreshMargin } from '../src/api/agent.ts';
import { asksForDpopNonce, chooseDpopAlgorithm, isDpopNonceChallenge, isDpopTokenType, MAX_NONCE_LENGTH, parseDpopNonce, proofClaims, proofUrl } from '../src/protocol/dpop.ts';
import type { StoredSummary } from '../src/adapters/store/contract.ts';
import { parseStoreContent, serializeStoreContent } from '../src/adapters/store/file-format.ts';

describe('host normalisation (same keys as the Python client)', () => {
  const cases: Array<[string, string]> = [
    ['https://MyApp.Example.org/', 'https://myapp.example.org'],
    ['https://myapp.example.org:443/api/app/', 'https://myapp.example.org'],
    ['http://localhost:80', 'http://localhost'],
    ['http://localhost:7777/api/app/', 'http://localhost:7777'],
    ['myapp.example.org', 'https://myapp.example.org'],
    ['HTTP://[::1]:8080/x', 'http://[::1]:8080'],
  ];
  for (const [input, expected] of cases) it(`${input} -> ${expected}`, () => assert.equal(normalizeHost(input), expected));
  it('rejects an empty host with a clear message', () => assert.throws(() => normalizeHost(' '), /non-empty URL/));
});

describe('joinUrl never doubles or loses a slash', () => {
  for (const [host, route] of [['http://h:1/api/app/', '/auth/v2/token'], ['http://h:1/api/app', 'auth/v2/token'], ['http://h:1/api/app//', '//auth/v2/token']]) {
    it(`${host} + ${route}`, () => assert.equal(joinUrl(host as string, route as string), 'http://h:1/api/app/auth/v2/token'));
  }
});

describe('addresses in messages carry no credentials', () => {
  it('user and password go, the rest stays; what is not a URL gives the stand-in', () => {
    assert.equal(withoutCredentials('redis://app:s3cret@cache.example:6380/2', '?'), 'redis://cache.example:6380/2');
    assert.equal(withoutCredentials('rediss://:only-password@127.0.0.1:6379', '?'), 'rediss://127.0.0.1:6379');
    assert.equal(withoutCredentials('http://user:p%40ss@proxy.example:3128/', '?'), 'http://proxy.example:3128');
    assert.equal(withoutCredentials('not a url with secret', '(not a URL)'), '(not a URL)');
  });
});

describe('token responses', () => {
  const now = 1_000_000;
  it('reads py-oidc-auth absolute expiries', () => {
    const token = parseTokenResponse({ access_token: 'a', token_type: 'Bearer', expires: now + 300, refresh_token: 'r', refresh_expires: now + 180, scope: 'openid' }, now);
    assert.deepEqual(token, { access_token: 'a', token_type: 'Bearer', expires: now + 300, refresh_token: 'r', refresh_expires: now + 180, scope: 'openid', headers: { Authorization: 'Bearer a' } });
  });
  it('reads expires_in / refresh_expires_in, exp and expires_at, and defaults to 180 s', () => {
    assert.equal(parseTokenResponse({ access_token: 'a', expires_in: 60 }, now).expires, now + 60);
    for (const expired of [{ expires_in: -100 }, { expires_in: 0 }, { expires: now - 1 }, { exp: now }, { expires_at: String(now - 3600) }]) {
      assert.throws(() => parseTokenResponse({ access_token: 'a', refresh_token: 'r-secret', ...expired }, now, 200), (error: AuthError) => error.code === 'invalid_response' && error.status === 200 &&
        /had already expired .* this machine's clock/.test(error.message) && !JSON.stringify(error.detail).includes('r-secret'), JSON.stringify(expired));
    }
    assert.equal(parseTokenResponse({ access_token: 'a', expires_in: 1 }, now).expires, now + 1, 'a second left is still a token');
    assert.equal(parseTokenResponse({ access_token: 'a', exp: now + 5 }, now).expires, now + 5);
    assert.equal(parseTokenResponse({ access_token: 'a', expires_at: String(now + 7) }, now).expires, now + 7);
    assert.equal(parseTokenResponse({ access_token: 'a' }, now).expires, now + 180);
    assert.equal(parseTokenResponse({ access_token: 'a', refresh_token: 'r', refresh_expires_in: 10 }, now).refresh_expires, now + 10);
    assert.equal(parseTokenResponse({ access_token: 'a' }, now).refresh_expires, 0, 'no refresh token, no refresh expiry');
  });
  for (const body of [null, [], 'text', {}, { access_token: '' }, { access_token: 5 }, { access_token: 'a', refresh_token: 7 }, { access_token: 'a', scope: ['x'] }]) {
    it(`rejects ${JSON.stringify(body)} as invalid_response`, () => {
      assert.throws(() => parseTokenResponse(body, now), (error: unknown) => error instanceof AuthError && error.code === 'invalid_response');
    });
  }
  it('keeps the old refresh token when a refresh answer has none', () => {
    const next = parseTokenResponse({ access_token: 'b', expires_in: 60 }, now);
    assert.equal(mergeRefreshed({ refresh_token: 'old', refresh_expires: now + 99 }, next).refresh_token, 'old');
  });
  it('validity uses a 60 s margin; eviction is max(expiries) - 30', () => {
    const t = parseTokenResponse({ access_token: 'a', expires: now + 61, refresh_token: 'r', refresh_expires: now + 200 }, now);
    assert.equal(tokenStatus(t, now), 'valid');
    assert.equal(tokenStatus(t, now + 1), 'refreshable');
    assert.equal(tokenStatus(t, now + 141), 'expired');
    assert.equal(isEvictable(t, now + 169), false);
    assert.equal(isEvictable(t, now + 170), true);
    assert.equal(tokenStatus(undefined, now), 'expired');
  });
});

describe('device authorization responses', () => {
  it('prefers verification_uri_complete for uri, defaults interval to 5', () => {
    const code = parseDeviceCodeResponse({ device_code: 'd', user_code: 'U', verification_uri: 'https://i/device', verification_uri_complete: 'https://i/device?u=U', expires_in: 600 });
    assert.equal(code.uri, 'https://i/device?u=U');
    assert.equal(code.interval, 5);
    const plain = parseDeviceCodeResponse({ device_code: 'd', user_code: 'U', verification_uri: 'https://i/device', verification_uri_complete: null, interval: '7' });
    assert.equal(plain.uri, 'https://i/device');
    assert.equal(plain.interval, 7);
    assert.equal(plain.expires_in, 600);
  });
  for (const body of [{}, { device_code: 'd', user_code: 'U' }, { device_code: 'd', user_code: 'U', verification_uri: 'javascript:alert(1)' }, []]) {
    it(`rejects ${JSON.stringify(body)}`, () => assert.throws(() => parseDeviceCodeResponse(body), /device authorization answer/));
  }
});

describe('error bodies: both shapes, any status', () => {
  it('reads the plain RFC 6749 shape', () => {
    const error = interpretErrorResponse(400, JSON.stringify({ error: 'access_denied', error_description: 'no' }));
    assert.equal(error.code, 'access_denied');
    assert.equal(error.status, 400);
    assert.match(error.message, /approve/);
  });
  it("reads py-oidc-auth's detail wrapper", () => {
    const body = { detail: 'Upstream OIDC error: {"error":"expired_token","error_description":"device code expired"}' };
    assert.deepEqual(extractOAuthError(body), { error: 'expired_token', error_description: 'device code expired' });
    assert.equal(interpretErrorResponse(400, JSON.stringify(body)).code, 'expired_token');
  });
  it('reads a Python-repr detail', () => {
    assert.equal(extractOAuthError({ detail: "Upstream OIDC error: {'error': 'authorization_pending'}" })?.error, 'authorization_pending');
  });
  it('an HTML 502 page is a server_error with status and excerpt', () => {
    const error = interpretErrorResponse(502, '<html><body><h1>502 Bad Gateway</h1></body></html>');
    assert.equal(error.code, 'server_error');
    assert.equal(error.status, 502);
    assert.match(error.message, /502 Bad Gateway/);
  });
  it('non-JSON 4xx is invalid_response; FastAPI detail strings are passed on', () => {
    assert.equal(interpretErrorResponse(400, 'nope').code, 'invalid_response');
    const missing = interpretErrorResponse(400, JSON.stringify({ detail: 'Missing (device) code or refresh_token' }));
    assert.equal(missing.code, 'invalid_request');
    assert.match(missing.message, /Missing \(device\) code/);
  });
  it('knows which device-route answers mean "no device flow"', () => {
    for (const status of [404, 405, 501, 503]) assert.ok(meansNoDeviceFlow(interpretErrorResponse(status, '{"detail":"Not Found"}')));
    assert.ok(meansNoDeviceFlow(interpretErrorResponse(502, '{"detail":"device_authorization_endpoint not found in discovery"}')));
    assert.ok(!meansNoDeviceFlow(interpretErrorResponse(502, '{"detail":"Failed to contact OIDC endpoint: timeout"}')));
    assert.ok(!meansNoDeviceFlow(interpretErrorResponse(400, '{"error":"invalid_client"}')));
  });
  it('retries network trouble, 5xx and 429, never a denial or an expired code', () => {
    assert.ok(isRetriable(new AuthError('network', 'reset')));
    assert.ok(isRetriable(interpretErrorResponse(503, '<html>down</html>')));
    assert.ok(isRetriable(interpretErrorResponse(429, '{}')));
    assert.ok(!isRetriable(interpretErrorResponse(500, '{"error":"access_denied"}')));
    assert.ok(!isRetriable(interpretErrorResponse(400, '{"error":"invalid_grant"}')));
  });
  it('secrets in error bodies never reach the message or detail', () => {
    const error = interpretErrorResponse(500, JSON.stringify({ error: 'server_error', error_description: 'bad refresh_token=SECRET1', access_token: 'SECRET2' }));
    assert.ok(!JSON.stringify({ m: error.message, d: error.detail }).includes('SECRET'));
  });

  it('a 429 whose py-oidc-auth detail holds an escaped secret (found by fuzzing) leaks nothing', () => {
    const body = JSON.stringify({ detail: 'Upstream OIDC error: {"error": "invalid_grant", "refresh_token": "SECRET3abcdefghijk"}' });
    const error = interpretErrorResponse(429, body, 'The refresh', { retryAfter: 3 });
    assert.equal(error.code, 'temporarily_unavailable');
    assert.ok(!JSON.stringify({ m: error.message, d: error.detail }).includes('SECRET3'));
  });
});

describe('redaction', () => {
  it('redacts secret keys deeply and JWT / bearer / key=value text', () => {
    const out = JSON.stringify(redact({ a: { refresh_token: 'x1', list: [{ device_code: 'x2' }] }, user_code: 'SHOW-ME', note: 'Bearer abc.def code=x3 eyJhbGciOi.eyJzdWIiOi.sig' }));
    assert.ok(!/x1|x2|x3|abc\.def|eyJ/.test(out), out);
    assert.match(out, /SHOW-ME/);
    assert.equal(redactText('{"access_token": "zzz"}'), '{"access_token": "[redacted]"}');
  });
});

describe('callback', () => {
  it('takes the verifier after the last |', () => {
    assert.equal(verifierFromState('rand|http://localhost:53100/callback|verif'), 'verif');
    assert.equal(verifierFromState('a|b|c|d'), 'd');
    assert.equal(verifierFromState('no-bar'), undefined);
    assert.equal(verifierFromState('ends|'), undefined);
  });
  it('accepts only callbacks with exactly the state of this login, errors included', () => {
    const state = 'r|http://localhost:53100/callback|v';
    assert.ok(callbackMatches(parseCallbackQuery(`?code=c&state=${encodeURIComponent(state)}`), state));
    assert.ok(callbackMatches(parseCallbackQuery(`?error=access_denied&state=${encodeURIComponent(state)}`), state));
    assert.ok(!callbackMatches(parseCallbackQuery('?code=c&state=r|http://localhost:53100/callback|other'), state), 'another login of the same redirect URI');
    assert.ok(!callbackMatches(parseCallbackQuery(`?state=${encodeURIComponent(state)}`), state), 'neither code nor error');
    assert.ok(!callbackMatches(parseCallbackQuery('?error=access_denied'), state), 'an error without the state');
    assert.ok(!callbackMatches(parseCallbackQuery(`?code=c&state=${encodeURIComponent(state)}x`), state));
    assert.ok(!callbackMatches(parseCallbackQuery(`?code=c&state=${encodeURIComponent(state)}`), undefined), 'no login in progress');
  });
  it('takes the provider URL and its state from the login route\'s redirect, and nothing else', () => {
    const route = 'http://h/auth/v2/login?redirect_uri=x';
    const good = 'https://idp.example/auth?client_id=c&state=r%7Chttp%3A%2F%2Flocalhost%3A53100%2Fcallback%7Cverifier';
    assert.deepEqual(providerRedirect(307, good, route), { url: good, state: 'r|http://localhost:53100/callback|verifier' });
    assert.equal(providerRedirect(302, '/local/auth?state=a%7Cb%7Cc', route).url, 'http://h/local/auth?state=a%7Cb%7Cc');
    for (const [status, location] of [[200, undefined], [307, undefined], [307, 'javascript:alert(1)'], [307, 'https://idp.example/auth'], [307, 'https://idp.example/auth?state=no-verifier'], [307, 'http://[bad']] as const) {
      assert.throws(() => providerRedirect(status, location, route), (error: AuthError) => error.code === 'invalid_response' && error.status === status, `${status} ${location}`);
    }
  });
  it('builds the login URL the Python client opens', () => {
    const url = new URL(buildLoginUrl('http://h/api/auth/v2/login', 'http://localhost:53100/callback'));
    assert.equal(url.pathname, '/api/auth/v2/login');
    assert.equal(url.searchParams.get('redirect_uri'), 'http://localhost:53100/callback');
    assert.equal(url.searchParams.get('offline_access'), 'true');
    assert.equal(url.searchParams.get('prompt'), 'consent');
  });
});

describe('accounts and who logged in', () => {
  it('store keys: the default account with default scopes keeps the Python client\'s key; others add #scope and #account (account last)', () => {
    assert.equal(hostKey('HTTPS://App.Example:443/api/'), 'https://app.example');
    assert.equal(hostKey('https://app.example', { account: 'default' }), 'https://app.example');
    assert.equal(hostKey('https://app.example', { account: 'work' }), 'https://app.example#account=work');
    assert.equal(hostKey('https://app.example', { scope: ['profile', 'openid'], account: 'work' }), 'https://app.example#scope=openid%20profile&account=work');
    assert.equal(providerKey('https://idp.example', 'cli', ['openid'], 'admin'), 'oidc:https://idp.example#client_id=cli&scope=openid&account=admin');
    assert.equal(providerKey('https://idp.example', 'cli', ['openid'], 'default'), 'oidc:https://idp.example#client_id=cli&scope=openid');
    assert.equal(storeKey('HTTPS://APP.example/x#account=work'), 'https://app.example#account=work');
    const key = 'oidc:https://idp.example#client_id=cli&scope=openid&account=admin';
    assert.deepEqual([accountOfKey(key), serverOfKey(key)], ['admin', 'oidc:https://idp.example#client_id=cli&scope=openid']);
    assert.equal(accountOfKey('https://app.example'), 'default');
    assert.equal(withAccount('https://app.example#scope=openid', 'x'), 'https://app.example#scope=openid&account=x');
    assert.equal(withAccount('https://app.example#account=x', 'default'), 'https://app.example');
  });

  it('account names: letters, digits, . _ -, 1 to 64, not only dots', () => {
    for (const good of ['work', 'alice.project', 'A_1-b', 'default', 'x'.repeat(64)]) assert.equal(accountProblem(good), undefined, good);
    for (const bad of ['', '.', '..', 'a/b', '../x', 'a b', 'é', 'x'.repeat(65), 'a#b', 'a&account=b']) assert.match(accountProblem(bad) ?? '', /is not an account name/, bad);
  });

  it('who logged in: preferred_username, else py-oidc-auth\'s username, else email, else sub; the subject when there is one; never anything else', () => {
    assert.deepEqual(identityFromClaims({ sub: 's1', preferred_username: 'alice', email: 'a@x' }), { name: 'alice', subject: 's1' });
    assert.deepEqual(identityFromClaims({ username: 'janedoe', email: 'j@x', first_name: 'Jane' }), { name: 'janedoe' });
    assert.deepEqual(identityFromClaims({ sub: 's1', email: 'a@x' }), { name: 'a@x', subject: 's1' });
    assert.deepEqual(identityFromClaims({ sub: 's1' }), { name: 's1', subject: 's1' });
    assert.deepEqual(identityFromClaims({ preferred_username: 'evil\u001b[2J' }), { name: 'evil[2J' }, 'no escape sequence reaches a terminal');
    for (const none of [null, 'x', [], {}, { sub: 42 }, { email: '' }, { sub: 'x'.repeat(300) }]) assert.equal(identityFromClaims(none), undefined, JSON.stringify(none));
    assert.equal(sameIdentity({ name: 'a', subject: '1' }, { name: 'b', subject: '1' }), true);
    assert.equal(sameIdentity({ name: 'a', subject: '1' }, { name: 'a', subject: '2' }), false);
    assert.equal(sameIdentity({ name: 'a' }, { name: 'a' }), true);
    assert.equal(sameIdentity(undefined, { name: 'a' }), false);
  });

  it('a refresh keeps who logged in; the store keeps it beside the token, which keeps the Python client\'s fields', () => {
    const stored = { refresh_token: 'rt', refresh_expires: 9, who: { name: 'alice' } };
    const fresh = parseTokenResponse({ access_token: 'at', expires_in: 60, refresh_token: 'rt2' }, 1_700_000_000);
    assert.deepEqual(mergeRefreshed(stored, fresh).who, { name: 'alice' });
    const serialized = serializeStoreContent({ shape: 'hosts', entries: { 'https://a.example': { token: { ...fresh, who: { name: 'alice' } }, stored_at: 1 } } }) as Record<string, { token: object; who: unknown }>;
    assert.deepEqual(serialized['https://a.example']?.who, { name: 'alice' });
    assert.equal('who' in (serialized['https://a.example']?.token ?? {}), false);
    const back = parseStoreContent(serialized);
    assert.deepEqual(back?.shape === 'hosts' ? back.entries['https://a.example']?.token.who : undefined, { name: 'alice' });
  });

  it('the login prompt: consent for offline access; a second account asks select_account where listed, else login', () => {
    assert.equal(loginPrompt(['openid', 'offline_access'], false, undefined), 'consent');
    assert.equal(loginPrompt(['openid'], false, ['login', 'consent']), undefined);
    assert.equal(loginPrompt(['openid', 'offline_access'], true, ['none', 'login', 'consent']), 'login consent');
    assert.equal(loginPrompt(['openid'], true, ['select_account', 'login']), 'select_account');
    const url = new URL(buildLoginUrl('https://app.example/auth/v2/login', 'http://localhost:53100/callback', { prompt: 'login', scope: ['openid', 'profile'] }));
    assert.deepEqual([url.searchParams.get('prompt'), url.searchParams.get('scope')], ['login', 'openid profile']);
  });

  it('the accounts file: only valid names are read; anything else is an empty choice', () => {
    assert.deepEqual(parseDefaults(JSON.stringify({ format: 1, defaults: { '/s.json': { 'https://a.example': 'work', 'https://b.example': '../x', 'https://c.example': 7 } } })), { '/s.json': { 'https://a.example': 'work' } });
    for (const junk of [undefined, '', 'not json', '[]', '{"defaults": []}', '{"defaults": {"s": "x"}}']) assert.deepEqual(parseDefaults(junk), {}, String(junk));
  });
});

describe('the tools\' protocols', () => {
  it('KUBERNETES_EXEC_INFO: the version and spec.interactive when kubectl says them, nothing from anything else', () => {
    assert.deepEqual(parseExecInfo('{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}'), { apiVersion: 'client.authentication.k8s.io/v1', interactive: true });
    assert.deepEqual(parseExecInfo('{"apiVersion":"client.authentication.k8s.io/v1beta1","spec":{}}'), { apiVersion: 'client.authentication.k8s.io/v1beta1' });
    for (const junk of [undefined, '', 'nope', '[]', 'null', '{"apiVersion":"client.authentication.k8s.io/v1alpha1","spec":{"interactive":"yes"}}']) assert.deepEqual(parseExecInfo(junk), {}, String(junk));
  });

  it('the ExecCredential: token and an RFC 3339 expiry in whole seconds', () => {
    assert.deepEqual(JSON.parse(execCredential('client.authentication.k8s.io/v1', { access_token: 't', expires: 1_800_000_000 })), {
      apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 't', expirationTimestamp: '2027-01-15T08:00:00Z' },
    });
  });

  it('git\'s credential lines: read up to the empty line; the answer cannot be split by a newline in a value', () => {
    assert.deepEqual(parseCredentialRequest('protocol=https\nhost=git.example:8443\npath=a/b.git\nwwwauth[]=Basic\n\nprotocol=ignored\n'), { protocol: 'https', host: 'git.example:8443', path: 'a/b.git' });
    assert.deepEqual(parseCredentialRequest('=x\nnoequals\n__proto__=x\nkey=a=b\r\n'), { key: 'a=b' });
    assert.equal(credentialServer({ protocol: 'https', host: 'git.example:8443' }), 'https://git.example:8443');
    assert.equal(credentialServer({ protocol: 'ssh', host: 'git.example' }), undefined);
    assert.equal(credentialServer({ protocol: 'https' }), undefined);
    assert.equal(formatCredential({ username: 'u\nquit=1', password: 'p', expires: 1.5e9 }), 'username=uquit=1\npassword=p\npassword_expiry_utc=1500000000\n');
    assert.equal(formatCredential({ username: 'oauth2', password: 'p' }), 'username=oauth2\npassword=p\n');
  });

  it('shell words: plain ones as they are, others single-quoted', () => {
    assert.equal(shellLine(['oidc-auth', 'https://a.example/x', "it's", '$HOME', '']), `oidc-auth https://a.example/x 'it'\\''s' '$HOME' ''`);
  });
});

describe('the agent\'s wire format', () => {
  it('a message is a JSON request, a public key, an encrypted frame, incomplete, or invalid', () => {
    assert.deepEqual(readMessage('{"request":"access_token","account":"x","min_valid_period":"30"}', true), { kind: 'json', request: { request: 'access_token', account: 'x', min_valid_period: 30 } });
    assert.equal(readMessage('{"request":"access_tok', true).kind, 'incomplete');
    assert.equal(readMessage('{"request": 7}', true).kind, 'invalid');
    assert.equal(readMessage('{"request":"a","account":["x"]}', true).kind, 'invalid');
    assert.equal(readMessage('{"request":"a","min_valid_period":-1}', true).kind, 'invalid');
    const key = Buffer.alloc(32, 7).toString('base64');
    assert.deepEqual(readMessage(key, true), { kind: 'public-key', key });
    assert.equal(readMessage(key.slice(0, 20), true).kind, 'incomplete');
    assert.equal(readMessage('not a key', true).kind, 'invalid');
    const nonce = Buffer.alloc(24, 1).toString('base64');
    const box = Buffer.alloc(5 + 16, 2).toString('base64');
    assert.deepEqual(readMessage(`5:${nonce}:${box}`, false), { kind: 'encrypted', length: 5, nonce, box });
    assert.equal(readMessage(`5:${nonce}:${box.slice(0, 8)}`, false).kind, 'incomplete');
    assert.equal(readMessage(`5:${nonce}:${box}AAAA`, false).kind, 'invalid');
    assert.equal(readMessage('x'.repeat(70 * 1024), true).kind, 'invalid');
  });

  it('answers: success carries the access token, issuer and expiry only; a client reads them back', () => {
    const success = successAnswer({ access_token: 'at', expires: 9 }, 'https://i.example');
    assert.deepEqual(JSON.parse(success), { status: 'success', access_token: 'at', issuer: 'https://i.example', expires_at: 9 });
    assert.deepEqual(parseAnswer(success), { status: 'success', access_token: 'at', issuer: 'https://i.example', expires_at: 9 });
    assert.deepEqual(parseAnswer(failureAnswer('no login', 'run x')), { status: 'failure', error: 'no login', info: 'run x' });
    assert.equal(parseAnswer('<html>').status, 'failure');
  });

  it('which login a request names: a server or issuer URL (the default account among several), an account name, or why not', () => {
    const login = (host: string): StoredSummary => ({ host, server: serverOfKey(host), account: accountOfKey(host), stored_at: 0, expires: 0, refresh_expires: 0, scope: '', refreshable: true });
    const logins = [login('https://app.example'), login('https://app.example#account=work'), login('oidc:https://idp.example#client_id=cli&scope=openid')];
    assert.equal(chooseLogin({ request: 'access_token', account: 'https://app.example/' }, logins), 'https://app.example');
    assert.equal(chooseLogin({ request: 'access_token', host: 'https://APP.example', account: 'work' }, logins), 'https://app.example#account=work');
    assert.equal(chooseLogin({ request: 'access_token', issuer: 'https://idp.example' }, logins), 'oidc:https://idp.example#client_id=cli&scope=openid');
    assert.equal(chooseLogin({ request: 'access_token', account: 'work' }, logins), 'https://app.example#account=work');
    const none = chooseLogin({ request: 'access_token', account: 'https://other.example' }, logins);
    assert.ok(typeof none !== 'string' && /Log in on the agent's machine: oidc-auth https:\/\/other\.example/.test(none.info));
    assert.ok(typeof chooseLogin({ request: 'access_token' }, logins) !== 'string', 'several logins and nothing named: which?');
    assert.deepEqual(optionsOfKey('oidc:https://idp.example#client_id=c%20i&scope=openid%20x&account=w'), { issuer: 'https://idp.example', clientId: 'c i', scope: 'openid x', account: 'w' });
    assert.deepEqual(optionsOfKey('https://app.example#scope=p'), { host: 'https://app.example', scope: 'p', account: 'default' });
    assert.deepEqual(optionsOfKey(providerKey('https://idp.example', 'cli', ['openid'], 'w', true)), { issuer: 'https://idp.example', clientId: 'cli', scope: 'openid', account: 'w', dpop: true }, 'a DPoP login is refreshed as one');
  });

  it('background refresh margins: a tenth of the lifetime, at least a minute, never more than 30 % of a short one', () => {
    assert.equal(refreshMargin(3600), 360);
    assert.equal(refreshMargin(300), 60);
    assert.equal(refreshMargin(2), 0.6);
  });
});

describe('DPoP rules (RFC 9449)', () => {
  it('the algorithm: ES256 where offered, else EdDSA; none offered, or none we sign with, is unsupported_flow', () => {
    assert.equal(chooseDpopAlgorithm(['RS256', 'EdDSA', 'ES256'], 'https://idp'), 'ES256');
    assert.equal(chooseDpopAlgorithm(['PS256', 'EdDSA'], 'https://idp'), 'EdDSA');
    for (const supported of [undefined, [], 'ES256', ['RS256', 'PS256']]) {
      assert.throws(() => chooseDpopAlgorithm(supported, 'https://idp'), (error: unknown) => error instanceof AuthError && error.code === 'unsupported_flow' && /Log in without DPoP/.test(error.message), JSON.stringify(supported));
    }
  });

  it('htu is the URL without query and fragment; htm upper case; nonce and ath only when there are some', () => {
    assert.equal(proofUrl('https://api.example/data?x=1#frag'), 'https://api.example/data');
    assert.equal(proofUrl('https://API.example:443/a%20b'), 'https://api.example/a%20b');
    assert.deepEqual(proofClaims('get', 'https://api.example/d?q'), { htm: 'GET', htu: 'https://api.example/d' });
    assert.deepEqual(proofClaims('POST', 'https://idp/token', { nonce: 'n', ath: 'h' }), { htm: 'POST', htu: 'https://idp/token', nonce: 'n', ath: 'h' });
  });

  it('a DPoP-Nonce is 1*NQCHAR: quotes, backslashes, controls, spaces inside, empty or huge ones are ignored', () => {
    assert.equal(parseDpopNonce('eyJ7S_zG.eyJH0-Z.HX4w-7v'), 'eyJ7S_zG.eyJH0-Z.HX4w-7v');
    assert.equal(parseDpopNonce('  padded  '), 'padded');
    for (const bad of [null, undefined, '', 'a"b', 'a\\b', 'a b', 'tab\there', '\u00e9t\u00e9', 'x'.repeat(MAX_NONCE_LENGTH + 1)]) assert.equal(parseDpopNonce(bad), undefined, JSON.stringify(bad));
  });

  it('a resource server\'s challenge: DPoP error="use_dpop_nonce", among other schemes and parameters', () => {
    assert.ok(asksForDpopNonce('DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"'));
    assert.ok(asksForDpopNonce('Bearer realm="x", DPoP algs="ES256", error="use_dpop_nonce"'));
    assert.ok(!asksForDpopNonce('DPoP error="invalid_token"'));
    assert.ok(!asksForDpopNonce('Bearer error="invalid_token"'));
    assert.ok(!asksForDpopNonce(null));
    // The one rule both the token endpoint's client and authenticatedFetch ask.
    assert.ok(isDpopNonceChallenge(400, { text: '{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}' }));
    assert.ok(!isDpopNonceChallenge(400, { text: '{"error":"invalid_dpop_proof"}' }));
    assert.ok(!isDpopNonceChallenge(400, { text: '<html>use_dpop_nonce</html>' }), 'an HTML page that mentions it is no OAuth error');
    assert.ok(isDpopNonceChallenge(401, { wwwAuthenticate: 'DPoP error="use_dpop_nonce"' }));
    assert.ok(!isDpopNonceChallenge(401, { text: '{"error":"use_dpop_nonce"}' }), 'a resource server says it in WWW-Authenticate');
    assert.ok(!isDpopNonceChallenge(500, { text: '{"error":"use_dpop_nonce"}', wwwAuthenticate: 'DPoP error="use_dpop_nonce"' }));
  });

  it('token types: DPoP in any case; a DPoP token without a DPoP login, or a bearer one with it, is refused; a stored DPoP token needs its key', () => {
    assert.ok(isDpopTokenType('DPoP') && isDpopTokenType('dpop') && !isDpopTokenType('Bearer') && !isDpopTokenType(undefined));
    const body = { access_token: 'at', token_type: 'DPoP', expires_in: 60 };
    assert.equal(parseTokenResponse(body, 1000, 200, { dpop: true }).headers.Authorization, 'DPoP at');
    assert.throws(() => parseTokenResponse(body, 1000, 200), /log in with dpop/);
    assert.throws(() => parseTokenResponse({ ...body, token_type: 'Bearer' }, 1000, 200, { dpop: true }), /did not bind the token/);
    const stored = { access_token: 'at', token_type: 'DPoP', expires: nowSeconds() + 60, dpop_key: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd' } };
    assert.equal(tokenFromStored(stored)?.headers.Authorization, 'DPoP at');
    assert.deepEqual(tokenFromStored(stored)?.dpop_key, stored.dpop_key);
    assert.equal(tokenFromStored({ ...stored, dpop_key: undefined }), undefined, 'no key: the token can prove nothing');
    assert.equal(tokenFromStored({ ...stored, dpop_key: { kty: 'EC', key_ops: ['sign'] } }), undefined);
    assert.equal(providerKey('https://idp', 'cli', ['openid'], 'work', true), 'oidc:https://idp#client_id=cli&scope=openid&proof=dpop&account=work', 'its own entry; the account stays last');
    assert.equal(accountOfKey(providerKey('https://idp', 'cli', ['openid'], 'work', true)), 'work');
  });

  it('redaction: a DPoP authorization header and a stored key are secrets', () => {
    assert.equal(redactText('authorization: DPoP abc.def-ghi'), 'authorization: DPoP [redacted]');
    assert.deepEqual(redact({ dpop_key: { d: 'secret' }, dpop: 'eyJx.eyJy.z' }), { dpop_key: '[redacted]', dpop: '[redacted]' });
  });
});
