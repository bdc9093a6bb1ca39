// Run the oidc-auth CLI (or another script) as a child process with a bare environment.
import { spawn } from 'node:child_process';
import path from 'node:path';

/** The CLI's source entry. */
export const CLI = path.join(import.meta.dirname, '..', '..', 'src', 'cli.ts');

/** A CLI process started by {@link startCli}. */
export interface CliRun {
  /** The exit code and everything it printed, once it ended. */
  done: Promise<{ code: number | null; stdout: string; stderr: string; signal?: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

/**
 * Start `script args` with only PATH, HOME and `env` set; `onStderr` sees
 * its error output so far each time more arrives (to act on a prompt);
 * `stdin`, when given, is written to its standard input.
 */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}, options: { script?: string; onStderr?: (text: string) => void; stdin?: string } = {}): CliRun {
  const child = spawn(process.execPath, [options.script ?? CLI, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(options.stdin ?? ''); // Without input: an empty stdin, as from /dev/null.
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    options.onStderr?.(stderr);
  });
  return {
    done: new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, stdout, stderr, signal }))),
    kill: (signal) => child.kill(signal),
  };
}

/** Run `script args` with only PATH, HOME and `env` set; resolves to the exit code and both outputs. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, script = CLI): CliRun["done"] {
  return startCli(args, env, { script }).done;
}

/** Run `node script ...args` and resolve to its stdout; a non-zero exit rejects with its stderr. */
export async function nodeScript(script: string, args: string[]): Promise<string> {
  const { code, stdout, stderr } = await runCli(args, {}, script);
  if (code !== 0) throw new Error(`${script} exited ${code}: ${stderr}`);
  return stdout;
}
