import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideInteractive } from '../src/adapters/browser/environment.ts';
import { clock, deviceCodeText, qrCode, relativeTime, styles, terminalInfo } from '../src/cli/terminal.ts';
import type { DeviceCode } from '../src/types.ts';

const tty = (columns = 100) => ({ isTTY: true, columns, write: () => true } as unknown as NodeJS.WritableStream);
const pipe = { write: () => true } as unknown as NodeJS.WritableStream;
const code: DeviceCode = {
  uri: 'https://idp.example/device?user_code=ABCD-EFGH', user_code: 'ABCD-EFGH', device_code: 'secret-device-code', interval: 5,
  verification_uri: 'https://idp.example/device', verification_uri_complete: 'https://idp.example/device?user_code=ABCD-EFGH', expires_in: 600,
};

describe('who can log in interactively', () => {
  it('a person at a terminal: stdin and stderr; stdout may be a pipe ($(oidc-auth HOST))', () => {
    assert.equal(decideInteractive(undefined, {}, { stdin: true, stderr: true }).interactive, true);
    assert.deepEqual(decideInteractive(undefined, {}, { stdin: false, stderr: true }), { interactive: false, why: 'stdin is not a terminal' });
    assert.deepEqual(decideInteractive(undefined, {}, { stdin: true, stderr: false }), { interactive: false, why: 'stderr is not a terminal' });
  });

  it('an explicit choice beats every guess: `true` wins over a batch variable and a missing terminal; `false` beats everything', () => {
    assert.equal(decideInteractive(true, { PBS_JOBID: '7' }, { stdin: true, stderr: true }).interactive, true);
    assert.equal(decideInteractive(true, { SLURM_JOB_ID: '7', CI: 'true' }, { stdin: false, stderr: false }).interactive, true);
    assert.equal(decideInteractive(false, {}, { stdin: true, stderr: true }).interactive, false);
  });

  it('without a choice, a scheduler, MPI or CI variable means no person is here, and the message says how to override it', () => {
    for (const name of ['SLURM_JOB_ID', 'PBS_JOBID', 'LSB_JOBID', 'JOB_ID', '_CONDOR_JOB_AD', 'OMPI_COMM_WORLD_SIZE', 'CI']) {
      const decision = decideInteractive(undefined, { [name]: '1' }, { stdin: true, stderr: true });
      assert.equal(decision.interactive, false, name);
      assert.match(decision.why, new RegExp(`${name} is set; pass --interactive`));
    }
    assert.equal(decideInteractive(undefined, { SLURM_JOB_ID: '' }, { stdin: true, stderr: true }).interactive, true, 'an empty variable does not count');
    assert.equal(decideInteractive(undefined, { CI: 'false' }, { stdin: true, stderr: true }).interactive, true, 'CI=false is no CI');
  });

  it('interactive scheduler sessions (srun --pty, qsub -I), notebook and remote-IDE terminals and Kubernetes pods: a terminal decides', () => {
    const sessions: NodeJS.ProcessEnv[] = [
      { SLURM_JOB_ID: '7', SLURM_PTY_PORT: '4242' },
      { PBS_JOBID: '7', PBS_ENVIRONMENT: 'PBS_INTERACTIVE' },
      { JUPYTERHUB_USER: 'alice', JPY_SESSION_NAME: 'x' },
      { VSCODE_IPC_HOOK_CLI: '/tmp/vscode.sock', TERM_PROGRAM: 'vscode' },
      { CODE_SERVER_SESSION_SOCKET: '/tmp/cs.sock' },
      { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_PORT: 'tcp://10.0.0.1:443' },
    ];
    for (const env of sessions) {
      assert.equal(decideInteractive(undefined, env, { stdin: true, stderr: true }).interactive, true, JSON.stringify(env));
      assert.equal(decideInteractive(undefined, env, { stdin: false, stderr: true }).interactive, false, `${JSON.stringify(env)} without a terminal`);
    }
  });
});

describe('terminal output', () => {
  it('colour only on a terminal, without NO_COLOR and TERM=dumb', () => {
    assert.equal(terminalInfo(tty(), {}).color, true);
    assert.equal(terminalInfo(tty(), { NO_COLOR: '1' }).color, false);
    assert.equal(terminalInfo(tty(), { NO_COLOR: '' }).color, true, 'an empty NO_COLOR does not count (no-color.org)');
    assert.equal(terminalInfo(tty(), { TERM: 'dumb' }).color, false);
    assert.deepEqual(terminalInfo(pipe, {}), { isTTY: false, color: false, columns: 80, plain: true });
    for (const env of [{ TERM: 'dumb' }, { NO_COLOR: '1' }, { CI: 'true' }, { ACCESSIBLE: '1' }]) assert.equal(terminalInfo(tty(), env).plain, true, JSON.stringify(env));
    assert.equal(terminalInfo(tty(), {}, { plain: true }).plain, true, '--plain');
    assert.equal(terminalInfo(tty(), {}, { plain: true }).color, false);
    assert.equal(terminalInfo(tty(), { CI: 'false' }).plain, false);
    assert.equal(styles(false).bold('x'), 'x');
    assert.equal(styles(true).bold('x'), '\u001b[1mx\u001b[22m');
  });

  it('the device prompt: plain lines off a terminal; URL, code and QR on one; never the device code', () => {
    const plain = deviceCodeText(code, terminalInfo(pipe, {}), { qr: true });
    assert.equal(plain, 'To log in, open https://idp.example/device and enter the code ABCD-EFGH\n(or open https://idp.example/device?user_code=ABCD-EFGH)\n');
    const rich = deviceCodeText(code, terminalInfo(tty(), {}), { qr: true });
    assert.match(rich, /\u001b\[1m\u001b\[33mABCD-EFGH/);
    assert.match(rich, /scan with a phone/);
    assert.doesNotMatch(deviceCodeText(code, terminalInfo(tty(30), {}), { qr: true }), /scan with a phone/, 'no QR code where it does not fit');
    for (const text of [plain, rich]) assert.ok(!text.includes('secret-device-code'));
  });

  it('qrCode fits or is left out; clock and relative times', () => {
    const art = qrCode('https://idp.example/device?user_code=ABCD-EFGH', 200) ?? '';
    assert.ok(art.split('\n').every((line) => /^[█▀▄ ]+$/.test(line)));
    assert.equal(qrCode('https://idp.example/device?user_code=ABCD-EFGH', 20), undefined);
    assert.deepEqual([clock(125), clock(0.2), clock(-5), clock(3600)], ['2:05', '0:01', '0:00', '60:00']);
    assert.deepEqual(
      [relativeTime(100, 100 + 59), relativeTime(100 + 59.6, 100), relativeTime(3000, 100), relativeTime(3699, 100), relativeTime(100 + 86400 * 3, 100)],
      ['59 s ago', 'in 1 min', 'in 48 min', 'in 1 h', 'in 3 d'],
    );
  });
});
