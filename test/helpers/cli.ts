// Run the oidc-auth CLI (or another script) as a child process with a bare environment.
import { spawn } from 'node:child_process';
import path from 'node:path';

/** The CLI's source entry. */
export const CLI = path.join(import.meta.dirname, '..', '..', 'src', 'cli.ts');

/** Run `script args` with only PATH, HOME and `env` set; resolves to the exit code and both outputs. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, script = CLI): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Run `node script ...args` and resolve to its stdout; a non-zero exit rejects with its stderr. */
export async function nodeScript(script: string, args: string[]): Promise<string> {
  const { code, stdout, stderr } = await runCli(args, {}, script);
  if (code !== 0) throw new Error(`${script} exited ${code}: ${stderr}`);
  return stdout;
}
