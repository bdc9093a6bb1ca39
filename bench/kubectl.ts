// kubectl with our exec credential plugin and a cached token, against the
// same command with a static token in the kubeconfig: median wall time of
// `kubectl get --raw /api` over runs interleaved in one run, against an
// HTTPS loopback API endpoint. Run: node bench/kubectl.ts [runs] (after npm run build)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeCa } from '../test/fixtures/network.ts';
import { startKubeApi } from '../test/fixtures/tools.ts';
import { interleavedMediansAsync, root, storeWithValidToken } from './lib.ts';

export interface KubectlResult { runs: number; pluginMs: number; staticMs: number; ratio: number }

export async function benchKubectl(runs = 20): Promise<KubectlResult> {
  const host = 'https://bench.example';
  const store = storeWithValidToken(host);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-auth-kubectl-'));
  const ca = makeCa(path.join(dir, 'ca'));
  const api = await startKubeApi(ca.issue('127.0.0.1', ['127.0.0.1']), async (token) => token === 'bench-access-token');
  const cluster = ['apiVersion: v1', 'kind: Config', 'clusters:', '- name: b', '  cluster:', `    server: ${api.server}`, `    certificate-authority: ${ca.caFile}`,
    'contexts:', '- name: b', '  context:', '    cluster: b', '    user: u', 'current-context: b', 'users:', '- name: u', '  user:'];
  const plugin = path.join(dir, 'plugin.yaml');
  fs.writeFileSync(plugin, [...cluster, '    exec:', '      apiVersion: client.authentication.k8s.io/v1', `      command: ${JSON.stringify(process.execPath)}`, '      args:',
    ...[path.join(root, 'dist', 'cli.js'), 'credential', 'kubernetes', host, '--store', store.path].map((arg) => `      - ${JSON.stringify(arg)}`), '      interactiveMode: Never', ''].join('\n'));
  const fixed = path.join(dir, 'static.yaml');
  fs.writeFileSync(fixed, [...cluster, '    token: bench-access-token', ''].join('\n'));
  const base = { PATH: process.env.PATH, HOME: dir };
  const kubectl = (env: NodeJS.ProcessEnv) => ({ file: 'kubectl', args: ['get', '--raw', '/api'], env });
  let medians: Record<string, number>;
  try {
    medians = await interleavedMediansAsync({ plugin: kubectl({ ...base, KUBECONFIG: plugin }), fixed: kubectl({ ...base, KUBECONFIG: fixed }) }, runs);
  } finally {
    await api.close();
    store.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const pluginMs = medians.plugin ?? Number.NaN;
  const staticMs = medians.fixed ?? Number.NaN;
  return { runs, pluginMs, staticMs, ratio: pluginMs / staticMs };
}

if (import.meta.main) {
  const result = await benchKubectl(Number(process.argv[2] ?? 20));
  console.log(`kubectl get --raw /api: ${result.pluginMs.toFixed(1)} ms with oidc-auth's exec plugin (cached token) vs ${result.staticMs.toFixed(1)} ms with a static token (${result.ratio.toFixed(2)}x; +${(result.pluginMs - result.staticMs).toFixed(1)} ms; median of ${result.runs} interleaved runs)`);
}
