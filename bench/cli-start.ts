// CLI start with a valid cached token: median wall time of
// `oidc-auth <host> --json` over `node -e 0` on the same Node (goal: <= 2x).
// Run: node bench/cli-start.ts [runs]
import path from 'node:path';
import { interleavedMedians, root, storeWithValidToken } from './lib.ts';

export interface CliStartResult {
  runs: number;
  nodeMs: number;
  cliMs: number;
  ratio: number;
  /** `oidc-auth --version` (the fast path, like `--help`). */
  versionMs: number;
  versionRatio: number;
}

export function benchCliStart(runs = 40): CliStartResult {
  const host = 'https://bench.example';
  const store = storeWithValidToken(host);
  try {
    const medians = interleavedMedians({
      node: ['-e', '0'],
      cli: [path.join(root, 'dist', 'cli.js'), host, '--json', '--store', store.path],
      version: [path.join(root, 'dist', 'cli.js'), '--version'],
    }, runs);
    const nodeMs = medians.node ?? Number.NaN;
    const cliMs = medians.cli ?? Number.NaN;
    const versionMs = medians.version ?? Number.NaN;
    return { runs, nodeMs, cliMs, ratio: cliMs / nodeMs, versionMs, versionRatio: versionMs / nodeMs };
  } finally {
    store.cleanup();
  }
}

if (import.meta.main) {
  const result = benchCliStart(Number(process.argv[2] ?? 40));
  console.log(`node -e 0: ${result.nodeMs.toFixed(1)} ms; oidc-auth HOST --json (cached): ${result.cliMs.toFixed(1)} ms; ratio ${result.ratio.toFixed(2)}x; --version ${result.versionMs.toFixed(1)} ms (${result.versionRatio.toFixed(2)}x) over ${result.runs} interleaved runs (goal <= 2x)`);
}
