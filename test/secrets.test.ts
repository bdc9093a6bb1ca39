// Failure cases run with recognisable secrets; every piece of output we can
// capture (CLI stdout and stderr, error messages and details, subscription
// views) is searched for them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authenticate, AuthError, Client, DeviceFlow, type AuthStateView } from '../src/index.ts';
import { startScriptedProvider } from './fixtures/scripted-provider.ts';
import { personApproves, startWorld } from './fixtures/world.ts';
import { testToken } from './fixtures/token.ts';
import { runCli, startCli } from './helpers/cli.ts';
import { closedAfterEach } from './helpers/servers.ts';

const AT = 'AT-SECRET-4f9c2a7e1b';
const RT = 'RT-SECRET-8d3e6b0c5a';
const DC = 'DC-SECRET-1a2b3c4d5e';
const CODE = 'CODE-SECRET-9z8y7x6w';
const SECRETS = [AT, RT, DC, CODE];

function assertClean(text: string, where: string): void {
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `${secret} appears in ${where}:\n${text}`);
}

function everything(error: unknown): string {
  const e = error as AuthError;
  return [e.message, JSON.stringify(e.detail ?? null), JSON.stringify(e), String(e.stack)].join('\n');
}

/** The CLI's exit code and everything it printed, stdout and stderr. */
async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  const { code, stdout, stderr } = await runCli(args, env);
  return { code, out: `${stdout}${stderr}` };
}

const expired = () => testToken(AT, { expires: Math.floor(Date.now() / 1000) - 100, refreshToken: RT, refreshExpires: Math.floor(Date.now() / 1000) + 3600 });

const track = closedAfterEach();

