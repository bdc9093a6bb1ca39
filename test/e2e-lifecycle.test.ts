import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { authenticate, AuthError, CodeFlow, DeviceFlow, TokenStore, type Token } from '../src/index.ts';
import { runCli } from './helpers/cli.ts';
import { Person } from './fixtures/person.ts';
import { personApproves, startWorld, type World } from './fixtures/world.ts';

const isAuthError = (code: string) => (error: unknown) => error instanceof AuthError && error.code === code;

let world: World | undefined;
afterEach(async () => {
  delete process.env.OIDC_TOKEN_FILE;
  await world?.close();
  world = undefined;
});

/** A port range nobody else in this test run uses. */
function ports(base: number): number[] {
  return [base, base + 1];
}

async function deviceLogin(w: World, extra: Partial<Parameters<typeof authenticate>[0]> = {}): Promise<Token> {
  const person = personApproves();
  return authenticate({ host: w.app.host, store: w.store, interactive: true, openBrowser: false, onDeviceCode: person.onDeviceCode, ...extra });
}

describe('code flow', () => {
  for (const status of [404, 405, 501, 502, 503]) {
    it(`falls back to the code flow when the device route answers ${status}, and the browser page reports the real outcome`, async () => {
      const redirectPorts = ports(53100);
      world = await startWorld({ app: { deviceDisabled: status } });
      let page: Promise<{ url: string; status: number; text: string }> | undefined;
      const token = await authenticate({
        host: world.app.host,
        store: world.store,
        interactive: true,
        redirectPorts,
        openBrowser: (url) => {
          page = new Person().visit(url);
        },
        onLoginUrl: () => {},
      });
      assert.ok(token.refresh_token.length > 0);
      assert.equal(world.app.requests.device, 1);
      assert.equal(world.app.requests.code, 1);
      assert.deepEqual(world.store.get(world.app.host), token, 'saved before the browser hears of success');
      const seen = await page;
      assert.equal(seen?.status, 200);
      assert.match(seen?.url ?? '', /^http:\/\/localhost:5310[01]\/callback\?/);
      assert.match(seen?.text ?? '', /Login successful/);
    });
  }

  it('CodeFlow: a denial in the browser ends with access_denied and the page says so', async () => {
    world = await startWorld();
    let page: Promise<{ status: number; text: string }> | undefined;
    const flow = new CodeFlow(world.app.host, { store: world.store, interactive: true, redirectPorts: ports(53102), openBrowser: (url) => void (page = new Person({ deny: true }).visit(url)), onLoginUrl: () => {} });
    await assert.rejects(flow.authenticate(), isAuthError('access_denied'));
    const seen = await page;
    assert.equal(seen?.status, 400);
    assert.match(seen?.text ?? '', /Login failed/);
  });

  it('a stray /favicon.ico does not end the flow, and a timeout closes the server', async () => {
    world = await startWorld({ app: { deviceDisabled: 404 } });
    let loginUrl = '';
    const run = authenticate({ host: world.app.host, store: world.store, interactive: true, timeout: 1, redirectPorts: ports(53104), openBrowser: false, onLoginUrl: (url) => (loginUrl = url) });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const redirect = new URL(loginUrl);
    assert.match(redirect.pathname, /^\/login\/[A-Za-z0-9_-]{43}$/, 'the one-time loopback login address is shown');
    const stray = await fetch(`http://127.0.0.1:${redirect.port}/favicon.ico`);
    assert.equal(stray.status, 404);
    await assert.rejects(run, isAuthError('timeout'));
    await assert.rejects(fetch(`http://127.0.0.1:${redirect.port}/callback`), 'the callback server is closed after the flow');
  });
});

