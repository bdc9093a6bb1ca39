// git (Debian's) with `oidc-auth credential git` as its credential helper,
// cloning and pushing over smart HTTP from `git http-backend` behind a
// loopback proxy that takes only a valid token as the password.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { authenticate } from '../src/index.ts';
import { bareRepository, cliOnPath, startGitServer, tokenAccepted, type GitServer } from './fixtures/tools.ts';
import { personApproves, startWorld, type World } from './fixtures/world.ts';
import { runCli, startCli } from './helpers/cli.ts';
import { closedAfterEach } from './helpers/servers.ts';

const track = closedAfterEach();

/** git with its own empty global config, our CLI on PATH, and no prompt of its own. */
function gitEnv(world: World): NodeJS.ProcessEnv {
  return {
    PATH: `${cliOnPath(world.dir)}:${process.env.PATH}`, HOME: world.dir, GIT_CONFIG_GLOBAL: path.join(world.dir, 'gitconfig'), GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0', GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@example.org', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@example.org',
    XDG_CONFIG_HOME: path.join(world.dir, 'config'), XDG_CACHE_HOME: path.join(world.dir, 'cache-home'),
  };
}

function git(env: NodeJS.ProcessEnv, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => execFile('git', args, { env, cwd }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr })));
}

async function loggedIn(world: World): Promise<void> {
  const person = personApproves();
  await authenticate({ host: world.app.host, store: world.store, interactive: true, openBrowser: false, flow: 'device', onDeviceCode: person.onDeviceCode });
}

/** A logged-in world, a bare repository, and `servers` git servers for it that accept the world's tokens. */
async function gitWorld(servers: number): Promise<{ world: World; env: NodeJS.ProcessEnv; servers: GitServer[] }> {
  const world = track(await startWorld());
  await loggedIn(world);
  const root = path.join(world.dir, 'repos');
  bareRepository(root, 'project.git');
  const started: GitServer[] = [];
  for (let i = 0; i < servers; i += 1) started.push(track(await startGitServer(root, (token) => tokenAccepted(world.app.host, token))));
  return { world, env: gitEnv(world), servers: started };
}

describe('git credential helper', () => {
  it('setup git configures one URL; clone and push use the token; a refused token is erased and the next operation gets a refreshed one', async () => {
    const { world, env, servers: [server] } = await gitWorld(1);
    assert.ok(server);

    const printed = await runCli(['setup', 'git', world.app.host, server.url, '--store', world.store.path], env);
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(printed.stdout, `git config --global credential.${server.url}.helper ''\ngit config --global --add credential.${server.url}.helper '!oidc-auth credential git ${world.app.host} --store ${world.store.path}'\n`);
    const written = await runCli(['setup', 'git', world.app.host, server.url, '--store', world.store.path, '--write'], env);
    assert.equal(written.code, 0, written.stderr);
    const config = await git(env, ['config', '--global', '--get-all', `credential.${server.url}.helper`], world.dir);
    assert.equal(config.stdout, `\n!oidc-auth credential git ${world.app.host} --store ${world.store.path}\n`);
    assert.equal((await git(env, ['config', '--global', '--get-regexp', '^credential\\.helper$'], world.dir)).stdout, '', 'no helper for every host');

    const clone = await git(env, ['clone', `${server.url}/project.git`, 'work'], world.dir);
    assert.equal(clone.code, 0, clone.stderr);
    const stored = world.store.get(world.app.host);
    assert.equal(server.passwords.at(-1), stored?.access_token, 'git sent the stored access token as the password');
    const work = path.join(world.dir, 'work');
    fs.writeFileSync(path.join(work, 'file'), 'change\n');
    await git(env, ['add', 'file'], work);
    await git(env, ['commit', '-m', 'change'], work);
    const push = await git(env, ['push', 'origin', 'main'], work);
    assert.equal(push.code, 0, push.stderr);

    // The server stops accepting this token (revoked): git says so to the helper (erase), and the next operation gets a new one.
    server.refuse.add(stored?.access_token ?? '');
    const refused = await git(env, ['fetch'], work);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /the server refused the access token; the next request gets a new one/);
    assert.equal(world.store.get(world.app.host)?.refresh_token, stored?.refresh_token, 'the refresh token is kept');
    const fetched = await git(env, ['fetch'], work);
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.equal(world.app.requests.refresh, 1, 'one refresh');
    assert.notEqual(server.passwords.at(-1), stored?.access_token);
    assert.equal(server.passwords.at(-1), world.store.get(world.app.host)?.access_token);
  });

  it('the helper is never asked about another host: a second server gets no credential', async () => {
    const { world, env, servers: [configured, other] } = await gitWorld(2);
    assert.ok(configured && other);
    assert.equal((await runCli(['setup', 'git', world.app.host, configured.url, '--store', world.store.path, '--write'], env)).code, 0);
    const result = await git(env, ['ls-remote', `${other.url}/project.git`], world.dir);
    assert.notEqual(result.code, 0);
    assert.deepEqual(other.authorizations, [], 'the other server received no credential');
    assert.equal((await git(env, ['ls-remote', `${configured.url}/project.git`], world.dir)).code, 0);
  });

  it('the protocol: get answers username, password and expiry; with no server options the server is the one git asks about; store does nothing', async () => {
    const world = track(await startWorld());
    await loggedIn(world);
    const token = world.store.get(world.app.host);
    const { host } = new URL(world.app.host);
    const ask = (args: string[], input: string) => {
      const run = startCli(['credential', 'git', ...args, '--store', world.store.path], {}, { stdin: input });
      return run.done;
    };
    const answer = await ask(['get'], `protocol=http\nhost=${host}\npath=project.git\n\n`);
    assert.equal(answer.code, 0, answer.stderr);
    assert.equal(answer.stdout, `username=oauth2\npassword=${token?.access_token}\npassword_expiry_utc=${token?.expires}\n`);
    const named = await ask([world.app.host, 'get', '--username', 'x-token'], 'protocol=https\nhost=elsewhere.example\n\n');
    assert.match(named.stdout, /^username=x-token\npassword=/);
    const stored = await ask(['store'], `protocol=http\nhost=${host}\nusername=oauth2\npassword=whatever\n\n`);
    assert.deepEqual([stored.code, stored.stdout], [0, '']);
    assert.equal(world.store.get(world.app.host)?.access_token, token?.access_token, 'store changed nothing');
    const unknown = await ask(['get'], 'protocol=http\nhost=127.0.0.1:1\n\n');
    assert.equal(unknown.code, 3, 'no login for a server nobody logged in to, and no person');
    assert.equal(unknown.stdout, '');
  });
});
