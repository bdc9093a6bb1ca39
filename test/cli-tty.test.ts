// The CLI as a person at a terminal sees it, in a real pseudo-terminal.
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { renderUnicodeCompact } from 'uqr';
import { killAll, spawnPty } from './helpers/pty.ts';
import { loopbackRedirects } from './fixtures/idp.ts';
import { Person } from './fixtures/person.ts';
import { startWorld, type World } from './fixtures/world.ts';
import { freePort } from './helpers/ports.ts';

const cli = path.join(import.meta.dirname, '..', 'src', 'cli.ts');
const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TERM: 'xterm-256color' };
const COLOUR = /\u001b\[(?:1|2|4|3[1-6])m/;

let world: World | undefined;
afterEach(async () => {
  killAll();
  await world?.close();
  world = undefined;
});

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('connect', () => (socket.destroy(), resolve(false)));
    socket.on('error', () => resolve(true));
  });
}

describe('oidc-auth in a terminal', () => {
  it('device login: URL and code in colour, a QR code, a spinner counting down, then the token', async () => {
    world = await startWorld();
    const term = spawnPty(process.execPath, [cli, world.app.host, '--store', world.store.path, '--no-browser', '--timeout', '120'], baseEnv);
    const [, complete] = await term.waitFor(/or open directly (\S+)/);
    await term.waitFor(/left, Ctrl-C to cancel/);
    assert.match(term.output, COLOUR, 'colours on a terminal');
    assert.match(term.text, /and enter code\s+[A-Z]{4}-[A-Z]{4}/);
    assert.match(term.text, /scan with a phone:\n {2}[█▀▄ ]{20,}\n/);
    assert.ok(term.text.includes(renderUnicodeCompact(complete ?? '').replace(/^/gm, '  ')), 'the QR code is that of the URL with the code in it');
    assert.match(term.text, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Waiting for you to log in \((?:[0-9]|1[0-9]):[0-5][0-9] left/, 'spinner with the time left');
    await new Person().visit(complete ?? '');
    assert.equal(await term.exited, 0);
    const token = world.store.get(world.app.host);
    assert.ok(token);
    assert.match(term.text, /✓ Logged in to .* the token is kept in \S+token-store\.json \(a plaintext JSON file, mode 600/);
    assert.ok(term.text.trimEnd().endsWith(token.access_token), 'the token is the last thing printed');
  });

  it('NO_COLOR: the plain mode (no colour codes, no QR code, nothing redrawn); the prompt is still there', async () => {
    world = await startWorld();
    const term = spawnPty(process.execPath, [cli, world.app.host, '--store', world.store.path, '--no-browser'], { ...baseEnv, NO_COLOR: '1' });
    const [, complete] = await term.waitFor(/\(or open (\S+)\)/);
    await new Person().visit(complete ?? '');
    assert.equal(await term.exited, 0);
    assert.doesNotMatch(term.output, COLOUR);
    assert.doesNotMatch(term.text, /[█▀▄]/);
    assert.doesNotMatch(term.output, /\r\u001b\[2K/, 'no line is redrawn');
  });

  it('--plain on a colour terminal: one line per event, the time left as a line of its own, no spinner, no QR code', async () => {
    world = await startWorld();
    const term = spawnPty(process.execPath, [cli, world.app.host, '--store', world.store.path, '--no-browser', '--plain'], baseEnv);
    const [, complete] = await term.waitFor(/\(or open (\S+)\)/);
    await term.waitFor(/Waiting for you to log in: \d+:\d\d left \(Ctrl-C to cancel\)/);
    await new Person().visit(complete ?? '');
    assert.equal(await term.exited, 0);
    assert.doesNotMatch(term.output, /\u001b\[/, 'no escape sequence at all');
    assert.doesNotMatch(term.text, /[█▀▄⠋⠙⠹]/, 'no QR code, no spinner');
    assert.match(term.text, /Logged in to/);
  });

  it('Ctrl-C while the device flow polls: exit 130, polling stops, the process ends by itself', async () => {
    world = await startWorld();
    const term = spawnPty(process.execPath, [cli, world.app.host, '--store', world.store.path, '--no-browser'], baseEnv);
    await term.waitFor(/Waiting for you to log in/);
    term.write('\u0003');
    const code = await Promise.race([term.exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 5000).unref())]);
    if (code === 'still running') term.kill();
    assert.equal(code, 130, 'exits 130 within 5 s without help: no server or timer left behind');
    assert.match(term.text, /cancelled/);
    const polls = world.app.requests.poll;
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(world.app.requests.poll, polls, 'no poll after exit');
    assert.equal(world.store.get(world.app.host), undefined);
  });

  it('Ctrl-C while the code flow waits: exit 130 and the callback port is closed', async () => {
    world = await startWorld();
    const port = await freePort();
    const term = spawnPty(process.execPath, [cli, world.app.host, '--store', world.store.path, '--no-browser', '--flow', 'code', '-p', String(port)], baseEnv);
    await term.waitFor(/ssh -L (\d+):localhost/);
    assert.equal(await refused(port), false, 'listening while it waits');
    assert.match(term.text, new RegExp(`ssh -L ${port}:localhost:${port}`));
    await term.waitFor(/Waiting for the browser login/);
    term.write('\u0003');
    assert.equal(await term.exited, 130);
    assert.equal(await refused(port), true, 'the callback server is closed');
  });

  it('a batch job on a terminal: exit 3 at once, naming OIDC_TOKEN_FILE and the command to run elsewhere', async () => {
    world = await startWorld();
    const term = spawnPty(process.execPath, [cli, world.app.host, '--store', world.store.path], { ...baseEnv, SLURM_JOB_ID: '42' });
    assert.equal(await term.exited, 3);
    assert.match(term.text, /SLURM_JOB_ID/);
    assert.match(term.text, /OIDC_TOKEN_FILE/);
    assert.match(term.text, new RegExp(`oidc-auth ${world.app.host.replace(/[.:/]/g, '\\$&')} --json`));
    assert.equal(world.app.requests.device, 0);
  });

  for (const [variable, value] of [['JUPYTERHUB_USER', 'alice'], ['SLURM_JOB_ID', '42']] as const) {
    it(`--interactive wins over ${variable}: the device login starts in that terminal`, async () => {
      world = await startWorld();
      const term = spawnPty(process.execPath, [cli, world.app.host, '--store', world.store.path, '--no-browser', '--no-qr', '--interactive'], { ...baseEnv, [variable]: value });
      await term.waitFor(/enter (?:the )?code/i);
      term.write('\u0003');
      assert.equal(await term.exited, 130);
      assert.equal(world.app.requests.device, 1);
    });
  }

  it('JUPYTERHUB_USER alone, in a notebook terminal: a login starts without any flag', async () => {
    world = await startWorld();
    const term = spawnPty(process.execPath, [cli, world.app.host, '--store', world.store.path, '--no-browser', '--no-qr'], { ...baseEnv, JUPYTERHUB_USER: 'alice' });
    await term.waitFor(/enter (?:the )?code/i);
    term.write('\u0003');
    assert.equal(await term.exited, 130);
  });

  it('npm run demo in a terminal: the provider\'s development notices never reach the person', { timeout: 60_000 }, async () => {
    const demo = path.join(import.meta.dirname, '..', 'scripts', 'demo.ts');
    const term = spawnPty(process.execPath, [demo, '--auto-approve'], baseEnv);
    assert.equal(await term.exited, 0, term.text);
    assert.match(term.text, /Token summary/);
    assert.doesNotMatch(term.text, /oidc-provider (WARNING|NOTICE)/);
  });

  it('no browser here (--paste): the address the browser ended on, pasted into the terminal, finishes the code login; a foreign one is refused', async () => {
    const port = await freePort(); // not a fixed port: another test's connection may hold it for a moment
    world = await startWorld({ idp: { redirectUris: loopbackRedirects([port]) } });
    const term = spawnPty(process.execPath, [cli, world.app.host, '--store', world.store.path, '--flow', 'code', '-p', String(port), '--no-browser', '--paste'], baseEnv);
    const [, loginUrl] = await term.waitFor(new RegExp(`(http://localhost:${port}/login/[A-Za-z0-9_-]{43})`));
    await term.waitFor(/paste the address your browser ended on/);
    // The person's browser is elsewhere: the provider sends it to localhost:<port>, which does not load there.
    const landed = await new Person({ stopBefore: (url) => url.startsWith(`http://localhost:${port}/callback`) }).visit(loginUrl ?? '');
    assert.ok(landed.url.startsWith(`http://localhost:${port}/callback?code=`), landed.url);
    term.write(`http://localhost:${port}/callback?code=forged&state=someone-else\r`);
    await term.waitFor(/does not belong to this login/);
    term.write(`${landed.url}\r`);
    assert.equal(await term.exited, 0, term.text);
    assert.match(term.text, /Logged in to/);
    assert.equal(world.app.requests.code, 1, 'only the pasted code was exchanged');
  });
});