describe('no secret in any output', () => {
  it('the CLI: a refresh rejected by a server that echoes the refresh token, and a denied device login echoing the device code', async () => {
    const world = track(await startWorld({
      app: {
        intercept: (kind) => {
          if (kind === 'refresh') return [400, { error: 'invalid_grant', error_description: `refresh token ${RT} was revoked (access token ${AT})` }];
          if (kind === 'device') return [200, { device_code: DC, user_code: 'WXYZ-1234', verification_uri: 'http://127.0.0.1:1/device', expires_in: 600, interval: 1 }];
          if (kind === 'poll') return [400, { detail: `Upstream OIDC error: {"error": "access_denied", "error_description": "device code ${DC} denied", "device_code": "${DC}"}` }];
          return undefined;
        },
      },
    }));
    await world.store.put(world.app.host, expired());
    const batch = await run([world.app.host, '--store', world.store.path]);
    assert.equal(batch.code, 3);
    assert.match(batch.out, /Refreshing the stored token failed first \(invalid_grant/);
    assertClean(batch.out, 'the CLI output of a failed refresh');
    const denied = await run([world.app.host, '--store', world.store.path, '--interactive', '--no-browser', '--json']);
    assert.equal(denied.code, 1);
    assert.match(denied.out, /WXYZ-1234/, 'the user code is shown');
    assert.match(denied.out, /access_denied/);
    assertClean(denied.out, 'the CLI output of a denied device login');
    // The same with --verbose (and OIDC_AUTH_DEBUG=1): every step told, no secret among them.
    await world.store.put(world.app.host, expired());
    const verboseBatch = await run([world.app.host, '--store', world.store.path, '--verbose']);
    assert.match(verboseBatch.out, /oidc-auth: POST http:\/\/127\.0\.0\.1:\d+\/auth\/v2\/token -> HTTP 400 \(\d+ ms\)/);
    assert.match(verboseBatch.out, /stored token in .*: refreshable, access token valid -\d+ s more/);
    assertClean(verboseBatch.out, '--verbose output of a failed refresh');
    const verboseDenied = await run([world.app.host, '--store', world.store.path, '--interactive', '--no-browser', '--json'], { OIDC_AUTH_DEBUG: '1' });
    assert.match(verboseDenied.out, /device-polling/);
    assertClean(verboseDenied.out, 'OIDC_AUTH_DEBUG output of a denied device login');
    const list = await run(['--list', '--json', '--store', world.store.path]);
    assertClean(list.out, '--list');
  });

  it('the library: errors, details and every subscription view of failed and successful runs', async () => {
    const world = track(await startWorld({
      app: {
        intercept: (kind, count) => {
          if (kind === 'refresh') return [200, { error: 'invalid_grant', error_description: `bad ${RT}`, refresh_token: RT }];
          if (kind === 'device' && count === 1) return [200, { device_code: DC, user_code: 'WXYZ-1234', verification_uri: 'http://127.0.0.1:1/device', expires_in: 600, interval: 1 }];
          if (kind === 'poll' && count === 1) return [400, { error: 'expired_token', error_description: `code ${DC} expired`, device_code: DC }];
          return undefined;
        },
      },
    }));
    await world.store.put(world.app.host, expired());
    const views: AuthStateView[] = [];
    const flow = new DeviceFlow(world.app.host, { store: world.store, interactive: true, openBrowser: false });
    flow.subscribe((view) => views.push(view));
    const failure = await authenticate({ host: world.app.host, store: world.store, interactive: true, flow: 'device', openBrowser: false, onDeviceCode: () => {} }).catch((error: unknown) => error);
    assert.ok(failure instanceof AuthError && failure.code === 'expired_token');
    assertClean(everything(failure), 'the error');
    assert.ok(views.some((view) => view.deviceCode?.user_code === 'WXYZ-1234'), 'the views show the user code');
    assertClean(JSON.stringify(views), 'subscription views');

    const token = await authenticate({ host: world.app.host, store: world.store, interactive: true, flow: 'device', openBrowser: false, onDeviceCode: personApproves().onDeviceCode });
    assert.ok(views.some((view) => view.state === 'authenticated'));
    const all = JSON.stringify(views);
    for (const secret of [token.access_token, token.refresh_token]) assert.ok(!all.includes(secret), 'a successful run shows no token either');
  });

  it('the Client: an error that echoes the authorization code', async () => {
    const op = track(await startScriptedProvider());
    const client = await Client.discover(op.issuer, 'scripted-client');
    op.token = { status: 400, body: JSON.stringify({ error: 'invalid_grant', error_description: `code ${CODE} was already used`, code: CODE }) };
    const flow = client.initiateAuthCodeFlow({ redirectUri: 'http://127.0.0.1:5000/callback' });
    const error = await client.obtainTokenByAuthCodeFlow(flow, { code: CODE, state: flow.state }).catch((caught: unknown) => caught);
    assert.ok(error instanceof AuthError && error.code === 'invalid_grant');
    assertClean(everything(error), 'the Client error');
    assert.ok(!everything(error).includes(flow.codeVerifier));
  });

  it('--verbose through a successful device login: each step on stderr, and neither the token, the refresh token nor the device code', async () => {
    const world = track(await startWorld());
    const lines: string[] = [];
    const person = personApproves();
    let started = false;
    const result = await startCli([world.app.host, '--store', world.store.path, '--interactive', '--no-browser', '--verbose'], {}, {
      onStderr: (stderr) => {
        const uri = /\(or open (\S+)\)/.exec(stderr)?.[1];
        if (uri && !started) {
          started = true;
          person.onDeviceCode({ uri, user_code: '', device_code: '', interval: 1, verification_uri: uri, expires_in: 600 });
        }
      },
    }).done;
    lines.push(...result.stderr.split('\n'));
    assert.equal(result.code, 0, result.stderr);
    const stored = world.store.get(world.app.host);
    assert.ok(stored);
    for (const secret of [stored.access_token, stored.refresh_token]) assert.ok(!result.stderr.includes(secret), 'no token in the verbose output');
    assert.ok(lines.some((line) => /POST http:\/\/127\.0\.0\.1:\d+\/auth\/v2\/device -> HTTP 200/.test(line)), result.stderr);
    assert.ok(lines.some((line) => /: authenticated \(token valid \d+ s more\)/.test(line)));
    assert.ok(!/device_code|device-code=|refresh-token=/.test(result.stderr), 'no form field or device code');
  });
});
