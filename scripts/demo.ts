// npm run demo [-- --auto-approve] [-- --flow code]
//
// Starts a real OpenID provider (oidc-provider) and a py-oidc-auth-compatible
// application server on loopback, then runs the oidc-auth CLI against them
// with a throw-away token store. Open the printed URL, sign in with any name,
// confirm, and the CLI gets its token. --auto-approve lets a scripted person
// do the clicking on the provider's real pages (used by a test).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Token } from '../src/types.ts';
import { startAppServer } from '../test/fixtures/app-server.ts';
import { hideDevelopmentNotices, startIdp } from '../test/fixtures/idp.ts';
import { Person } from '../test/fixtures/person.ts';

const { values } = parseArgs({
  options: {
    'auto-approve': { type: 'boolean' },
    flow: { type: 'string', default: 'device' },
    'no-browser': { type: 'boolean' },
  },
});
const auto = values['auto-approve'] === true;
const say = (text: string) => process.stderr.write(`${text}\n`);

// oidc-provider warns and notes that its quick-start keys and pages are for
// development: that is what a demo is, so those lines are left out.
hideDevelopmentNotices();
const idp = await startIdp();
const app = await startAppServer(idp);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-auth-demo-'));
const storePath = path.join(dir, 'token-store.json');

say(`Identity provider (oidc-provider): ${idp.issuer}   sign in with any name and password`);
say(`Application server (py-oidc-auth routes): ${app.host}`);
say(`Token store for this demo: ${storePath}\n`);
say(`$ oidc-auth ${app.host} --flow ${values.flow} --json\n`);

const cli = path.join(import.meta.dirname, '..', 'src', 'cli.ts');
const args = [cli, app.host, '--json', '--store', storePath, '--flow', values.flow ?? 'device', '--interactive', '--timeout', '300'];
if (auto || values['no-browser']) args.push('--no-browser');
const child = spawn(process.execPath, args, { stdio: ['inherit', 'pipe', auto ? 'pipe' : 'inherit'] });
let stdout = '';
child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));

if (auto) {
  let stderr = '';
  let visited = false;
  child.stderr?.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    stderr += chunk.toString();
    // The device flow prints "(or open <url with the code>)"; the code flow prints the login URL.
    const url = /or open (\S+)\)/.exec(stderr)?.[1] ?? /open this URL in a browser:\s+(\S+)/.exec(stderr)?.[1];
    if (url && !visited) {
      visited = true;
      say('[auto-approve] a scripted person signs in on the provider\'s pages and confirms');
      new Person({ login: 'demo-user' }).visit(url).catch((error: unknown) => say(`[auto-approve] failed: ${String(error)}`));
    }
  });
}

// Ctrl-C reaches the CLI too (same process group); wait for it to finish.
process.on('SIGINT', () => {});
const code = await new Promise<number>((resolve) => child.on('close', (status) => resolve(status ?? 1)));

if (code === 0) {
  const token = JSON.parse(stdout) as Token;
  const stored = JSON.parse(fs.readFileSync(storePath, 'utf8')) as Record<string, unknown>;
  say('\nToken summary (the token itself is not shown):');
  say(`  type            ${token.token_type}, ${token.access_token.length} characters`);
  say(`  scope           ${token.scope}`);
  say(`  expires         ${new Date(token.expires * 1000).toISOString()}`);
  say(`  refresh token   ${token.refresh_token ? `yes, until ${new Date(token.refresh_expires * 1000).toISOString()}` : 'no'}`);
  say(`  stored in       ${storePath} (host ${Object.keys(stored).join(', ')})`);
  say(`  grants seen by the provider: ${JSON.stringify(idp.grants)}`);
  const before = JSON.stringify(app.requests);
  const started = performance.now();
  const again = await new Promise<number>((resolve) => spawn(process.execPath, [cli, app.host, '--store', storePath], { stdio: ['ignore', 'ignore', 'inherit'] }).on('close', (status) => resolve(status ?? 1)));
  const same = JSON.stringify(app.requests) === before;
  say(`\n$ oidc-auth ${app.host}   (again)`);
  say(`  exit ${again} after ${Math.round(performance.now() - started)} ms; requests to the server: ${same ? 'none (the cached token)' : 'some (unexpected)'}`);
} else {
  say(`\noidc-auth exited with ${code}.`);
}

await app.close();
await idp.close();
fs.rmSync(dir, { recursive: true, force: true });
process.exitCode = code;
