// The agent under load and at size: 100 concurrent clients x 10 requests
// (p50, p99, errors), and the agent process's memory with 1, 100 and 1,000
// logins held fresh (each size in a process of its own, run with --expose-gc).
// Run: node bench/agent-load.ts
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { askAgent } from '../src/adapters/agent/client.ts';
import { startAgent } from '../src/api/agent.ts';
import { TokenStore } from '../src/index.ts';
import { testToken } from '../test/fixtures/token.ts';
import { percentile, settledMemory } from './lib.ts';

/** A store file with `logins` valid logins (one per server). */
function storeOf(dir: string, logins: number): string {
  const file = path.join(dir, 'token-store.json');
  const now = Math.floor(Date.now() / 1000);
  const entries = Object.fromEntries(Array.from({ length: logins }, (_, i) => [`https://app-${i}.example`, { token: testToken(`bench-token-${i}`, { refreshToken: `bench-refresh-${i}` }), stored_at: now }]));
  fs.writeFileSync(file, JSON.stringify(entries), { mode: 0o600 });
  return file;
}

export interface AgentLoad { clients: number; requests: number; p50: number; p99: number; errors: number; wallMs: number }

/** `clients` at once against the socket, each asking `each` times in a row (in the process that calls it). */
async function load(socketPath: string, clients: number, each: number): Promise<AgentLoad> {
  const times: number[] = [];
  let errors = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    for (let i = 0; i < each; i += 1) {
      const t0 = performance.now();
      const answer = await askAgent(socketPath, { request: 'access_token', host: 'https://app-0.example' }).catch(() => undefined);
      times.push(performance.now() - t0);
      if (answer?.status !== 'success') errors += 1;
    }
  }));
  return { clients, requests: clients * each, p50: percentile(times, 50), p99: percentile(times, 99), errors, wallMs: performance.now() - started };
}

/** 100 clients at once, each asking 10 times in a row, from a process of their own (the agent runs here, as it would on its own). */
export async function benchAgentLoad(clients = 100, each = 10): Promise<AgentLoad> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-agent-load-'));
  fs.chmodSync(dir, 0o700);
  const agent = await startAgent({ store: new TokenStore({ path: storeOf(dir, 1) }), socketPath: path.join(dir, 'run', 'agent.sock') });
  try {
    const output = await new Promise<string>((resolve, reject) => execFile(process.execPath, [import.meta.filename, '--clients', agent.socketPath, String(clients), String(each)], (error, stdout) => (error ? reject(error) : resolve(stdout))));
    return JSON.parse(output) as AgentLoad;
  } finally {
    await agent.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** One size, in this process: heap and RSS growth once the agent holds `logins` logins fresh. */
async function measureSize(logins: number): Promise<{ logins: number; heapKiB: number; rssKiB: number }> {
  const settle = settledMemory;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-agent-size-'));
  fs.chmodSync(dir, 0o700);
  const file = storeOf(dir, logins);
  const before = await settle();
  const agent = await startAgent({ store: new TokenStore({ path: file }), socketPath: path.join(dir, 'run', 'agent.sock') });
  const answer = await askAgent(agent.socketPath, { request: 'status' });
  const held = answer.status === 'other' ? (answer.fields.logins as unknown[]).length : 0;
  if (held !== logins) throw new Error(`the agent holds ${held} logins, not ${logins}`);
  const after = await settle();
  await agent.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  return { logins, heapKiB: (after.heapUsed - before.heapUsed) / 1024, rssKiB: (after.rss - before.rss) / 1024 };
}

/** Each size in a fresh process. */
export function benchAgentMemory(sizes = [1, 100, 1000]): Array<{ logins: number; heapKiB: number; rssKiB: number }> {
  return sizes.map((size) => JSON.parse(execFileSync(process.execPath, ['--expose-gc', import.meta.filename, '--size', String(size)], { encoding: 'utf8' })) as { logins: number; heapKiB: number; rssKiB: number });
}

if (import.meta.main) {
  const size = process.argv.indexOf('--size');
  const clientsAt = process.argv.indexOf('--clients');
  if (clientsAt > 0) {
    console.log(JSON.stringify(await load(process.argv[clientsAt + 1] ?? '', Number(process.argv[clientsAt + 2]), Number(process.argv[clientsAt + 3]))));
  } else if (size > 0) {
    console.log(JSON.stringify(await measureSize(Number(process.argv[size + 1]))));
  } else {
    const load = await benchAgentLoad();
    console.log(`agent: ${load.clients} clients x ${load.requests / load.clients} requests: p50 ${load.p50.toFixed(2)} ms, p99 ${load.p99.toFixed(2)} ms, ${load.errors} errors, ${load.wallMs.toFixed(0)} ms in all (goal: p99 <= 10 ms, 0 errors)`);
    for (const row of benchAgentMemory()) console.log(`agent memory with ${row.logins} logins held fresh: heap +${row.heapKiB.toFixed(0)} KiB, RSS +${row.rssKiB.toFixed(0)} KiB`);
  }
}
