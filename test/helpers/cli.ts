// Run the oidc-auth CLI (or another script) as a child process with a bare environment.
import { spawn } from 'node:child_process';
import path from 'node:path';

/** The CLI's source entry. */
export const CLI = path.join(import.meta.dirname, '..', '..', 'src', 'cli.ts');

/** A CLI process started by {@link startCli}. */
export interface CliRun {
  /** The exit code and everything it printed, once it ended. */
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  kill(signal: NodeJS.Signals): void;
}

/**
 * Start `script args` with only PATH, HOME and `env` set; `onStderr` sees
 * its error output so far each time more arrives (to act on a prompt).
 */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}, options: { script?: string; onStderr?: (text: string) => void } = {}): CliRun {
  const child = spawn(process.execPath, [options.script ?? CLI, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    options.onStderr?.(stderr);
  });
  return {
    done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))),
    kill: (signal) => child.kill(signal),
  };
}

/** Run `script args` with only PATH, HOME and `env` set; resolves to the exit code and both outputs. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, script = CLI): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return startCli(args, env, { script }).done;
}

/** Run `node script ...args` and resolve to its stdout; a non-zero exit rejects with its stderr. */
export async function nodeScript(script: string, args: string[]): Promise<string> {
  const { code, stdout, stderr } = await runCli(args, {}, script);
  if (code !== 0) throw new Error(`${script} exited ${code}: ${stderr}`);
  return stdout;
}
