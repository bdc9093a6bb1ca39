// A token served by the agent: the library's round trip (p50, p99), the CLI
// through the agent, and Debian's oidc-token against the same agent, with
// `node -e 0` for scale; medians of runs interleaved in one run.
// Run: node bench/agent.ts [runs] (after npm run build)
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAgent } from '../src/api/agent.ts';
import { authenticate, TokenStore } from '../src/index.ts';
import { percentile, root, storeWithValidToken } from './lib.ts';

export interface AgentBench { libraryP50: number; libraryP99: number; cliMs: number; nodeMs: number; oidcTokenMs?: number | undefined; runs: number }

function timed(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => execFile(file, args, { env }, (error) => (error ? reject(error) : resolve(performance.now() - started))));
}

export async function benchAgent(runs = 20): Promise<AgentBench> {
  const host = 'https://bench.example';
  const stored = storeWithValidToken(host);
  const runtime = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-agent-bench-'));
  fs.chmodSync(runtime, 0o700);
  const agent = await startAgent({ store: new TokenStore({ path: stored.path }), socketPath: path.join(runtime, 'oidc-auth', 'agent.sock') });
  try {
    const library: number[] = [];
    for (let i = 0; i < 1000; i += 1) {
      const started = performance.now();
      await authenticate({ host, agent: agent.socketPath, interactive: false });
      library.push(performance.now() - started);
    }
    const env = { PATH: process.env.PATH, HOME: runtime, OIDC_AUTH_SOCK: agent.socketPath, OIDC_SOCK: agent.socketPath };
    const hasOidcToken = fs.existsSync('/usr/bin/oidc-token');
    const times = { cli: [] as number[], node: [] as number[], oidcToken: [] as number[] };
    for (let run = 0; run < runs; run += 1) {
      times.node.push(await timed(process.execPath, ['-e', '0'], env));
      times.cli.push(await timed(process.execPath, [path.join(root, 'dist', 'cli.js'), host], env));
      if (hasOidcToken) times.oidcToken.push(await timed('/usr/bin/oidc-token', [host], env));
    }
    return {
      libraryP50: percentile(library, 50), libraryP99: percentile(library, 99), cliMs: percentile(times.cli, 50), nodeMs: percentile(times.node, 50),
      oidcTokenMs: hasOidcToken ? percentile(times.oidcToken, 50) : undefined, runs,
    };
  } finally {
    await agent.stop();
    stored.cleanup();
    fs.rmSync(runtime, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const r = await benchAgent(Number(process.argv[2] ?? 20));
  console.log(`agent: library round trip p50 ${r.libraryP50.toFixed(3)} ms, p99 ${r.libraryP99.toFixed(3)} ms (1,000 calls); oidc-auth HOST through the agent ${r.cliMs.toFixed(1)} ms vs node -e 0 ${r.nodeMs.toFixed(1)} ms (${(r.cliMs / r.nodeMs).toFixed(2)}x)` +
    `${r.oidcTokenMs === undefined ? '' : `; oidc-token ${r.oidcTokenMs.toFixed(1)} ms`} (medians of ${r.runs} interleaved)`);
}
