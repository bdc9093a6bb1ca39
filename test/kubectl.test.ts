// kubectl (the real one on this machine) with `oidc-auth credential
// kubernetes` as its exec credential plugin, against an HTTPS loopback API
// endpoint that accepts only tokens of the test provider.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { makeCa } from './fixtures/network.ts';
import { Person } from './fixtures/person.ts';
import { cliOnPath, startKubeApi, tokenAccepted, type KubeApi } from './fixtures/tools.ts';
import { personApproves, startWorld, type World } from './fixtures/world.ts';
import { authenticate } from '../src/index.ts';
import { runCli } from './helpers/cli.ts';
import { killAll, spawnPty } from './helpers/pty.ts';
import { closedAfterEach } from './helpers/servers.ts';

const track = closedAfterEach();
afterEach(() => killAll());
const KUBECTL = '/usr/bin/kubectl';
const hasKubectl = fs.existsSync(KUBECTL);
/** Debian's kubernetes-client 1.20 (it sends `"spec":{}`), unpacked by .ci/run and the README's set-up: it cannot be installed beside 1.32. */
const OLD_KUBECTL = path.join(import.meta.dirname, '..', '.cache', 'kubernetes-client', 'usr', 'bin', 'kubectl');
const skipOld = process.env.CI ? false : fs.existsSync(OLD_KUBECTL) ? false : 'Debian\'s kubectl 1.20 is not unpacked in .cache/kubernetes-client (.ci/run does it: apt-get download kubernetes-client; dpkg-deb -x)';

interface Setup { world: World; api: KubeApi; env: NodeJS.ProcessEnv; kubeconfig: string }

/** A provider, an app server, an API endpoint with a CA of its own, and a kubeconfig whose user `oidc-auth setup kubernetes` wrote. */
async function setUp(apiVersion?: string): Promise<Setup> {
  const world = track(await startWorld());
  const ca = makeCa(path.join(world.dir, 'ca'));
  const api = track(await startKubeApi(ca.issue('127.0.0.1', ['127.0.0.1']), (token) => tokenAccepted(world.app.host, token)));
  const bin = cliOnPath(world.dir);
  const kubeconfig = path.join(world.dir, 'kubeconfig');
  const env: NodeJS.ProcessEnv = { PATH: `${bin}:${process.env.PATH}`, HOME: world.dir, KUBECONFIG: kubeconfig, XDG_CONFIG_HOME: path.join(world.dir, 'config'), XDG_CACHE_HOME: path.join(world.dir, 'cache-home') };
  fs.writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'clusters:', '- name: test', '  cluster:', `    server: ${api.server}`, `    certificate-authority: ${ca.caFile}`,
    'contexts:', '- name: test', '  context:', '    cluster: test', '    user: alice', 'current-context: test', '',
  ].join('\n'));
  // With kubectl 1.32 here, setup --write runs kubectl config set-credentials; else the printed users: entry goes into the file.
  const setup = await runCli(['setup', 'kubernetes', world.app.host, '--store', world.store.path, '--user', 'alice', ...(hasKubectl ? ['--write'] : []), ...(apiVersion ? ['--api-version', apiVersion] : [])], env);
  assert.equal(setup.code, 0, setup.stderr);
  if (!hasKubectl) fs.appendFileSync(kubeconfig, setup.stdout);
  return { world, api, env, kubeconfig };
}

/** kubectl without a terminal (never spawnSync: the servers it talks to run in this process). */
function kubectl(env: NodeJS.ProcessEnv, args = ['get', '--raw', '/api'], binary = KUBECTL): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => execFile(binary, args, { env, timeout: 60_000 }, (error, stdout, stderr) => resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr })));
}

