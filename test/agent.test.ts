// The agent: logins kept fresh on one machine, access tokens served over a
// UNIX socket to our own clients, to oidc-agent's real `oidc-token`, and over
// `ssh -R` to another "machine" whose HOME stays empty.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { authenticate, AuthError, TokenStore } from '../src/index.ts';
import { askAgent } from '../src/adapters/agent/client.ts';
import { CLI, runCli, startCli, type CliRun } from './helpers/cli.ts';
import { sshdMissing, startSshd } from './fixtures/sshd.ts';
import { personApproves, startWorld, type World } from './fixtures/world.ts';
import { closedAfterEach } from './helpers/servers.ts';
import type { IdpOptions } from './fixtures/idp.ts';

const track = closedAfterEach();
const OIDC_TOKEN = '/usr/bin/oidc-token';
const skipOidcToken = process.env.CI ? false : fs.existsSync(OIDC_TOKEN) ? false : 'Debian\'s oidc-token is not installed (apt-get install oidc-agent-cli; .ci/run installs it)';
const skipSsh = process.env.CI ? false : sshdMissing() ?? false;

interface Running { world: World; socket: string; agent: CliRun; env: NodeJS.ProcessEnv }

/** A world with a login stored, and `oidc-auth agent --foreground` serving its store. */
async function agentWorld(idp: IdpOptions = {}, bearerFile?: string): Promise<Running> {
  const world = track(await startWorld({ idp }));
  const person = personApproves();
  await authenticate({ host: world.app.host, store: world.store, interactive: true, openBrowser: false, flow: 'device', onDeviceCode: person.onDeviceCode });
  const runtime = path.join(world.dir, 'run');
  fs.mkdirSync(runtime, { mode: 0o700 });
  const env = { XDG_RUNTIME_DIR: runtime, XDG_CONFIG_HOME: path.join(world.dir, 'config'), ...(bearerFile ? { BEARER_TOKEN_FILE: bearerFile } : {}) };
  let listening: () => void = () => {};
  const up = new Promise<void>((resolve) => (listening = resolve));
  const agent = startCli(['agent', '--foreground', '--store', world.store.path, ...(bearerFile ? ['--bearer-token-file', world.app.host] : [])], env, { onStderr: (text) => text.includes(' serves ') && listening() });
  track({ close: async () => { agent.kill('SIGTERM'); await agent.done; } });
  await Promise.race([up, agent.done.then((result) => assert.fail(`the agent ended: ${result.stderr}`))]);
  const socket = fs.readdirSync(path.join(runtime, 'oidc-auth')).map((name) => path.join(runtime, 'oidc-auth', name)).find((name) => name.endsWith('.sock')) ?? '';
  return { world, socket, agent, env };
}

/** One raw exchange on the socket: what is written, what comes back before the agent closes. */
function raw(socket: string, ...writes: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = net.connect(socket);
    let text = '';
    client.on('connect', () => {
      for (const write of writes) client.write(write);
    });
    client.on('data', (data) => (text += data.toString()));
    client.on('close', () => resolve(text));
    client.on('error', reject);
  });
}

async function accepted(world: World, token: string): Promise<boolean> {
  return (await fetch(`${world.app.host}/auth/v2/userinfo`, { headers: { authorization: `Bearer ${token}` } })).ok;
}

