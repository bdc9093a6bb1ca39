// Windows, macOS and WSL, checked by simulation on Linux: the inputs each
// decision reads (environment, kernel version, path rules, /proc) are
// given as those platforms give them. CI runs Linux only; README
// "Platforms" says what is tested where.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isWsl } from '../src/adapters/browser/environment.ts';
import { ownerLookupMissing } from '../src/adapters/browser/socket-owner.ts';
import { deadAtOnce } from '../src/adapters/store/lock.ts';
import { resolveStorePath } from '../src/adapters/store/paths.ts';
import { TokenStore } from '../src/adapters/store/file-store.ts';
import { storeArgumentKind } from '../src/cli/common.ts';
import { sshHint } from '../src/host/presenter.ts';

const WSL2_KERNEL = 'Linux version 6.6.87.2-microsoft-standard-WSL2 (root@439a258ad544) (gcc (GCC) 11.2.0) #1 SMP PREEMPT_DYNAMIC';
const DEBIAN_KERNEL = 'Linux version 6.1.0-28-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1';

describe('WSL (simulated)', () => {
  it('is detected from WSL_DISTRO_NAME, WSL_INTEROP or a Microsoft kernel, on Linux only', () => {
    assert.equal(isWsl({ platform: 'linux', env: { WSL_DISTRO_NAME: 'Ubuntu' }, kernelVersion: () => DEBIAN_KERNEL }), true);
    assert.equal(isWsl({ platform: 'linux', env: { WSL_INTEROP: '/run/WSL/8_interop' }, kernelVersion: () => '' }), true);
    assert.equal(isWsl({ platform: 'linux', env: {}, kernelVersion: () => WSL2_KERNEL }), true, 'under sudo or a service the variables are gone; the kernel still says');
    assert.equal(isWsl({ platform: 'linux', env: {}, kernelVersion: () => DEBIAN_KERNEL }), false);
    assert.equal(isWsl({ platform: 'win32', env: { WSL_DISTRO_NAME: 'Ubuntu' }, kernelVersion: () => '' }), false);
  });

  it('the login prompt says the redirect must reach WSL and offers the device flow; elsewhere it does not', () => {
    const onWsl = sshHint('http://localhost:53100/callback', true);
    assert.match(onWsl, /This is WSL: the browser opens on Windows, and its redirect to localhost:53100 must reach WSL/);
    assert.match(onWsl, /localhostForwarding=true in \.wslconfig, or log in with the device flow \(--flow device/);
    assert.doesNotMatch(sshHint('http://localhost:53100/callback', false), /WSL/);
  });

  it('the socket owner is not checked there (the Windows browser comes through WSL\'s relay), nor on macOS or Windows', () => {
    assert.match(ownerLookupMissing({ platform: 'linux', env: { WSL_DISTRO_NAME: 'Ubuntu' }, kernelVersion: () => WSL2_KERNEL }) ?? '', /WSL relays/);
    assert.match(ownerLookupMissing({ platform: 'darwin' }) ?? '', /darwin publishes no socket owners/);
    assert.match(ownerLookupMissing({ platform: 'win32' }) ?? '', /win32 publishes no socket owners/);
    assert.equal(ownerLookupMissing({ platform: 'linux', env: {}, kernelVersion: () => DEBIAN_KERNEL }), undefined);
  });

  it('our login addresses pass through `open`\'s WSL path unchanged (it converts paths, not URLs, then hands them to PowerShell base64-encoded)', async () => {
    const { convertWslPathToWindows } = await import('wsl-utils');
    for (const url of ['http://localhost:53100/login/AbC-_123', 'http://127.0.0.1:40123/login/x', 'https://idp.example.org/device?user_code=WDJB-MJHT']) {
      assert.equal(await convertWslPathToWindows(url), url);
    }
  });
});

describe('Windows paths (simulated with path.win32)', () => {
  const home = () => 'C:\\Users\\ada';
  it('a store path with a drive, a UNC share, forward slashes or ~ is taken as Windows means it', () => {
    assert.equal(resolveStorePath('C:\\Users\\ada\\tokens.json', path.win32, home), 'C:\\Users\\ada\\tokens.json');
    assert.equal(resolveStorePath('C:/Users/ada/tokens.json', path.win32, home), 'C:\\Users\\ada\\tokens.json');
    assert.equal(resolveStorePath('\\\\fileserver\\projects\\tokens.json', path.win32, home), '\\\\fileserver\\projects\\tokens.json');
    assert.equal(resolveStorePath('~\\AppData\\tokens.json', path.win32, home), 'C:\\Users\\ada\\AppData\\tokens.json');
    assert.equal(resolveStorePath('~/AppData/tokens.json', path.win32, home), 'C:\\Users\\ada\\AppData\\tokens.json');
    assert.equal(resolveStorePath('~/tokens.json', path.posix, () => '/home/ada'), '/home/ada/tokens.json');
    assert.equal(resolveStorePath('~\\tokens.json', path.posix, () => '/home/ada').endsWith('/~\\tokens.json'), true, 'on POSIX a backslash is part of a file name');
  });

  it('--store C:\\... or \\\\server\\share\\... names a file, not a store or a URL scheme', () => {
    for (const value of ['C:\\Users\\ada\\tokens.json', 'c:/tokens.json', '\\\\fileserver\\projects\\tokens.json', '/home/ada/tokens.json', 'tokens.json']) assert.equal(storeArgumentKind(value), 'path', value);
    assert.equal(storeArgumentKind('REDIS://127.0.0.1:6379'), 'redis');
    assert.equal(storeArgumentKind('Keyring'), 'keyring');
  });

  it('a token file with Windows line endings (saved by an editor there, or `--json > token.json` in PowerShell) is read', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-crlf-'));
    try {
      const now = Math.floor(Date.now() / 1000);
      const single = path.join(dir, 'token.json');
      fs.writeFileSync(single, JSON.stringify({ access_token: 'at-crlf', token_type: 'Bearer', expires: now + 3600, refresh_token: 'rt', refresh_expires: now + 7200, scope: 'openid' }, undefined, 2).replace(/\n/g, '\r\n') + '\r\n', { mode: 0o600 });
      assert.equal((await new TokenStore({ path: single }).get('https://any.example'))?.access_token, 'at-crlf', 'OIDC_TOKEN_FILE shape');
      const store = path.join(dir, 'token-store.json');
      await new TokenStore({ path: store }).put('https://app.example', { access_token: 'at-entry', token_type: 'Bearer', expires: now + 3600, refresh_token: 'rt', refresh_expires: now + 7200, scope: '', headers: { Authorization: 'Bearer at-entry' } });
      fs.writeFileSync(store, fs.readFileSync(store, 'utf8').replace(/\n/g, '\r\n'), { mode: 0o600 });
      assert.equal((await new TokenStore({ path: store }).get('https://app.example'))?.access_token, 'at-entry', 'the store file, saved again with CRLF');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a dead lock holder is recognised at once only where /proc names the PID namespace and boot; elsewhere the heartbeat decides', () => {
    const dead = () => false;
    const holder = { pid: 4242, hostname: 'ws-ada', nonce: 'n', ns: 'pid:[4026531836] boot:b1' };
    assert.equal(deadAtOnce(holder, { hostname: 'ws-ada', ns: 'pid:[4026531836] boot:b1' }, dead), true, 'Linux, same namespace and boot');
    assert.equal(deadAtOnce({ ...holder, ns: undefined }, { hostname: 'ws-ada', ns: undefined }, dead), false, 'Windows or macOS: no /proc, a pid proves nothing');
    assert.equal(deadAtOnce(holder, { hostname: 'ws-ada', ns: 'pid:[4026531836] boot:b2' }, dead), false, 'after a reboot the pid is another process');
    assert.equal(deadAtOnce(holder, { hostname: 'other', ns: holder.ns }, dead), false, 'another machine (a shared folder)');
  });
});
