// What the person sees on stderr: colours only on a terminal without
// NO_COLOR, a QR code of the device URL, and a spinner with the time left.
import { renderUnicodeCompact } from 'uqr';
import { sshHint } from '../host/presenter.ts';
import type { DeviceCode } from '../types.ts';

/** What the output stream can do. */
export interface TerminalInfo {
  /** A terminal: prompts may redraw (spinner). */
  isTTY: boolean;
  /** ANSI colours allowed: a terminal, `NO_COLOR` unset or empty, `TERM` not `dumb`. */
  color: boolean;
  /** Width in columns (80 when unknown). */
  columns: number;
  /**
   * One line per event, nothing redrawn, no QR code, a countdown every 30 s:
   * for screen readers and log files. `--plain`, or no terminal, `TERM=dumb`,
   * `NO_COLOR`, `CI` or `ACCESSIBLE` set.
   */
  plain: boolean;
}

/** Seconds between countdown lines in plain mode. */
export const PLAIN_COUNTDOWN_SECONDS = 30;

/** Read what `stream` can do, honouring `NO_COLOR` (https://no-color.org), `TERM=dumb`, `CI`, `ACCESSIBLE` and `--plain`. */
export function terminalInfo(stream: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env, options: { plain?: boolean | undefined } = {}): TerminalInfo {
  const tty = stream as NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  const isTTY = tty.isTTY === true;
  const set = (name: string) => env[name] !== undefined && env[name] !== '';
  const noColor = set('NO_COLOR');
  const plain = options.plain === true || !isTTY || env.TERM === 'dumb' || noColor || (set('CI') && env.CI !== 'false') || set('ACCESSIBLE');
  return { isTTY, color: isTTY && !noColor && env.TERM !== 'dumb' && !plain, columns: tty.columns ?? 80, plain };
}

/** ANSI styles that collapse to plain text when colour is off. */
export function styles(color: boolean) {
  const wrap = (open: number, close: number) => (text: string) => (color ? `\u001b[${open}m${text}\u001b[${close}m` : text);
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    underline: wrap(4, 24),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
  };
}

/** The QR code of `text` in half-block characters, or `undefined` when it would not fit in `columns`. */
export function qrCode(text: string, columns: number): string | undefined {
  const art = renderUnicodeCompact(text);
  const width = art.split('\n')[0]?.length ?? 0;
  return width + 4 <= columns ? art : undefined;
}

/** The device-login prompt: URL and code stand out; the QR code (phones) when asked and it fits. */
export function deviceCodeText(code: DeviceCode, info: TerminalInfo, options: { qr: boolean }): string {
  const s = styles(info.color);
  if (info.plain) {
    return `To log in, open ${code.verification_uri} and enter the code ${code.user_code}` +
      (code.verification_uri_complete ? `\n(or open ${code.verification_uri_complete})` : '') + '\n';
  }
  const lines = [
    '',
    `  ${s.bold('To log in, open')}  ${s.cyan(s.underline(code.verification_uri))}`,
    `  ${s.bold('and enter code')}   ${s.bold(s.yellow(code.user_code))}`,
  ];
  if (code.verification_uri_complete) lines.push(`  ${s.dim('or open directly')} ${s.underline(code.verification_uri_complete)}`);
  const art = options.qr ? qrCode(code.uri, info.columns) : undefined;
  if (art) lines.push('', `  ${s.dim('or scan with a phone:')}`, art.replace(/^/gm, '  '));
  lines.push('');
  return `${lines.join('\n')}\n`;
}

/** The code-flow prompt: the login URL and the SSH port-forward hint. */
export function loginUrlText(url: string, redirectUri: string, info: TerminalInfo): string {
  const s = styles(info.color);
  return `${s.bold('To log in, open this URL in a browser:')}\n  ${s.cyan(s.underline(url))}\n${s.dim(sshHint(redirectUri))}\n`;
}

/** `125` -> `2:05`. */
export function clock(totalSeconds: number): string {
  const seconds = Math.max(0, Math.ceil(totalSeconds));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * One line that redraws itself on a terminal: a spinner, a label and the
 * time left. In plain mode it writes a new line with the time left every
 * 30 s instead (screen readers, log files).
 */
export class Spinner {
  readonly #stream: NodeJS.WritableStream;
  readonly #info: TerminalInfo;
  #timer: NodeJS.Timeout | undefined;
  #frame = 0;
  #plainLine = false;

  constructor(stream: NodeJS.WritableStream, info: TerminalInfo) {
    this.#stream = stream;
    this.#info = info;
  }

  /** Start (or restart) with `label`, counting down to `deadline` (ms since the epoch). */
  start(label: string, deadline: number): void {
    this.stop();
    if (this.#info.plain) {
      const say = () => this.#stream.write(`${label}: ${clock((deadline - Date.now()) / 1000)} left (Ctrl-C to cancel)\n`);
      say();
      this.#timer = setInterval(say, PLAIN_COUNTDOWN_SECONDS * 1000);
      this.#timer.unref();
      this.#plainLine = true;
      return;
    }
    const s = styles(this.#info.color);
    const draw = () => {
      const frame = FRAMES[this.#frame++ % FRAMES.length] ?? '';
      const left = clock((deadline - Date.now()) / 1000);
      this.#stream.write(`\r\u001b[2K${s.cyan(frame)} ${label} ${s.dim(`(${left} left, Ctrl-C to cancel)`)}`);
    };
    draw();
    this.#timer = setInterval(draw, 100);
    this.#timer.unref();
  }

  /** Stop and erase the line. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#plainLine) this.#plainLine = false; // Nothing to erase: lines stay.
    else this.#stream.write('\r\u001b[2K');
  }
}

/** `now` -> "in 59 min", "3 h ago", ... */
export function relativeTime(target: number, now: number): string {
  const delta = target - now;
  const size = Math.abs(delta);
  const minutes = Math.round(size / 60);
  const hours = Math.round(size / 3600);
  const text = size < 59.5 ? `${Math.round(size)} s` : minutes < 60 ? `${minutes} min` : hours < 48 ? `${hours} h` : `${Math.round(size / 86400)} d`;
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}