describe('refresh', () => {
  it('refreshes an expired access token with one request and keeps using the new one', async () => {
    world = await startWorld({ idp: { accessTokenTtl: 30 } });
    const first = await deviceLogin(world);
    // 30 s lifetime is inside the 60 s margin: the token already counts as expired.
    const second = await authenticate({ host: world.app.host, store: world.store, interactive: false });
    assert.equal(world.app.requests.refresh, 1);
    assert.notEqual(second.access_token, first.access_token);
    assert.notEqual(second.refresh_token, first.refresh_token, 'oidc-provider rotates refresh tokens');
    assert.equal(world.store.get(world.app.host)?.access_token, second.access_token);
  });

  it('N concurrent callers share one refresh request', async () => {
    world = await startWorld({ idp: { accessTokenTtl: 30 } });
    await deviceLogin(world);
    const w = world;
    const tokens = await Promise.all(Array.from({ length: 25 }, () => authenticate({ host: w.app.host, store: w.store, interactive: false })));
    assert.equal(world.app.requests.refresh, 1);
    assert.equal(new Set(tokens.map((t) => t.access_token)).size, 1);
  });

  it('a refresh the server rejects falls through to a new login', async () => {
    world = await startWorld({ idp: { accessTokenTtl: 30 }, app: { intercept: (kind) => (kind === 'refresh' ? [400, { detail: 'Upstream OIDC error: {"error":"invalid_grant","error_description":"grant request is invalid"}' }] : undefined) } });
    const first = await deviceLogin(world);
    const second = await deviceLogin(world);
    assert.equal(world.app.requests.refresh, 1);
    assert.equal(world.app.requests.device, 2, 'a second device login followed the failed refresh');
    assert.notEqual(second.access_token, first.access_token);
  });

  for (const [shape, body] of [
    ['expires_in: -100', { access_token: 'at-arrived-expired', token_type: 'Bearer', expires_in: -100, refresh_token: 'rt-arrived-expired' }],
    ['expires in the past (py-oidc-auth\'s absolute form)', { access_token: 'at-arrived-expired', token_type: 'Bearer', expires: Math.floor(Date.now() / 1000) - 100, refresh_token: 'rt-arrived-expired', refresh_expires: Math.floor(Date.now() / 1000) + 3600 }],
  ] as const) {
    it(`a token that arrives already expired (${shape}) is refused as invalid_response, which the caller is told: never stored, never returned`, async () => {
      world = await startWorld({ idp: { accessTokenTtl: 30 }, app: { intercept: (kind) => (kind === 'refresh' ? [200, body] : undefined) } });
      const first = await deviceLogin(world);
      const cli = await runCli([world.app.host, '--store', world.store.path]);
      assert.notEqual(cli.code, 0, 'not handed out with exit 0');
      assert.equal(cli.stdout, '');
      assert.match(cli.stderr, /already expired/);
      // The refresh failed, so without a person the run ends in login_required, which carries why.
      await assert.rejects(authenticate({ host: world.app.host, store: world.store, interactive: false }), (error: AuthError) => error.code === 'login_required' &&
        (error.cause as AuthError | undefined)?.code === 'invalid_response' && /had already expired/.test(error.message) && !error.message.includes('at-arrived-expired'));
      assert.equal(world.store.get(world.app.host)?.access_token, first.access_token, 'the stored token is not replaced by the expired one');
    });
  }

  it('DeviceFlow#refresh(refreshToken) refreshes explicitly and stores the result', async () => {
    world = await startWorld();
    const first = await deviceLogin(world);
    const flow = new DeviceFlow(world.app.host, { store: world.store, interactive: true });
    const next = await flow.refresh(first.refresh_token);
    assert.notEqual(next.access_token, first.access_token);
    assert.equal(flow.token?.access_token, next.access_token);
    await assert.rejects(flow.refresh(first.refresh_token), isAuthError('invalid_grant'), 'a rotated refresh token is spent');
  });
});

describe('device flow details', () => {
  it('slow_down adds 5 s to the interval from then on; both error shapes are understood', async () => {
    for (const errorShape of ['detail', 'rfc'] as const) {
      world = await startWorld({
        app: {
          errorShape,
          intercept: (kind, count) => {
            if (kind !== 'poll' || count > 1) return undefined;
            const error = { error: 'slow_down', error_description: 'polling too fast' };
            return [400, errorShape === 'rfc' ? error : { detail: `Upstream OIDC error: ${JSON.stringify(error)}` }];
          },
        },
      });
      const token = await deviceLogin(world);
      assert.ok(token.access_token);
      const [first, second] = world.app.pollTimes;
      assert.ok(first !== undefined && second !== undefined);
      assert.ok(second - first >= 5900, `second poll ${second - first} ms after the first; slow_down asks for interval + 5 s`);
      await world.close();
      world = undefined;
    }
  });

  it('expired_token from the server ends the login at once', async () => {
    world = await startWorld({ app: { intercept: (kind) => (kind === 'poll' ? [400, { error: 'expired_token' }] : undefined) } });
    await assert.rejects(deviceLogin(world), isAuthError('expired_token'));
    assert.equal(world.app.requests.poll, 1);
  });

  it('getDeviceCode() then poll() logs in step by step', async () => {
    world = await startWorld();
    const flow = new DeviceFlow(world.app.host, { store: world.store, interactive: true });
    const code = await flow.getDeviceCode();
    assert.match(code.uri, /user_code=/);
    const approval = new Person().visit(code.uri);
    const token = await flow.poll(code.device_code, code.interval);
    await approval;
    assert.equal(flow.token?.access_token, token.access_token);
  });
});