describe('the agent', () => {
  it('serves access tokens only: plain JSON, the library, and the CLI with an empty HOME write nothing locally', async () => {
    const { world, socket } = await agentWorld();
    assert.equal(fs.statSync(socket).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(socket)).mode & 0o777, 0o700);
    const answer = JSON.parse(await raw(socket, JSON.stringify({ request: 'access_token', account: world.app.host, min_valid_period: 60 }))) as Record<string, unknown>;
    assert.equal(answer.status, 'success');
    assert.ok(await accepted(world, String(answer.access_token)));
    assert.deepEqual(Object.keys(answer).sort(), ['access_token', 'expires_at', 'issuer', 'status'], 'no refresh token ever leaves the agent');

    const empty = path.join(world.dir, 'elsewhere');
    fs.mkdirSync(empty);
    const token = await authenticate({ host: world.app.host, agent: socket, store: new TokenStore({ path: path.join(empty, 'never.json') }), interactive: false });
    assert.ok(await accepted(world, token.access_token));
    const cli = await runCli([world.app.host], { HOME: empty, OIDC_AUTH_SOCK: socket });
    assert.equal(cli.code, 0, cli.stderr);
    assert.ok(await accepted(world, cli.stdout.trim()));
    assert.deepEqual(fs.readdirSync(empty), [], 'nothing written on the client\'s side');

    const none = await runCli(['http://127.0.0.1:1'], { HOME: empty, OIDC_AUTH_SOCK: socket });
    assert.equal(none.code, 3);
    assert.match(none.stderr, /no login for http:\/\/127\.0\.0\.1:1 in the agent's store.*Log in on the agent's machine: oidc-auth http:\/\/127\.0\.0\.1:1/s);
  });

  it('Debian\'s oidc-token gets a token through the encrypted handshake', { skip: skipOidcToken }, async () => {
    const { world, socket } = await agentWorld();
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => execFile(OIDC_TOKEN, [world.app.host], { env: { PATH: process.env.PATH, HOME: world.dir, OIDC_SOCK: socket } }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr })));
    assert.equal(result.code, 0, result.stderr);
    assert.ok(await accepted(world, result.stdout.trim()), 'a valid token');
    // The encrypted form, spoken by oidc-token, left nothing readable on the wire: our own client checks the handshake from the other side.
    const { ipcKeyPair, sharedKey, seal, open } = await import('../src/adapters/agent/crypto.ts');
    const mine = ipcKeyPair();
    const client = net.connect(socket);
    const replies: string[] = [];
    await new Promise<void>((resolve) => client.on('connect', () => resolve()));
    client.write(mine.publicKey);
    const serverKey = await new Promise<string>((resolve) => client.once('data', (data) => resolve(data.toString())));
    const key = sharedKey(serverKey, mine);
    assert.ok(key);
    client.write(seal(JSON.stringify({ request: 'access_token', account: world.app.host }), key));
    client.on('data', (data) => replies.push(data.toString()));
    await new Promise<void>((resolve) => client.on('close', () => resolve()));
    const [length, nonce, box] = replies.join('').split(':');
    const opened = open({ length: Number(length), nonce: nonce ?? '', box: box ?? '' }, key);
    assert.equal((JSON.parse(opened ?? '{}') as { status?: string }).status, 'success');
    assert.doesNotMatch(replies.join(''), /access_token/, 'the answer travels encrypted');
  });

  it('over ssh -R: the remote side prints a valid token and its HOME stays empty', { skip: skipSsh }, async () => {
    const { world, socket } = await agentWorld();
    const sshd = track(await startSshd());
    const remote = path.join(world.dir, 'remote');
    fs.mkdirSync(path.join(remote, 'home'), { recursive: true });
    const remoteSocket = path.join(remote, 'agent.sock');
    const command = `env -i PATH=/usr/bin:/bin HOME=${remote}/home OIDC_AUTH_SOCK=${remoteSocket} ${process.execPath} ${CLI} ${world.app.host}`;
    const result = await sshd.runWithSocket(remoteSocket, socket, command);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(await accepted(world, result.stdout.trim()));
    assert.deepEqual(fs.readdirSync(path.join(remote, 'home')), [], 'no file under the remote HOME');
  });

  it('another user cannot connect; a planted link or a foreign folder is refused', async () => {
    const { world, socket, env } = await agentWorld();
    const asNobody = await new Promise<{ code: number; stderr: string }>((resolve) => {
      const child = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', `require('net').connect(${JSON.stringify(socket)}).on('connect', () => process.exit(0)).on('error', (e) => { console.error(e.code); process.exit(9); })`], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (data) => (stderr += data.toString()));
      child.on('close', (code) => resolve({ code: code ?? 1, stderr }));
    });
    assert.equal(asNobody.code, 9);
    assert.match(asNobody.stderr, /EACCES/);

    const planted = path.join(world.dir, 'planted');
    fs.mkdirSync(planted);
    fs.symlinkSync(path.join(world.dir, 'run'), path.join(planted, 'oidc-auth'));
    const viaLink = await runCli(['agent', '--foreground', '--store', world.store.path], { ...env, XDG_RUNTIME_DIR: planted });
    assert.equal(viaLink.code, 1);
    assert.match(viaLink.stderr, /The agent's folder .*planted\/oidc-auth is a symbolic link/);
    const foreign = path.join(world.dir, 'foreign');
    fs.mkdirSync(path.join(foreign, 'oidc-auth'), { recursive: true, mode: 0o700 });
    fs.chownSync(path.join(foreign, 'oidc-auth'), 65534, 65534);
    const viaForeign = await runCli(['agent', '--foreground', '--store', world.store.path], { ...env, XDG_RUNTIME_DIR: foreign });
    assert.equal(viaForeign.code, 1);
    assert.match(viaForeign.stderr, /belongs to another user/);
  });

  it('malformed, oversized and slow requests get a failure or a closed connection; 200 clients at once are all served meanwhile', async () => {
    const { world, socket } = await agentWorld();
    const malformed = JSON.parse(await raw(socket, '{"request": 7}')) as { status: string; info?: string };
    assert.equal(malformed.status, 'failure');
    const garbage = JSON.parse(await raw(socket, 'not a key, not json')) as { status: string };
    assert.equal(garbage.status, 'failure');
    const oversized = await raw(socket, `{"request":"access_token","pad":"${'x'.repeat(70 * 1024)}"}`).catch(() => '');
    assert.ok(oversized === '' || (JSON.parse(oversized) as { status: string }).status === 'failure');
    const slow = net.connect(socket);
    slow.write('{"request":"access_tok');
    const slowClosed = new Promise<void>((resolve) => slow.on('close', () => resolve()));
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 200 }, () => askAgent(socket, { request: 'access_token', host: world.app.host })));
    assert.equal(answers.filter((answer) => answer.status === 'success').length, 200);
    assert.ok(Date.now() - started < 4000, 'served while a slow client holds a connection');
    await slowClosed;
    assert.equal(world.app.requests.refresh, 0, 'the kept token served them all');
  });

  it('killed mid-run: clients hear "agent gone" at once, and the library falls back to the store', async () => {
    const { world, socket, agent } = await agentWorld();
    agent.kill('SIGKILL');
    await agent.done;
    const started = Date.now();
    const error = await askAgent(socket, { request: 'access_token', host: world.app.host }).catch((e: unknown) => e);
    assert.ok(error instanceof AuthError);
    assert.equal(error.code, 'agent_unavailable');
    assert.match(error.message, /is gone/);
    assert.ok(Date.now() - started < 1000, 'at once');
    const token = await authenticate({ host: world.app.host, agent: socket, store: world.store, interactive: false });
    assert.equal(token.access_token, world.store.get(world.app.host)?.access_token, 'the store was used');
  });

  it('2-second tokens for 10 seconds: every token served has what was asked left, about one refresh per lifetime; the bearer token file follows', async (t) => {
    const bearer = path.join(fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'bt-')), 'bt');
    const { world, socket } = await agentWorld({ accessTokenTtl: 2 }, bearer);
    const before = world.app.requests.refresh;
    const served: Array<{ left: number; token: string }> = [];
    const contents = new Set<string>();
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      const answer = await askAgent(socket, { request: 'access_token', host: world.app.host, min_valid_period: 1 });
      assert.equal(answer.status, 'success');
      if (answer.status === 'success') served.push({ left: answer.expires_at - Date.now() / 1000, token: answer.access_token });
      if (fs.existsSync(bearer)) contents.add(fs.readFileSync(bearer, 'utf8'));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const refreshes = world.app.requests.refresh - before;
    t.diagnostic(`${served.length} tokens served, ${refreshes} refreshes, ${contents.size} file contents, least left ${Math.min(...served.map((entry) => entry.left)).toFixed(2)} s`);
    assert.ok(served.length > 50, `${served.length} served`);
    assert.deepEqual(served.filter((entry) => entry.left < 0), [], 'none expired when served');
    // Tokens of 2 s (whole seconds: 1 to 2 s left when issued), refreshed 30 % before their end: 5 to 10 lifetimes in 10 s.
    assert.ok(refreshes >= 4 && refreshes <= 12, `${refreshes} refreshes in 10 s of 2-second tokens`);
    assert.ok(contents.size >= 3, `the bearer token file was rewritten (${contents.size} tokens seen)`);
    assert.ok([...contents].every((token) => served.some((entry) => entry.token === token)), 'the file holds the tokens the agent serves');
  });
});