describe('kubectl exec credential plugin', { skip: hasKubectl ? false : 'kubectl is not installed (.ci/run installs it)' }, () => {
  it('first call at a terminal: a device login by the person; then the cached credential; an expired token: one refresh', async () => {
    const { world, api, env } = await setUp();
    // kubectl on a terminal (interactiveMode IfAvailable gives us its stdin): the device login shows there.
    const term = spawnPty(KUBECTL, ['get', '--raw', '/api'], env);
    const [, url] = await term.waitFor(/or open directly (\S+)/, 30_000);
    await new Person({ login: 'alice' }).visit(url ?? '');
    assert.equal(await term.exited, 0, term.text);
    assert.match(term.text, /"kind":"APIVersions"/);
    assert.equal(world.app.requests.device, 1);
    const first = api.tokens.at(-1);

    const cached = await kubectl(env);
    assert.equal(cached.status, 0, cached.stderr);
    assert.match(cached.stdout, /APIVersions/);
    assert.equal(cached.stderr, '', 'nothing on stderr for a cached credential');
    assert.equal(api.tokens.at(-1), first, 'the cached token');
    assert.deepEqual([world.app.requests.device, world.app.requests.refresh], [1, 0]);

    const stored = world.store.get(world.app.host);
    assert.ok(stored);
    await world.store.put(world.app.host, { ...stored, expires: Math.floor(Date.now() / 1000) - 5 });
    const refreshed = await kubectl(env);
    assert.equal(refreshed.status, 0, refreshed.stderr);
    assert.equal(world.app.requests.refresh, 1, 'one refresh');
    assert.notEqual(api.tokens.at(-1), first);
  });

  it('no person and no token: kubectl shows our login_required message, and no login starts', async () => {
    const { world, env } = await setUp();
    const result = await kubectl(env); // no terminal: kubectl says spec.interactive false
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /No valid token for .*kubectl says the session is not interactive/s);
    assert.match(result.stderr, /oidc-auth http:\/\/127\.0\.0\.1:\d+/, 'it says what to run');
    assert.equal(world.app.requests.device, 0);
    assert.equal(result.stdout, '');
  });

  it('the ExecCredential: the version kubectl asks for, the token and its expiry; an older kubectl ("spec":{}) is decided by terminal and batch variables', async () => {
    const world = track(await startWorld());
    const person = personApproves();
    const token = await authenticate({ host: world.app.host, store: world.store, interactive: true, openBrowser: false, flow: 'device', onDeviceCode: person.onDeviceCode });
    const info = (apiVersion: string, spec: object) => JSON.stringify({ kind: 'ExecCredential', apiVersion, spec });
    for (const version of ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1']) {
      const out = await runCli(['credential', 'kubernetes', world.app.host, '--store', world.store.path], { KUBERNETES_EXEC_INFO: info(version, { interactive: false }) });
      assert.equal(out.code, 0, out.stderr);
      const credential = JSON.parse(out.stdout) as { apiVersion: string; kind: string; status: { token: string; expirationTimestamp: string } };
      assert.deepEqual([credential.apiVersion, credential.kind, credential.status.token], [version, 'ExecCredential', token.access_token]);
      assert.equal(Date.parse(credential.status.expirationTimestamp) / 1000, token.expires);
      assert.match(credential.status.expirationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    const named = await runCli(['credential', 'kubernetes', world.app.host, '--store', world.store.path, '--api-version', 'client.authentication.k8s.io/v1']);
    assert.equal((JSON.parse(named.stdout) as { apiVersion: string }).apiVersion, 'client.authentication.k8s.io/v1', 'the kubeconfig\'s --api-version when kubectl names none');
    const bad = await runCli(['credential', 'kubernetes', world.app.host, '--store', world.store.path, '--api-version', 'v0']);
    assert.equal(bad.code, 2);

    await world.store.remove(world.app.host);
    const old = await runCli(['credential', 'kubernetes', world.app.host, '--store', world.store.path], { KUBERNETES_EXEC_INFO: info('client.authentication.k8s.io/v1beta1', {}) });
    assert.equal(old.code, 3);
    assert.match(old.stderr, /stdin is not a terminal/);
    const batch = spawnPty(process.execPath, [path.join(import.meta.dirname, '..', 'src', 'cli.ts'), 'credential', 'kubernetes', world.app.host, '--store', world.store.path],
      { PATH: process.env.PATH, HOME: world.dir, KUBERNETES_EXEC_INFO: info('client.authentication.k8s.io/v1beta1', {}), SLURM_JOB_ID: '7' });
    assert.equal(await batch.exited, 3);
    assert.match(batch.text, /batch job: SLURM_JOB_ID/);
    assert.equal(world.app.requests.device, 1, 'only the first login');
  });

  it('setup kubernetes prints the users: entry kubectl reads', async () => {
    const world = track(await startWorld());
    const printed = await runCli(['setup', 'kubernetes', world.app.host, '--account', 'work', '--store', '/tmp/s t.json']);
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(printed.stdout, [
      'users:', `- name: "oidc-auth-${new URL(world.app.host).host}"`, '  user:', '    exec:', '      apiVersion: client.authentication.k8s.io/v1', '      command: "oidc-auth"', '      args:',
      '      - "credential"', '      - "kubernetes"', `      - "${world.app.host}"`, '      - "--account"', '      - "work"', '      - "--store"', '      - "/tmp/s t.json"',
      '      interactiveMode: IfAvailable', '      provideClusterInfo: false', '',
    ].join('\n'));
    assert.match(printed.stderr, /kubectl config set-context --current --user/);
  });
});

describe('an older kubectl (1.20: no spec.interactive)', { skip: skipOld }, () => {
  it('without a terminal it never starts a login and says why; at a terminal it logs in; then the cached credential', async () => {
    // kubectl 1.20 speaks exec credentials v1beta1 only and sends "spec":{}; the kubeconfig is written by kubectl 1.32 if it is here, else by hand.
    const { world, api, env, kubeconfig } = await setUp('client.authentication.k8s.io/v1beta1');
    assert.match(fs.readFileSync(kubeconfig, 'utf8'), /client\.authentication\.k8s\.io\/v1beta1/);
    const refused = await kubectl(env, ['get', '--raw', '/api'], OLD_KUBECTL);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /No valid token for .*stdin is not a terminal/s);
    assert.equal(world.app.requests.device, 0);
    const term = spawnPty(OLD_KUBECTL, ['get', '--raw', '/api'], env);
    const [, url] = await term.waitFor(/or open directly (\S+)/, 30_000);
    await new Person({ login: 'alice' }).visit(url ?? '');
    assert.equal(await term.exited, 0, term.text);
    assert.match(term.text, /"kind":"APIVersions"/);
    const cached = await kubectl(env, ['get', '--raw', '/api'], OLD_KUBECTL);
    assert.equal(cached.status, 0, cached.stderr);
    assert.equal(api.tokens.at(-1), world.store.get(world.app.host)?.access_token);
    assert.equal(world.app.requests.device, 1);
  });
});