describe('non-interactive runs', () => {
  it('fail at once with login_required and say how to log in and about OIDC_TOKEN_FILE', async () => {
    world = await startWorld();
    const started = Date.now();
    await assert.rejects(authenticate({ host: world.app.host, store: world.store, interactive: false }), (error: unknown) => {
      assert.ok(error instanceof AuthError);
      assert.equal(error.code, 'login_required');
      assert.match(error.message, /oidc-auth http:\/\/127\.0\.0\.1:\d+/);
      assert.match(error.message, /OIDC_TOKEN_FILE/);
      return true;
    });
    assert.ok(Date.now() - started < 2000);
    assert.equal(world.app.requests.device, 0, 'no login was started');
  });

  it('a batch-job variable blocks a login when nobody chose; interactive: true (the person\'s choice) wins over it', async () => {
    world = await startWorld();
    process.env.SLURM_JOB_ID = '42';
    try {
      await assert.rejects(authenticate({ host: world.app.host, store: world.store }), (error: unknown) =>
        error instanceof AuthError && error.code === 'login_required' && /SLURM_JOB_ID is set; pass --interactive/.test(error.message));
      assert.equal(world.app.requests.device, 0);
      const token = await deviceLogin(world);
      assert.ok(token.access_token, 'interactive: true logged in despite SLURM_JOB_ID');
    } finally {
      delete process.env.SLURM_JOB_ID;
    }
  });

  it('OIDC_TOKEN_FILE holding a single token is read, refreshed and written back', async () => {
    world = await startWorld({ idp: { accessTokenTtl: 30 } });
    const token = await deviceLogin(world);
    const file = path.join(world.dir, 'token.json');
    fs.writeFileSync(file, JSON.stringify(token));
    process.env.OIDC_TOKEN_FILE = file;
    const fresh = await authenticate({ host: world.app.host, interactive: false });
    assert.notEqual(fresh.access_token, token.access_token);
    const written = JSON.parse(fs.readFileSync(file, 'utf8')) as Token;
    assert.equal(written.access_token, fresh.access_token, 'the file holds the refreshed single token');
    assert.equal((fs.statSync(file).mode & 0o777).toString(8), '600');
  });
});

describe('one actor per host', () => {
  it('same class and normalised host give the same instance; both classes share the token', async () => {
    world = await startWorld();
    const store = world.store;
    const url = new URL(world.app.host);
    const a = new DeviceFlow(world.app.host, { store });
    const b = new DeviceFlow(`HTTP://${url.host.toUpperCase()}/some/path/`, { store });
    const c = new DeviceFlow({ config: { host: world.app.host }, store });
    const code = new CodeFlow(world.app.host, { store });
    assert.equal(a, b);
    assert.equal(a, c);
    assert.notEqual(a as unknown, code as unknown);
    assert.equal(a.actor, code.actor, 'both are handles on the one actor of the host');
    const other = new DeviceFlow('https://other.example.org', { store: new TokenStore({ path: path.join(world.dir, 'x.json') }) });
    assert.notEqual(a, other);

    const states: string[] = [];
    const sub = a.subscribe((view) => states.push(view.state));
    const token = await deviceLogin(world);
    sub.unsubscribe();
    assert.equal(code.token?.access_token, token.access_token);
    assert.deepEqual(states.filter((s, i) => s !== states[i - 1]), ['idle', 'cached', 'awaiting-login-turn', 'device-polling', 'authenticated']);
    assert.ok(!JSON.stringify(states).includes(token.access_token));
    DeviceFlow.resetInstances();
    assert.notEqual(new DeviceFlow(world.app.host, { store }), a);
  });
});
