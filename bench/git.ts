// git with our credential helper and a cached token, against the same
// command with a stored password (git's `store` helper): median wall time of
// `git ls-remote` over runs interleaved in one run, against `git http-backend`
// behind a loopback proxy that takes only the token as the password.
// Run: node bench/git.ts [runs] (after npm run build)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bareRepository, startGitServer } from '../test/fixtures/tools.ts';
import { interleavedMediansAsync, root, storeWithValidToken } from './lib.ts';

export interface GitResult { runs: number; helperMs: number; storedMs: number; ratio: number }

export async function benchGit(runs = 20): Promise<GitResult> {
  const host = 'https://bench.example';
  const store = storeWithValidToken(host);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-auth-git-'));
  bareRepository(path.join(dir, 'repos'), 'project.git');
  const server = await startGitServer(path.join(dir, 'repos'), async (token) => token === 'bench-access-token');
  const url = `${server.url}/project.git`;
  const base = { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };
  const helper = path.join(dir, 'helper.gitconfig');
  fs.writeFileSync(helper, `[credential "${server.url}"]\n\thelper =\n\thelper = "!'${process.execPath}' '${path.join(root, 'dist', 'cli.js')}' credential git ${host} --store '${store.path}'"\n`);
  const stored = path.join(dir, 'stored.gitconfig');
  const credentials = path.join(dir, 'git-credentials');
  fs.writeFileSync(credentials, `http://oauth2:bench-access-token@${new URL(server.url).host}\n`, { mode: 0o600 });
  fs.writeFileSync(stored, `[credential]\n\thelper = store --file '${credentials}'\n`);
  const lsRemote = (config: string) => ({ file: 'git', args: ['ls-remote', url], env: { ...base, GIT_CONFIG_GLOBAL: config }, cwd: dir });
  let medians: Record<string, number>;
  try {
    medians = await interleavedMediansAsync({ helper: lsRemote(helper), stored: lsRemote(stored) }, runs);
  } finally {
    await server.close();
    store.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const helperMs = medians.helper ?? Number.NaN;
  const storedMs = medians.stored ?? Number.NaN;
  return { runs, helperMs, storedMs, ratio: helperMs / storedMs };
}

if (import.meta.main) {
  const r = await benchGit(Number(process.argv[2] ?? 20));
  console.log(`git ls-remote: ${r.helperMs.toFixed(1)} ms with oidc-auth's credential helper (cached token) vs ${r.storedMs.toFixed(1)} ms with a stored password (${r.ratio.toFixed(2)}x; median of ${r.runs} interleaved runs)`);
}
