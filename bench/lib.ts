// Shared helpers for the benchmarks: timing child processes, percentiles, a temporary store.
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testToken } from '../test/fixtures/token.ts';

export const root = path.join(import.meta.dirname, '..');

/** The `p`-th percentile (0..100) of `values` (nearest rank). */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** Wall time in ms of one run of `node ...args`; throws when it fails. */
export function timeNode(args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr.toString()}`);
  return elapsed;
}

/**
 * Median wall times of several commands, interleaved run by run so that
 * machine noise hits all of them alike.
 */
export function interleavedMedians(commands: Record<string, string[]>, runs: number, env?: NodeJS.ProcessEnv): Record<string, number> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((name) => [name, []]));
  for (const args of Object.values(commands)) timeNode(args, env); // warm the file cache
  for (let run = 0; run < runs; run += 1) {
    for (const [name, args] of Object.entries(commands)) times[name]?.push(timeNode(args, env));
  }
  return Object.fromEntries(Object.entries(times).map(([name, values]) => [name, percentile(values, 50)]));
}

/** One program to time without blocking this process (the servers it talks to may run here). */
export interface TimedCommand {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string | undefined;
}

/** Wall time in ms of one run of `command`; rejects when it fails. */
export function timeCommand(command: TimedCommand): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => execFile(command.file, command.args, { env: command.env, cwd: command.cwd }, (error, _stdout, stderr) => (
    error ? reject(new Error(`${command.file} ${command.args.join(' ')} failed: ${error.message} ${stderr}`)) : resolve(performance.now() - started)
  )));
}

/** {@link interleavedMedians} for any programs, run asynchronously: one warm-up run each, then `runs` interleaved. */
export async function interleavedMediansAsync(commands: Record<string, TimedCommand>, runs: number): Promise<Record<string, number>> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((name) => [name, []]));
  for (const command of Object.values(commands)) await timeCommand(command);
  for (let run = 0; run < runs; run += 1) {
    for (const [name, command] of Object.entries(commands)) times[name]?.push(await timeCommand(command));
  }
  return Object.fromEntries(Object.entries(times).map(([name, values]) => [name, percentile(values, 50)]));
}

/** A store file in a fresh temporary folder holding one valid token for `host`. */
export function storeWithValidToken(host: string): { path: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-auth-bench-'));
  const file = path.join(dir, 'token-store.json');
  const now = Math.floor(Date.now() / 1000);
  const token = testToken('bench-access-token', { refreshToken: 'bench-refresh-token' });
  fs.writeFileSync(file, JSON.stringify({ [host]: { token, stored_at: now } }), { mode: 0o600 });
  return { path: file, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Memory once garbage is collected (five rounds with a pause): the process must run with --expose-gc. */
export async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 5; i += 1) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return process.memoryUsage();
}
