import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { Token } from '../src/index.ts';
import { personApproves, startWorld, type World } from './fixtures/world.ts';
import { authenticate } from '../src/index.ts';

const cli = path.join(import.meta.dirname, '..', 'src', 'cli.ts');
const built = path.join(import.meta.dirname, '..', 'dist', 'cli.js');

function run(args: string[], env: NodeJS.ProcessEnv = {}, script = cli): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('oidc-auth CLI', () => {
  it('--help and --version exit 0 on stdout; the built bin runs too', async () => {
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit codes: 0 ok, 1 authentication failed, 2 usage error/);
    const version = await run(['--version']);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.equal((await run(['--version'], {}, built)).stdout, version.stdout, 'the built bin (npm test builds dist/ first) runs');
  });

  it('usage errors exit 2', async () => {
    assert.equal((await run([])).code, 2);
    assert.equal((await run(['https://h.example', '--flow', 'sideways'])).code, 2);
    assert.equal((await run(['https://h.example', '--bogus'])).code, 2);
    assert.equal((await run(['https://h.example', '-p', '70000'])).code, 2);
  });

  it('without a terminal and without a token: exit 3 at once, naming OIDC_TOKEN_FILE', async () => {
    world = await startWorld();
    const result = await run([world.app.host, '--store', world.store.path]);
    assert.equal(result.code, 3);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /OIDC_TOKEN_FILE/);
    assert.equal(world.app.requests.device, 0);
  });

  it('prints the cached token (stdout only) and --json output works as OIDC_TOKEN_FILE; --list and --remove', async () => {
    world = await startWorld();
    const person = personApproves();
    const token = await authenticate({ host: world.app.host, store: world.store, interactive: true, openBrowser: false, onDeviceCode: person.onDeviceCode });
    const plain = await run([world.app.host, '--store', world.store.path]);
    assert.equal(plain.code, 0);
    assert.equal(plain.stdout, `${token.access_token}\n`);
    assert.equal(plain.stderr, '');
    const json = await run([world.app.host, '--json', '--store', world.store.path]);
    const file = path.join(world.dir, 'token.json');
    fs.writeFileSync(file, json.stdout);
    assert.equal((JSON.parse(json.stdout) as Token).refresh_token, token.refresh_token);
    const viaEnv = await run([world.app.host], { OIDC_TOKEN_FILE: file });
    assert.equal(viaEnv.stdout, `${token.access_token}\n`);
    const list = await run(['--list', '--json', '--store', world.store.path]);
    const rows = JSON.parse(list.stdout) as Array<{ host: string; state: string }>;
    assert.deepEqual(rows.map((r) => [r.host, r.state]), [[world.app.host, 'valid']]);
    assert.ok(!list.stdout.includes(token.access_token), '--list shows no token');
    assert.equal((await run(['--remove', world.app.host, '--store', world.store.path])).code, 0);
    assert.equal((await run([world.app.host, '--store', world.store.path])).code, 3);
  });
});
