// The package as users get it: `npm pack`, installed into a new project
// (the tarball unpacked as node_modules/oidc-auth-client, its dependencies
// linked from this repository's node_modules, so no registry is reached),
// type-checked by a strict TypeScript consumer, and its CLI and library run
// on Node 24 and on the oldest Node that `engines` admits (22.12, from
// tools/oldest-node).
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { authenticate, defaultStorePath, KNOWN_AUTH_ERROR_CODES, TokenStore } from '../src/index.ts';
import { NATIVE_CLIENT } from './fixtures/idp.ts';
import { personApproves, startWorld } from './fixtures/world.ts';

const root = path.join(import.meta.dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string; engines: { node: string } };
const OLDEST_NODE = path.join(root, 'tools', 'oldest-node', 'node_modules', '.bin');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-consumer-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

let packed: { files: Array<{ path: string }> } | undefined;

/** A new project with the packed package installed; `nodeTypes` links @types/node too. */
function project(name: string, tarball: string, nodeTypes: boolean): string {
  const dir = path.join(work, name);
  const modules = path.join(dir, 'node_modules');
  fs.mkdirSync(path.join(modules, '.bin'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module', dependencies: { 'oidc-auth-client': `file:${tarball}` } }));
  execFileSync('tar', ['xzf', tarball, '-C', modules]);
  fs.renameSync(path.join(modules, 'package'), path.join(modules, 'oidc-auth-client'));
  for (const entry of fs.readdirSync(path.join(root, 'node_modules'))) {
    if (entry.startsWith('.') || entry === 'oidc-auth-client' || entry === 'oldest-node' || entry === '@types') continue;
    fs.symlinkSync(path.join(root, 'node_modules', entry), path.join(modules, entry));
  }
  if (nodeTypes) {
    fs.mkdirSync(path.join(modules, '@types'));
    fs.symlinkSync(path.join(root, 'node_modules', '@types', 'node'), path.join(modules, '@types', 'node'));
  }
  // What npm does for a `bin`: a link in node_modules/.bin to an executable file.
  const cli = path.join(modules, 'oidc-auth-client', 'dist', 'cli.js');
  fs.chmodSync(cli, 0o755);
  fs.symlinkSync(path.relative(path.join(modules, '.bin'), cli), path.join(modules, '.bin', 'oidc-auth'));
  return dir;
}

before(() => {
  if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.build.json')]);
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error' } });
  packed = (JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>)[0];
  const tarball = path.join(work, (JSON.parse(out) as Array<{ filename: string }>)[0]?.filename ?? '');
  project('with-node-types', tarball, true);
  project('without-node-types', tarball, false);
  // The documentation's examples may import any package the repository has (ky, react, ws, @statelyai/inspect): all their types too.
  const docs = project('docs-examples', tarball, true);
  for (const entry of fs.readdirSync(path.join(root, 'node_modules', '@types'))) {
    if (entry !== 'node') fs.symlinkSync(path.join(root, 'node_modules', '@types', entry), path.join(docs, 'node_modules', '@types', entry));
  }
});

/** Every ```ts block of the README and the guides, with where it is; ```ts runnable marks one that the tests also run. */
export function documentationBlocks(): Array<{ where: string; code: string; runnable: boolean }> {
  const files = ['README.md', ...fs.readdirSync(path.join(root, 'docs', 'guides')).filter((name) => name.endsWith('.md')).map((name) => path.join('docs', 'guides', name))];
  return files.flatMap((file) => [...fs.readFileSync(path.join(root, file), 'utf8').matchAll(/^```ts( runnable)?\n([\s\S]*?)^```$/gm)]
    .map((match, index) => ({ where: `${file} block ${index + 1}`, code: match[2] ?? '', runnable: match[1] !== undefined })));
}

/** `node file` without blocking this process (whose loopback fixtures the program talks to); killed after 30 s. */
function runNode(file: string, options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { ...options, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => void (stdout += String(chunk)));
    child.stderr.on('data', (chunk: Buffer) => void (stderr += String(chunk)));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The program a strict consumer writes: the main API, and an exhaustive switch on the known error codes. */
function consumerProgram(): string {
  const cases = KNOWN_AUTH_ERROR_CODES.map((code) => `    case '${code}':`).join('\n');
  return `import {
  authenticate, authState, AuthError, Client, DeviceFlow, isAuthError, isKnownAuthErrorCode, TokenStore,
  type AuthStateView, type KnownAuthErrorCode, type Token,
} from 'oidc-auth-client';

function advice(code: KnownAuthErrorCode): string {
  switch (code) {
${cases}
      return code;
    default: {
      const unreachable: never = code;
      return unreachable;
    }
  }
}

export async function run(host: string): Promise<string> {
  const handle = authState({ host });
  const stop = handle.subscribe((view: AuthStateView) => {
    if (view.secondsLeft !== undefined && view.deviceCode) console.log(view.deviceCode.user_code, view.secondsLeft);
  });
  const first: AuthStateView = handle.getSnapshot();
  stop();
  stop.unsubscribe();
  const flow = new DeviceFlow(host, { store: new TokenStore({ appName: 'consumer' }) });
  const client = await Client.discover('https://idp.example.org', 'consumer-cli');
  void client.configuration.token_endpoint;
  try {
    const token: Token = await authenticate({ host, interactive: false, minValidity: 120 });
    return token.access_token + first.state + String(flow.token?.expires);
  } catch (error) {
    if (isAuthError(error) && isKnownAuthErrorCode(error.code)) return advice(error.code);
    if (error instanceof AuthError) return error.message;
    throw error;
  }
}
`;
}

/** What a consumer of the store entries writes: Redis and keyring stores passed to authenticate(), and a store of its own. */
function storesProgram(): string {
  return `import { authenticate, listLogins, putToken, type StoreChange, type StoreRead, type StoredLogin, type TokenStoreBackend } from 'oidc-auth-client';
import { RedisTokenStore } from 'oidc-auth-client/redis';
import { KeyringTokenStore, KEYRING_PART_SIZE } from 'oidc-auth-client/keyring';

class Mine implements TokenStoreBackend {
  readonly id = 'mine';
  readonly description = 'my own store';
  read(_key: string): StoreRead {
    return { token: undefined, version: undefined };
  }
  version(): string | undefined {
    return undefined;
  }
  entries(): StoredLogin[] {
    return [];
  }
  async update(_change: StoreChange): Promise<string | undefined> {
    return undefined;
  }
}

export async function run(host: string): Promise<number> {
  const redis = new RedisTokenStore({ url: 'redis://127.0.0.1:6379', prefix: 'consumer:', leaseMs: 5000 });
  const keyring = new KeyringTokenStore({ appName: 'consumer' });
  const a = await authenticate({ host, store: redis, interactive: false });
  const b = await authenticate({ host, store: keyring });
  const c = await authenticate({ host, store: 'keyring' });
  await putToken(new Mine(), host, a);
  await redis.close();
  return (await listLogins(keyring)).length + KEYRING_PART_SIZE + b.expires + c.expires;
}
`;
}

const SETTINGS: Array<{ name: string; project: string; module: string; moduleResolution: string; exact: boolean; types: string[]; lib: string[] }> = [
  ...(['node16', 'nodenext'] as const).flatMap((kind) => [true, false].map((exact) => ({ name: `${kind}${exact ? ' + exactOptionalPropertyTypes' : ''}`, project: 'with-node-types', module: kind, moduleResolution: kind, exact, types: ['node'], lib: ['es2023'] }))),
  ...[true, false].map((exact) => ({ name: `bundler${exact ? ' + exactOptionalPropertyTypes' : ''}`, project: 'with-node-types', module: 'esnext', moduleResolution: 'bundler', exact, types: ['node'], lib: ['es2023'] })),
  { name: 'nodenext + exactOptionalPropertyTypes, without @types/node (lib dom)', project: 'without-node-types', module: 'nodenext', moduleResolution: 'nodenext', exact: true, types: [], lib: ['es2023', 'dom'] },
];

describe('the packed package in a new project', () => {
  it('ships dist with declarations and self-contained source maps, the README, SECURITY.md and LICENSE; no sources or tests', () => {
    const files = (packed?.files ?? []).map((file) => file.path);
    for (const wanted of ['LICENSE', 'README.md', 'SECURITY.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/cli.js', 'dist/machines.d.ts', 'dist/react.d.ts', 'dist/redis.d.ts', 'dist/keyring.d.ts']) assert.ok(files.includes(wanted), wanted);
    assert.deepEqual(files.filter((file) => file.startsWith('src/') || file.startsWith('test/')), []);
    const map = JSON.parse(fs.readFileSync(path.join(work, 'with-node-types', 'node_modules', 'oidc-auth-client', 'dist', 'index.js.map'), 'utf8')) as { sourcesContent?: string[] };
    assert.ok(map.sourcesContent?.[0]?.includes('export'), 'the map carries its sources');
  });

  for (const setting of SETTINGS) {
    it(`a strict TypeScript consumer type-checks: ${setting.name}, skipLibCheck false${setting.types.includes('node') ? ' (with the redis and keyring entries and a store of its own)' : ''}`, () => {
      const dir = path.join(work, setting.project);
      const name = setting.name.replace(/\W+/g, '-');
      fs.writeFileSync(path.join(dir, `${name}.ts`), consumerProgram());
      // The Redis store's types come from node-redis, which needs @types/node: checked where the project has it.
      const files = [`${name}.ts`];
      if (setting.types.includes('node')) {
        fs.writeFileSync(path.join(dir, `${name}-stores.ts`), storesProgram());
        files.push(`${name}-stores.ts`);
      }
      fs.writeFileSync(path.join(dir, `tsconfig.${name}.json`), JSON.stringify({
        compilerOptions: {
          strict: true, exactOptionalPropertyTypes: setting.exact, skipLibCheck: false, noEmit: true, target: 'es2023',
          module: setting.module, moduleResolution: setting.moduleResolution, types: setting.types, lib: setting.lib, noUncheckedIndexedAccess: true,
        },
        files,
      }));
      const result = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', `tsconfig.${name}.json`], { cwd: dir, encoding: 'utf8' });
      assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
    });
  }

  it('every TypeScript code block of the README and the guides type-checks against the packed package (strict, nodenext, exactOptionalPropertyTypes)', () => {
    const dir = path.join(work, 'docs-examples');
    const blocks = documentationBlocks();
    assert.ok(blocks.length >= 9, `${blocks.length} blocks`);
    const files = blocks.map((block, index) => {
      const file = `example-${index + 1}.ts`;
      fs.writeFileSync(path.join(dir, file), `// ${block.where}\n${block.code}\nexport {};\n`);
      return file;
    });
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, exactOptionalPropertyTypes: true, skipLibCheck: true, noEmit: true, target: 'es2023', module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2023', 'dom'], noUncheckedIndexedAccess: true },
      files,
    }));
    const result = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8' });
    const named = `${result.stdout}${result.stderr}`.replace(/example-(\d+)\.ts/g, (_, n: string) => blocks[Number(n) - 1]?.where ?? n);
    assert.equal(result.status, 0, named);
  });

  it('the documentation blocks marked runnable run against the loopback fixtures, from the packed package, with the example addresses pointed at them', { timeout: 120_000 }, async (t) => {
    const dir = path.join(work, 'docs-examples');
    const runnable = documentationBlocks().filter((block) => block.runnable);
    assert.ok(runnable.length >= 5, `${runnable.length} runnable blocks`);
    const world = await startWorld();
    try {
      // The person logged in before, as each example assumes: the default store under a cache folder of the test's own.
      const cache = path.join(world.dir, 'xdg-cache');
      const store = new TokenStore({ path: defaultStorePath(undefined, { XDG_CACHE_HOME: cache }) });
      const login = { store, interactive: true, openBrowser: false, flow: 'device', onDeviceCode: personApproves().onDeviceCode } as const;
      await authenticate({ ...login, host: world.app.host });
      await authenticate({ ...login, host: world.app.host, account: 'project' });
      await authenticate({ ...login, issuer: world.idp.issuer, clientId: NATIVE_CLIENT, scope: ['openid', 'offline_access'] });
      const places: Array<[string, string]> = [['https://myapp.example.org', world.app.host], ['https://idp.example.org', world.idp.issuer], ["'my-cli'", `'${NATIVE_CLIENT}'`]];
      for (const [index, block] of runnable.entries()) {
        const code = places.reduce((text, [from, to]) => text.replaceAll(from, to), block.code);
        const file = path.join(dir, `run-${index + 1}.ts`);
        fs.writeFileSync(file, `// ${block.where}\n${code}`);
        const calls = world.app.apiAnswers.length;
        // No person here (CI): an example that needs a new login fails at once instead of waiting for one.
        // Not spawnSync: the fixtures answer from this process's event loop.
        const ran = await runNode(file, { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: world.dir, XDG_CACHE_HOME: cache, CI: 'true' } });
        assert.equal(ran.status, 0, `${block.where} exits 0: ${ran.stdout}${ran.stderr}`);
        const answers = world.app.apiAnswers.slice(calls);
        if (/\/api\/data/.test(block.code)) assert.ok(answers.length > 0 && answers.every((status) => status === 200), `${block.where}: the API accepted its token (${answers.join(', ')})`);
        if (/authState\(/.test(block.code)) assert.match(ran.stderr, /^authenticated\b/m, `${block.where}: the listener saw the login authenticated`);
        t.diagnostic(`${block.where}: ran, ${answers.length} API calls answered 200`);
      }
    } finally {
      await world.close();
    }
  });

  for (const [label, extraPath] of [['Node 24', ''], [`Node ${pkg.engines.node.replace('>=', '')}, the oldest that engines admits`, OLDEST_NODE]] as const) {
    it(`the CLI from node_modules/.bin and the library on ${label}`, () => {
      const dir = path.join(work, 'with-node-types');
      const env = { PATH: `${extraPath ? `${extraPath}:` : ''}${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: work };
      const run = (args: string[], more: Record<string, string> = {}) => spawnSync(path.join(dir, 'node_modules', '.bin', 'oidc-auth'), args, { cwd: dir, env: { ...env, ...more }, encoding: 'utf8' });
      const nodeVersion = spawnSync('node', ['--version'], { env, encoding: 'utf8' }).stdout.trim();
      if (extraPath) assert.equal(nodeVersion, `v${pkg.engines.node.replace('>=', '')}.0`, 'the oldest Node runs it');
      const version = run(['--version']);
      assert.deepEqual([version.status, version.stdout], [0, `${pkg.version}\n`], version.stderr);
      const help = run(['--help']);
      assert.equal(help.status, 0);
      assert.match(help.stdout, /^Usage: oidc-auth <host>/);
      const tokenFile = path.join(work, `token-${label.split(' ')[1]}.json`);
      const now = Math.floor(Date.now() / 1000);
      fs.writeFileSync(tokenFile, JSON.stringify({ access_token: 'at-consumer', token_type: 'Bearer', expires: now + 3600, refresh_token: '', refresh_expires: 0, scope: '' }), { mode: 0o600 });
      const cached = run(['https://app.example.org'], { OIDC_TOKEN_FILE: tokenFile });
      assert.deepEqual([cached.status, cached.stdout], [0, 'at-consumer\n'], cached.stderr);
      const missing = run(['https://app.example.org', '--store', path.join(work, `empty-${label.split(' ')[1]}.json`)]);
      assert.equal(missing.status, 3, missing.stderr);
      assert.match(missing.stderr, /No valid token for https:\/\/app\.example\.org.*OIDC_TOKEN_FILE/);
      const library = spawnSync('node', ['--input-type=module', '-e', `
        import { authenticate, TokenStore } from 'oidc-auth-client';
        const token = await authenticate({ host: 'https://app.example.org', store: new TokenStore({ path: ${JSON.stringify(tokenFile)} }) });
        console.log(token.access_token);
      `], { cwd: dir, env, encoding: 'utf8' });
      assert.deepEqual([library.status, library.stdout], [0, 'at-consumer\n'], library.stderr);
    });
  }
});
