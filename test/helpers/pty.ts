// Run a command in a real pseudo-terminal (node-pty): what a person at a
// terminal sees, including colours, redraws and Ctrl-C.
import pty from '@lydell/node-pty';

export interface PtyRun {
  /** Everything written to the terminal so far (stdout and stderr both land here). */
  readonly output: string;
  /** The output without ANSI escapes. */
  readonly text: string;
  /** Resolves once `pattern` shows in the plain text (rejects after `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Type into the terminal (`'\x03'` is Ctrl-C). */
  write(data: string): void;
  /** The exit code (a signal counts as 128 + its number). */
  readonly exited: Promise<number>;
  kill(): void;
}

/** Plain text: no ANSI escapes, `\r\n` as `\n`. */
export const stripAnsi = (text: string) => text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r\n/g, '\n');

const running = new Set<PtyRun>();

/** Kill every terminal program still running (call in afterEach). */
export function killAll(): void {
  for (const run of running) run.kill();
  running.clear();
}

export function spawnPty(file: string, args: string[], env: NodeJS.ProcessEnv, columns = 100): PtyRun {
  const child = pty.spawn(file, args, { name: 'xterm-256color', cols: columns, rows: 40, env: env as Record<string, string> });
  let output = '';
  const listeners = new Set<() => void>();
  child.onData((data) => {
    output += data;
    for (const listener of listeners) listener();
  });
  const exited = new Promise<number>((resolve) => child.onExit(({ exitCode, signal }) => resolve(signal ? 128 + signal : exitCode)));
  const run: PtyRun = {
    get output() {
      return output;
    },
    get text() {
      return stripAnsi(output);
    },
    waitFor(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(stripAnsi(output));
          if (!match) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(match);
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`${pattern} did not appear within ${timeoutMs} ms; the terminal shows:\n${stripAnsi(output)}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    write: (data) => child.write(data),
    exited,
    kill: () => child.kill(),
  };
  running.add(run);
  void exited.then(() => running.delete(run));
  return run;
}
