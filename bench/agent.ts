// A token served by the agent: the library's round trip (p50, p99), the CLI
// through the agent, and Debian's oidc-token against the same agent, with
// `node -e 0` for scale; medians of runs interleaved in one run.
// Run: node bench/agent.ts [runs] (after npm run build)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAgent } from '../src/api/agent.ts';
import { authenticate, TokenStore } from '../src/index.ts';
import { interleavedMediansAsync, percentile, root, storeWithValidToken } from './lib.ts';

export interface AgentBench { libraryP50: number; libraryP99: number; cliMs: number; nodeMs: number; oidcTokenMs?: number | undefined; runs: number }

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
    const medians = await interleavedMediansAsync({
      node: { file: process.execPath, args: ['-e', '0'], env },
      cli: { file: process.execPath, args: [path.join(root, 'dist', 'cli.js'), host], env },
      ...(hasOidcToken ? { oidcToken: { file: '/usr/bin/oidc-token', args: [host], env } } : {}),
    }, runs);
    return {
      libraryP50: percentile(library, 50), libraryP99: percentile(library, 99), cliMs: medians.cli ?? Number.NaN, nodeMs: medians.node ?? Number.NaN,
      oidcTokenMs: medians.oidcToken, runs,
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
