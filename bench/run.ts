// npm run bench: what users feel, measured in one run where it can be (ratios
// and counts, because these machines are noisy). Prints a table and writes
// bench/results/latest.json.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { authenticate, DeviceFlow, TokenStore, type Token } from '../src/index.ts';
import { hideDevelopmentNotices } from '../test/fixtures/idp.ts';
import { personApproves, startWorld, type World } from '../test/fixtures/world.ts';
import { Person } from '../test/fixtures/person.ts';
import { benchCliStart } from './cli-start.ts';
import { benchKubectl } from './kubectl.ts';
import { benchAgent } from './agent.ts';
import { benchAgentLoad, benchAgentMemory } from './agent-load.ts';
import { benchGrowth } from './growth.ts';
import { benchGit } from './git.ts';
import { benchDpop } from './dpop.ts';
import { nodeScript } from '../test/helpers/cli.ts';
import { interleavedMedians, percentile, root, storeWithValidToken } from './lib.ts';

const rows: Array<[string, string, string]> = [];
const results: Record<string, unknown> = {};
const say = (text: string) => process.stderr.write(`${text}\n`);
const ms = (value: number) => `${value.toFixed(value < 1 ? 3 : 1)} ms`;

// oidc-provider's development warnings are not part of any figure.
hideDevelopmentNotices();

