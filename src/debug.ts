// What happens, step by step, for --verbose, OIDC_AUTH_DEBUG=1 and the
// library's `logger` option: each state, each HTTP exchange (method, URL
// without its query, status, time), lock waits, which token was used and
// why. Never a secret: lines are built from states, URLs without queries and
// numbers, and every line is passed through the redactor once more.
import { redactText } from './errors.ts';
import { printable } from './errors.ts';

/** Where debug lines go. */
export type DebugLogger = (line: string) => void;

let logger: DebugLogger | undefined;
let fromEnvironment: DebugLogger | null | undefined;

/** Send debug lines to `sink` (process-wide; the last one set wins), or stop with `undefined`. */
export function setDebugLogger(sink: DebugLogger | undefined): void {
  logger = sink;
}

function active(): DebugLogger | undefined {
  if (logger) return logger;
  if (fromEnvironment === undefined) {
    const value = process.env.OIDC_AUTH_DEBUG;
    fromEnvironment = value !== undefined && value !== '' && value !== '0' ? (line) => void process.stderr.write(`oidc-auth: ${line}\n`) : null;
  }
  return fromEnvironment ?? undefined;
}

/** Whether anyone listens (so that a line is only built when it is wanted). */
export function debugging(): boolean {
  return active() !== undefined;
}

/** Log one line, built only when someone listens. */
export function debug(line: () => string): void {
  const sink = active();
  if (!sink) return;
  try {
    sink(printable(redactText(line())));
  } catch {
    // A logger that throws must not break a login.
  }
}

/** A URL for a log line: no query, no fragment, no credentials. */
export function logUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(a URL)';
  }
}
