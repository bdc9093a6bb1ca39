// `oidc-auth exec -- CMD` (BEARER_TOKEN for any command) and `oidc-auth
// credential wlcg` (the WLCG bearer token file the grid tools discover).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { authenticate } from '../src/index.ts';
import { bearerTokenFile } from '../src/protocol/wlcg.ts';
import { personApproves, startWorld, type World } from './fixtures/world.ts';
import { runCli, startCli } from './helpers/cli.ts';
import { closedAfterEach } from './helpers/servers.ts';

const track = closedAfterEach();

async function loggedIn(): Promise<World> {
  const world = track(await startWorld());
  const person = personApproves();
  await authenticate({ host: world.app.host, store: world.store, interactive: true, openBrowser: false, flow: 'device', onDeviceCode: person.onDeviceCode });
  return world;
}

describe('exec: any command with BEARER_TOKEN', () => {
  it('the command gets a valid token in BEARER_TOKEN; its exit status is ours', async () => {
    const world = await loggedIn();
    // The command asks the server whether the token it got is valid, and exits 7.
    const script = `const r = await fetch(${JSON.stringify(`${world.app.host}/auth/v2/userinfo`)}, { headers: { authorization: 'Bearer ' + process.env.BEARER_TOKEN } }); console.log(r.status, (await r.json()).username); process.exit(7);`;
    const result = await runCli(['exec', world.app.host, '--store', world.store.path, '--', process.execPath, '--input-type=module', '-e', script]);
    assert.equal(result.code, 7, result.stderr);
    assert.equal(result.stdout, '200 alice\n');
    const missing = await runCli(['exec', world.app.host, '--store', world.store.path, '--', '/no/such/command']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Cannot run \/no\/such\/command: .*Check the command/);
    const usage = await runCli(['exec', world.app.host, '--store', world.store.path]);
    assert.equal(usage.code, 2);
  });

  it('signals pass through: SIGINT to oidc-auth reaches the command, whose exit status comes back; a command ended by a signal ends oidc-auth the same way', async () => {
    const world = await loggedIn();
    const trap = 'process.on("SIGINT", () => { console.log("got SIGINT"); process.exit(42); }); process.stderr.write("ready\\n"); setInterval(() => {}, 1000);';
    let ready: () => void = () => {};
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const run = startCli(['exec', world.app.host, '--store', world.store.path, '--', process.execPath, '-e', trap], {}, { onStderr: (text) => text.includes('ready') && ready() });
    await isReady;
    run.kill('SIGINT'); // to oidc-auth only (no terminal): it passes it on
    const interrupted = await run.done;
    assert.equal(interrupted.stdout, 'got SIGINT\n');
    assert.equal(interrupted.code, 42);
    const killed = await runCli(['exec', world.app.host, '--store', world.store.path, '--', process.execPath, '-e', 'process.kill(process.pid, "SIGTERM")']);
    assert.deepEqual([killed.code, killed.signal], [null, 'SIGTERM'], 'ended by the same signal');
  });
});

describe('credential wlcg: the bearer token file the grid tools find', () => {
  const uid = process.getuid?.() ?? 0;

  it('the discovery order: BEARER_TOKEN_FILE, else $XDG_RUNTIME_DIR/bt_u<uid>, else /tmp/bt_u<uid>', () => {
    assert.equal(bearerTokenFile({ BEARER_TOKEN_FILE: '/x/t', XDG_RUNTIME_DIR: '/run/user/1' }, 1), '/x/t');
    assert.equal(bearerTokenFile({ XDG_RUNTIME_DIR: '/run/user/1/' }, 1), '/run/user/1/bt_u1');
    assert.equal(bearerTokenFile({ BEARER_TOKEN_FILE: ' ', XDG_RUNTIME_DIR: '' }, 1000), '/tmp/bt_u1000');
  });

  it('writes the access token only, 0600, where the rules say; prints the path', async () => {
    const world = await loggedIn();
    const token = world.store.get(world.app.host)?.access_token;
    const runtime = path.join(world.dir, 'run');
    fs.mkdirSync(runtime, { mode: 0o700 });
    const viaRuntime = await runCli(['credential', 'wlcg', world.app.host, '--store', world.store.path], { XDG_RUNTIME_DIR: runtime });
    assert.equal(viaRuntime.code, 0, viaRuntime.stderr);
    const file = path.join(runtime, `bt_u${uid}`);
    assert.equal(viaRuntime.stdout, `${file}\n`);
    assert.equal(fs.readFileSync(file, 'utf8'), token, 'the token and nothing else');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const named = path.join(world.dir, 'my-token');
    const viaVariable = await runCli(['credential', 'wlcg', world.app.host, '--store', world.store.path], { XDG_RUNTIME_DIR: runtime, BEARER_TOKEN_FILE: named });
    assert.equal(viaVariable.stdout, `${named}\n`);
    assert.equal(fs.readFileSync(named, 'utf8'), token);
    assert.doesNotMatch(viaRuntime.stderr + viaVariable.stderr, new RegExp(token?.slice(0, 16) ?? 'x'), 'no token in a message');
  });

  it('a planted link or another user\'s file at that path is refused with a clear error, and left as it was', async () => {
    const world = await loggedIn();
    const target = path.join(world.dir, 'victim');
    fs.writeFileSync(target, 'keep me');
    const link = path.join(world.dir, 'link');
    fs.symlinkSync(target, link);
    const viaLink = await runCli(['credential', 'wlcg', world.app.host, '--store', world.store.path], { BEARER_TOKEN_FILE: link });
    assert.equal(viaLink.code, 1);
    assert.match(viaLink.stderr, /The bearer token file .*link.* is a symbolic link/);
    assert.equal(fs.readFileSync(target, 'utf8'), 'keep me');
    const theirs = path.join(world.dir, 'theirs');
    fs.writeFileSync(theirs, 'their token');
    fs.chownSync(theirs, 65534, 65534);
    const other = await runCli(['credential', 'wlcg', world.app.host, '--store', world.store.path], { BEARER_TOKEN_FILE: theirs });
    assert.equal(other.code, 1);
    assert.match(other.stderr, /The bearer token file .*theirs.* (belongs to|owned by) another user/);
    assert.equal(fs.readFileSync(theirs, 'utf8'), 'their token');
  });

  it('the file is replaced atomically: a reader in a loop never sees a partial token', async () => {
    const world = await loggedIn();
    const file = path.join(world.dir, 'bt');
    const token = world.store.get(world.app.host)?.access_token ?? '';
    let reads = 0;
    let partial = 0;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        try {
          const text = fs.readFileSync(file, 'utf8');
          reads += 1;
          if (text !== token) partial += 1;
        } catch { /* not there yet */ }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    for (let i = 0; i < 10; i += 1) {
      const result = await runCli(['credential', 'wlcg', world.app.host, '--store', world.store.path], { BEARER_TOKEN_FILE: file });
      assert.equal(result.code, 0, result.stderr);
    }
    writing = false;
    await reader;
    assert.ok(reads > 50, `${reads} reads`);
    assert.equal(partial, 0);
  });
});