async function cachedAuthenticate() {
  say('1. cached authenticate() ...');
  const host = 'https://bench.example';
  const file = storeWithValidToken(host);
  const store = new TokenStore({ path: file.path });
  const expected = store.get(host)?.access_token;
  const measure = async (calls: number) => {
    const times: number[] = [];
    let wrong = 0;
    const started = performance.now();
    for (let i = 0; i < calls; i += 1) {
      const t0 = performance.now();
      const token = await authenticate({ host, store, interactive: false });
      times.push(performance.now() - t0);
      if (token.access_token !== expected) wrong += 1;
    }
    const seconds = (performance.now() - started) / 1000;
    return { calls, perSecond: Math.round(calls / seconds), p50: percentile(times, 50), p99: percentile(times, 99), wrong };
  };
  await measure(2000);
  const quiet = await measure(20_000);
  // The floor: one stat of the store file, which is all a cache needs to notice another process's write.
  // Interleaved in rounds of 1,000 so that both see the same machine.
  let statMs = 0;
  let authMs = 0;
  for (let round = 0; round < 20; round += 1) {
    let t0 = performance.now();
    for (let i = 0; i < 1000; i += 1) fs.statSync(file.path);
    statMs += performance.now() - t0;
    t0 = performance.now();
    for (let i = 0; i < 1000; i += 1) await authenticate({ host, store, interactive: false });
    authMs += performance.now() - t0;
  }
  const floor = { statUs: (statMs / 20_000) * 1000, authenticateUs: (authMs / 20_000) * 1000, ratio: authMs / statMs };
  const rewriter = spawn(process.execPath, [path.join(root, 'bench', 'store-rewriter.ts'), file.path, '120'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((resolve) => rewriter.stdout.once('data', resolve));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const busy = await measure(5_000);
  rewriter.kill('SIGKILL');
  await new Promise((resolve) => rewriter.once('close', resolve));
  const otherEntries = Object.keys(JSON.parse(fs.readFileSync(file.path, 'utf8')) as object).length - 1;
  file.cleanup();
  DeviceFlow.resetInstances();
  results.cached = { quiet, whileRewritten: { ...busy, otherEntriesWritten: otherEntries }, floor };
  rows.push(['cached authenticate() / one fs.statSync of the store', `${floor.ratio.toFixed(1)}x`, `${floor.authenticateUs.toFixed(2)} us vs ${floor.statUs.toFixed(2)} us per call, 20 x 1,000 interleaved (goal <= 5x)`]);
  rows.push(['cached authenticate(), store unchanged', `${quiet.perSecond.toLocaleString('en')} calls/s`, `p50 ${ms(quiet.p50)}, p99 ${ms(quiet.p99)}, ${quiet.wrong} wrong`]);
  rows.push(['cached authenticate(), store rewritten by another process', `${busy.perSecond.toLocaleString('en')} calls/s`, `p50 ${ms(busy.p50)}, p99 ${ms(busy.p99)}, ${busy.wrong} wrong`]);
}

async function kubectl() {
  say('2b. kubectl with the exec plugin ...');
  if (!fs.existsSync('/usr/bin/kubectl')) return void rows.push(['kubectl get, exec plugin vs static token', 'not run', 'kubectl is not installed']);
  const result = await benchKubectl(20);
  results.kubectl = result;
  rows.push(['kubectl get --raw /api: exec plugin (cached) / static token', `${result.ratio.toFixed(2)}x`, `${ms(result.pluginMs)} vs ${ms(result.staticMs)} (median of ${result.runs}, interleaved)`]);
}

async function git() {
  say('2e. git ls-remote with the credential helper ...');
  const r = await benchGit(20);
  results.git = r;
  rows.push(['git ls-remote: credential helper (cached) / a stored password', `${r.ratio.toFixed(2)}x`, `${ms(r.helperMs)} vs ${ms(r.storedMs)} (median of ${r.runs}, interleaved; git runs the helper twice: get, then store)`]);
}

async function agentServed() {
  say('2c. a token served by the agent ...');
  const r = await benchAgent(20);
  results.agent = r;
  rows.push(['agent: library round trip', `p50 ${ms(r.libraryP50)}`, `p99 ${ms(r.libraryP99)} (1,000 calls, a held token)`]);
  const load = await benchAgentLoad();
  results.agentLoad = load;
  rows.push(['agent: 100 clients x 10 requests', `p99 ${ms(load.p99)}`, `p50 ${ms(load.p50)}, ${load.errors} errors, ${ms(load.wallMs)} in all (goal: p99 <= 10 ms, 0 errors)`]);
  const memory = benchAgentMemory();
  results.agentMemory = memory;
  rows.push(['agent: memory with 1 / 100 / 1,000 logins held fresh', memory.map((row) => `${(row.heapKiB / 1024).toFixed(1)} MiB`).join(' / '), `heap growth; RSS ${memory.map((row) => `${(row.rssKiB / 1024).toFixed(1)}`).join(' / ')} MiB`]);
  rows.push(['agent: oidc-auth HOST through it / node -e 0', `${(r.cliMs / r.nodeMs).toFixed(2)}x`, `${ms(r.cliMs)} vs ${ms(r.nodeMs)}${r.oidcTokenMs === undefined ? '' : `; Debian's oidc-token against the same agent ${ms(r.oidcTokenMs)}`} (medians of ${r.runs})`]);
}

async function growth() {
  say('2d. growth: stores with 1, 100, 1,000 and 10,000 logins ...');
  const table = await benchGrowth();
  results.growth = table;
  for (const r of table) {
    rows.push([`${r.logins.toLocaleString('en')} logins (${(r.fileKiB / 1024).toFixed(1)} MiB): cached / stat; first read after a write`, `${(r.cachedUs / r.statUs).toFixed(1)}x; ${ms(r.firstReadMs)}`, 'goal: cached <= 5x a stat at every size; reads grow no worse than linearly']);
    rows.push([`${r.logins.toLocaleString('en')} logins: refresh / its floor`, `${(r.refreshMs / r.floorMs).toFixed(2)}x`, `${ms(r.refreshMs)} vs ${ms(r.floorMs)} = bare refresh ${ms(r.parts.bareRefreshMs)} + durable write ${ms(r.parts.writeMs)} + lock ${ms(r.parts.lockMs)} (goal at 1,000: <= 1.2x)`]);
  }
}

function cliStart() {
  say('2. CLI start with a cached token ...');
  const result = benchCliStart(40);
  results.cliStart = result;
  rows.push(['oidc-auth HOST --json (cached) / node -e 0', `${result.ratio.toFixed(2)}x`, `${ms(result.cliMs)} vs ${ms(result.nodeMs)} (median of ${result.runs}; goal <= 1.3x)`]);
  rows.push(['oidc-auth --version / node -e 0 (fast path, as --help)', `${result.versionRatio.toFixed(2)}x`, `${ms(result.versionMs)} vs ${ms(result.nodeMs)} (median of ${result.runs})`]);
}

async function refreshCost() {
  say('2b. refresh through authenticate() vs a bare Client refresh ...');
  const { startProvider } = await import('../test/providers/engine.ts');
  const { keycloak } = await import('../test/providers/keycloak.ts');
  const { Client } = await import('../src/index.ts');
  const { providerKey } = await import('../src/protocol/store-key.ts');
  const provider = await startProvider(keycloak);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-bench-refresh-'));
  try {
    const store = new TokenStore({ path: path.join(dir, 'store.json'), onWarning: () => {} });
    const key = providerKey(provider.issuer, 'cli', ['openid', 'offline_access']);
    const client = await Client.discover(provider.issuer, 'cli', { skipIdTokenValidation: true });
    const seed = (name: string) => {
      provider.liveRefreshTokens.add(name);
      return name;
    };
    let bareRt = seed('rt-bare');
    const viaAuth: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < 220; i += 1) {
      const now = Math.floor(Date.now() / 1000);
      const stored = store.get(key);
      await store.put(key, { ...(stored ?? { access_token: 'at-x', token_type: 'Bearer', scope: '', headers: { Authorization: 'Bearer at-x' } }), expires: now - 10, refresh_token: stored?.refresh_token ?? seed('rt-auth'), refresh_expires: now + 3600 } as Token);
      let t0 = performance.now();
      await authenticate({ issuer: provider.issuer, clientId: 'cli', store, interactive: false });
      if (i >= 20) viaAuth.push(performance.now() - t0);
      t0 = performance.now();
      const answer = await client.obtainTokenByRefreshToken(bareRt);
      if (i >= 20) bare.push(performance.now() - t0);
      bareRt = answer.refresh_token ?? bareRt;
    }
    const a = percentile(viaAuth, 50);
    const b = percentile(bare, 50);
    results.refreshCost = { authenticateMs: a, bareClientMs: b, ratio: a / b, samples: viaAuth.length };
    rows.push(['refresh: authenticate() / bare Client.obtainTokenByRefreshToken', `${(a / b).toFixed(2)}x`, `${ms(a)} vs ${ms(b)} (median of ${viaAuth.length}, same scripted provider; lock, re-read and durable write included; goal <= 1.2x)`]);

    // minValidity longer than the provider grants: one refresh per lifetime, not per call.
    const shortProvider = await startProvider({ ...keycloak, rotates: false, tokens: ({ access, refresh }) => ({ status: 200, body: { access_token: access, token_type: 'Bearer', expires_in: 65, refresh_token: refresh, refresh_expires_in: 3600 } }) });
    try {
      const shortStore = new TokenStore({ path: path.join(dir, 'short.json'), onWarning: () => {} });
      const now = Math.floor(Date.now() / 1000);
      shortProvider.liveRefreshTokens.add('rt-short');
      await shortStore.put(providerKey(shortProvider.issuer, 'cli', ['openid', 'offline_access']), { access_token: 'at-old', token_type: 'Bearer', expires: now - 10, refresh_token: 'rt-short', refresh_expires: now + 3600, scope: '', headers: { Authorization: 'Bearer at-old' } });
      for (let i = 0; i < 100; i += 1) await authenticate({ issuer: shortProvider.issuer, clientId: 'cli', store: shortStore, interactive: false, minValidity: 120 });
      const refreshes = shortProvider.hits[keycloak.paths.token] ?? 0;
      results.minValidity = { calls: 100, refreshes };
      rows.push(['minValidity 120 s against 65 s tokens: refreshes in 100 calls', `${refreshes}`, 'goal: 1, with one warning']);
    } finally {
      await shortProvider.close();
    }
  } finally {
    DeviceFlow.resetInstances();
    await provider.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** 16 processes that each call authenticate() once, at the same time, on an expired token (`args`: host, then a store file or a Redis URL and prefix). */
async function stormOfProcesses(world: World, args: string[]) {
  const before = world.app.requests.refresh;
  const started = performance.now();
  const worker = path.join(root, 'bench', 'refresh-storm-worker.ts');
  const outputs = await Promise.all(Array.from({ length: 16 }, () => nodeScript(worker, args)));
  return { processes: 16, refreshRequests: world.app.requests.refresh - before, distinctTokens: new Set(outputs.map((o) => o.trim())).size, wallMs: performance.now() - started };
}

async function refreshStorm() {
  say('3. refresh storm ...');
  const world = await startWorld({ idp: { rotateRefreshToken: true } });
  try {
    const first = await authenticate({ host: world.app.host, store: world.store, interactive: true, openBrowser: false, onDeviceCode: personApproves().onDeviceCode });
    const expire = async (token: Token) => world.store.put(world.app.host, { ...token, expires: Math.floor(Date.now() / 1000) - 1 });
    DeviceFlow.resetInstances();
    await expire(first);
    const before = world.app.requests.refresh;
    const started = performance.now();
    const tokens = await Promise.all(Array.from({ length: 1000 }, () => authenticate({ host: world.app.host, store: world.store, interactive: false })));
    const inProcess = { calls: 1000, refreshRequests: world.app.requests.refresh - before, distinctTokens: new Set(tokens.map((t) => t.access_token)).size, wallMs: performance.now() - started };
    DeviceFlow.resetInstances();
    await expire(tokens[0] as Token);
    const processes = await stormOfProcesses(world, [world.app.host, world.store.path]);
    results.refreshStorm = { inProcess, processes };
    rows.push(['refresh storm: 1,000 concurrent calls, one process', `${inProcess.refreshRequests} refresh request(s)`, `${inProcess.distinctTokens} token, ${ms(inProcess.wallMs)} (goal: 1 request)`]);
    rows.push(['refresh storm: 16 processes at once', `${processes.refreshRequests} refresh request(s)`, `${processes.distinctTokens} token, ${ms(processes.wallMs)} incl. process start (goal: 1 request)`]);
  } finally {
    await world.close();
  }
}

async function redisStore() {
  say('8. Redis store ...');
  const { startRedis } = await import('../test/fixtures/redis.ts');
  const { RedisTokenStore } = await import('../src/redis.ts');
  const redis = await startRedis();
  const world = await startWorld({ idp: { rotateRefreshToken: true, accessTokenTtl: 62 } });
  try {
    // Cached: each call asks Redis for the store's version (one round trip), as the file store stats its file.
    const host = 'https://bench.example';
    const store = new RedisTokenStore({ url: redis.url, prefix: 'bench-cached:' });
    const file = new TokenStore({ path: storeWithValidToken(host).path });
    await store.put(host, file.get(host) as Token);
    const times: number[] = [];
    for (let i = 0; i < 1000; i += 1) await authenticate({ host, store, interactive: false });
    const started = performance.now();
    for (let i = 0; i < 10_000; i += 1) {
      const t0 = performance.now();
      await authenticate({ host, store, interactive: false });
      times.push(performance.now() - t0);
    }
    const cached = { calls: 10_000, perSecond: Math.round(10_000 / ((performance.now() - started) / 1000)), p50: percentile(times, 50), p99: percentile(times, 99) };
    await store.close();

    // A storm: 16 processes, sharing only Redis, call at once on an expired token.
    const fleet = new RedisTokenStore({ url: redis.url, prefix: 'bench-storm:' });
    const first = await authenticate({ host: world.app.host, store: fleet, interactive: true, openBrowser: false, onDeviceCode: personApproves().onDeviceCode });
    await fleet.put(world.app.host, { ...first, expires: Math.floor(Date.now() / 1000) - 1 });
    const storm = await stormOfProcesses(world, [world.app.host, redis.url, 'bench-storm:']);

    // A fleet over several token lifetimes: 8 processes x 50 calls, tokens valid for 2 s beyond the 60 s margin.
    const before = world.app.requests.refresh;
    const t0 = performance.now();
    const fleetWorker = path.join(root, 'test', 'helpers', 'store-worker.ts');
    const runs = (await Promise.all(Array.from({ length: 8 }, (_, id) => nodeScript(fleetWorker, [world.app.host, redis.url, '50', String(id), 'bench-storm:']))))
      .map((output) => JSON.parse(output) as { seen: unknown[]; errors: string[] });
    const wallMs = performance.now() - t0;
    const lifetimes = Math.ceil(wallMs / 2000);
    const overTime = { processes: 8, calls: runs.reduce((sum, run) => sum + run.seen.length, 0), errors: runs.reduce((sum, run) => sum + run.errors.length, 0), refreshRequests: world.app.requests.refresh - before, lifetimes, wallMs };
    await fleet.close();
    results.redis = { cached, storm, overTime };
    rows.push(['cached authenticate(), Redis store on loopback', `${cached.perSecond.toLocaleString('en')} calls/s`, `p50 ${ms(cached.p50)}, p99 ${ms(cached.p99)} (one GET of the store version per call)`]);
    rows.push(['Redis fleet storm: 16 processes at once, expired token', `${storm.refreshRequests} refresh request(s)`, `${storm.distinctTokens} token, ${ms(storm.wallMs)} incl. process start (goal: 1 request)`]);
    rows.push(['Redis fleet: 8 processes x 50 calls, 2 s token lifetimes', `${overTime.refreshRequests} refresh requests`, `${overTime.lifetimes} lifetimes in ${ms(overTime.wallMs)}, ${overTime.calls} calls, ${overTime.errors} errors (goal: <= 1 per lifetime, 0 errors)`]);
  } finally {
    await world.close();
    await redis.close();
  }
}

async function keyringStore() {
  say('9. keyring store ...');
  const { startSecretService } = await import('../test/fixtures/secret-service.ts');
  const { KeyringTokenStore } = await import('../src/keyring.ts');
  const keyring = await startSecretService();
  const previousBus = process.env.DBUS_SESSION_BUS_ADDRESS;
  process.env.DBUS_SESSION_BUS_ADDRESS = keyring.env.DBUS_SESSION_BUS_ADDRESS;
  try {
    const host = 'https://bench.example';
    const file = storeWithValidToken(host);
    const fileStore = new TokenStore({ path: file.path });
    const env = { HOME: keyring.home, XDG_CACHE_HOME: path.join(keyring.home, 'cache') };
    const store = new KeyringTokenStore({ onWarning: (message) => say(`  warning: ${message}`) }, env);
    await store.put(host, fileStore.get(host) as Token);
    // In one process: after the first call, both stores answer from the host actor while their files are unchanged (the keyring store stats its index and fallback file).
    const cached = async (which: TokenStore | InstanceType<typeof KeyringTokenStore>) => {
      for (let i = 0; i < 1000; i += 1) await authenticate({ host, store: which, interactive: false });
      const times: number[] = [];
      for (let i = 0; i < 10_000; i += 1) {
        const t0 = performance.now();
        await authenticate({ host, store: which, interactive: false });
        times.push(performance.now() - t0);
      }
      return { p50: percentile(times, 50), p99: percentile(times, 99), mean: times.reduce((a, b) => a + b, 0) / times.length };
    };
    const inFile = await cached(fileStore);
    const inKeyring = await cached(store);
    // One read from the store, as a new process makes it: a keyring read (one D-Bus round trip) vs a file read.
    const reads = async (read: () => Promise<unknown>) => {
      const times: number[] = [];
      for (let i = 0; i < 200; i += 1) {
        const t0 = performance.now();
        await read();
        times.push(performance.now() - t0);
      }
      return percentile(times, 50);
    };
    const keyringRead = await reads(() => new KeyringTokenStore({}, env).read(host));
    const fileRead = await reads(async () => new TokenStore({ path: file.path }).read(host));
    // The CLI with a cached token: a new process, one read from each store.
    const cli = path.join(root, 'dist', 'cli.js');
    const medians = interleavedMedians({
      file: [cli, host, '--store', file.path],
      keyring: [cli, host, '--store', 'keyring'],
    }, 20, { ...process.env, ...env });
    results.keyring = { cachedFile: inFile, cachedKeyring: inKeyring, readMs: { keyring: keyringRead, file: fileRead }, cliMs: medians };
    rows.push(['cached authenticate(), keyring store vs file store', `${(inKeyring.mean * 1000).toFixed(1)} us vs ${(inFile.mean * 1000).toFixed(1)} us`, `p50 ${ms(inKeyring.p50)} vs ${ms(inFile.p50)}, p99 ${ms(inKeyring.p99)} vs ${ms(inFile.p99)} (no keyring call once the token is held)`]);
    rows.push(['first read of a token: keyring (gnome-keyring) vs file', `${ms(keyringRead)} vs ${ms(fileRead)}`, 'median of 200, a new store object each time']);
    rows.push(['oidc-auth HOST (cached): --store keyring vs a file', `${ms(medians.keyring ?? 0)} vs ${ms(medians.file ?? 0)}`, 'median of 20 interleaved runs (the keyring library loads, one D-Bus round trip)']);
    file.cleanup();
  } finally {
    if (previousBus === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
    else process.env.DBUS_SESSION_BUS_ADDRESS = previousBus;
    await keyring.close();
  }
}

async function deviceFlow() {
  say('4. device flow ...');
  const world = await startWorld({ app: { interval: 1 } });
  try {
    let slowDowns = 0;
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const response = await globalThis.fetch(input, init);
      if ((await response.clone().text()).includes('slow_down')) slowDowns += 1;
      return response;
    };
    let approvedAt = 0;
    const shownAt: number[] = [];
    const token = await authenticate({
      host: world.app.host, store: world.store, interactive: true, openBrowser: false, fetch,
      onDeviceCode: (code) => {
        shownAt.push(performance.now());
        setTimeout(() => void new Person().visit(code.uri).then(() => (approvedAt = performance.now())), 3500);
      },
    });
    const tokenAt = performance.now();
    const gaps = world.app.pollTimes.slice(1).map((time, i) => time - (world.app.pollTimes[i] ?? 0));
    const tooEarly = gaps.filter((gap) => gap < 1000 - 20).length;
    const result = { polls: world.app.pollTimes.length, pollsTooEarly: tooEarly, slowDowns, approvalToTokenMs: tokenAt - approvedAt, intervalMs: 1000, gotToken: token.access_token.length > 0 };
    results.deviceFlow = result;
    rows.push(['device flow: polls sooner than the interval allows', `${tooEarly}`, `${result.polls} polls at 1 s interval, ${slowDowns} slow_down answers (goal: 0 and 0)`]);
    rows.push(['device flow: approval -> token', ms(result.approvalToTokenMs), 'goal: within one interval (1,000 ms)']);
  } finally {
    await world.close();
  }
}

async function memory() {
  say('5. memory ...');
  const output = execFileSync(process.execPath, ['--expose-gc', path.join(root, 'bench', 'memory.ts')], { encoding: 'utf8' });
  const result = JSON.parse(output) as { hosts: number; perActorBytes: number; leakBytes: number; baseline: number; growthPerCycleBytes: number };
  results.memory = result;
  rows.push(['heap per host actor (1,000 hosts)', `${(result.perActorBytes / 1024).toFixed(1)} KiB`, 'subscribed DeviceFlow handles, after GC']);
  rows.push(['heap after resetInstances() vs baseline', `${(result.leakBytes / 1024).toFixed(1)} KiB`, `baseline ${(result.baseline / 1048576).toFixed(1)} MiB; one-off, see next row`]);
  rows.push(['heap growth per further 1,000-host cycle', `${(result.growthPerCycleBytes / 1024).toFixed(1)} KiB`, 'create, subscribe, reset, three times (goal: ~0, no leak)']);
}

function sizeOf(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue; // nested packages are listed (and counted) on their own
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? sizeOf(full) : entry.isFile() ? fs.statSync(full).size : 0;
  }
  return total;
}

function importCost() {
  say('6. import cost and installed size ...');
  const index = path.join(root, 'dist', 'index.js');
  const cli = path.join(root, 'dist', 'cli', 'main.js'); // the CLI's module (dist/cli.js runs the command)
  const medians = interleavedMedians({
    node: ['-e', '0'],
    library: ['--input-type=module', '-e', `await import(${JSON.stringify(index)})`],
    cli: ['--input-type=module', '-e', `await import(${JSON.stringify(cli)})`],
  }, 30);
  const base = medians.node ?? 0;
  const dependencyDirs = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8' }).trim().split('\n')
    // The tools/oldest-node workspace is a test tool, not a dependency of the package.
    .filter((dir) => dir !== root && !fs.realpathSync(dir).startsWith(path.join(root, 'tools')));
  const dependencies = dependencyDirs.reduce((sum, dir) => sum + sizeOf(dir), 0);
  const own = sizeOf(path.join(root, 'dist')) + fs.statSync(path.join(root, 'package.json')).size + fs.statSync(path.join(root, 'README.md')).size;
  results.importCost = { nodeMs: base, libraryMs: medians.library, cliMs: medians.cli, packageBytes: own, dependencyBytes: dependencies, dependencyPackages: dependencyDirs.length };
  rows.push(['import oidc-auth-client over bare Node', ms((medians.library ?? 0) - base), `${ms(medians.library ?? 0)} vs ${ms(base)}`]);
  rows.push(['import the CLI entry over bare Node', ms((medians.cli ?? 0) - base), `${ms(medians.cli ?? 0)} vs ${ms(base)}`]);
  rows.push(['installed size: package + production dependencies', `${((own + dependencies) / 1048576).toFixed(2)} MiB`, `package ${(own / 1024).toFixed(0)} KiB + ${dependencyDirs.length} packages ${(dependencies / 1048576).toFixed(2)} MiB`]);
}

async function dpopCost() {
  say('DPoP proofs ...');
  const r = await benchDpop();
  results.dpop = r;
  rows.push(['DPoP: one proof (ES256 / EdDSA)', `${r.es256Us.toFixed(0)} us / ${r.eddsaUs.toFixed(0)} us`, 'median of 2,000 each (jose over WebCrypto, a non-extractable key)']);
  rows.push(['DPoP: API request on loopback, with a proof / bearer', `${(r.dpopMs / r.bearerMs).toFixed(2)}x`, `${ms(r.dpopMs)} vs ${ms(r.bearerMs)} (medians of ${r.requests.toLocaleString('en')} each, interleaved rounds)`]);
}

const only = process.argv.slice(2);
const steps: Array<[string, () => unknown]> = [['cached', cachedAuthenticate], ['cli', cliStart], ['kubectl', kubectl], ['git', git], ['agent', agentServed], ['growth', growth], ['refresh', refreshCost], ['storm', refreshStorm], ['device', deviceFlow], ['memory', memory], ['import', importCost], ['redis', redisStore], ['keyring', keyringStore], ['dpop', dpopCost]];
for (const [name, step] of steps) if (only.length === 0 || only.includes(name)) await step();

const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}`, date: new Date().toISOString() };
const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column]?.length ?? 0)));
process.stdout.write(`\nMachine: ${machine.cpus} x ${machine.cpu}, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.platform}\n\n`);
for (const row of rows) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}\n`);
fs.mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
fs.writeFileSync(path.join(root, 'bench', 'results', 'latest.json'), `${JSON.stringify({ machine, results, rows }, undefined, 2)}\n`);
process.stdout.write('\nWritten to bench/results/latest.json\n');
