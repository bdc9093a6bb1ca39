// How costs grow with the number of logins in one store file (1, 100, 1,000,
// 10,000 servers x accounts), each size measured side by side in one run:
// - a cached authenticate() against one fs.statSync of that file;
// - the first authenticate() after another process rewrote the file (a read
//   and parse of the whole file);
// - a refresh through authenticate() against its floor at that size: a bare
//   Client refresh + one durable atomic write of a file that size
//   (temporary file, fsync, rename) + one lock take and release.
// Run: node bench/growth.ts [sizes...]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { authenticate, Client, DeviceFlow, TokenStore, type Token } from '../src/index.ts';
import { acquireFileLock } from '../src/adapters/store/lock.ts';
import { writeOwnFileAtomic } from '../src/adapters/store/safe-file.ts';
import { providerKey } from '../src/protocol/store-key.ts';
import { testToken } from '../test/fixtures/token.ts';
import { percentile } from './lib.ts';

export interface GrowthRow {
  logins: number;
  fileKiB: number;
  cachedUs: number;
  statUs: number;
  firstReadMs: number;
  refreshMs: number;
  floorMs: number;
  parts: { bareRefreshMs: number; writeMs: number; lockMs: number };
}

function median(run: () => void, times: number): number {
  const samples: number[] = [];
  for (let i = 0; i < times; i += 1) {
    const t0 = performance.now();
    run();
    samples.push(performance.now() - t0);
  }
  return percentile(samples, 50);
}

export async function benchGrowth(sizes = [1, 100, 1000, 10_000]): Promise<GrowthRow[]> {
  const { startProvider } = await import('../test/providers/engine.ts');
  const { keycloak } = await import('../test/providers/keycloak.ts');
  const provider = await startProvider(keycloak);
  const client = await Client.discover(provider.issuer, 'cli', { skipIdTokenValidation: true });
  const key = providerKey(provider.issuer, 'cli', ['openid', 'offline_access']);
  const rows: GrowthRow[] = [];
  let seeds = 0;
  const seed = () => {
    const name = `rt-${(seeds += 1)}`;
    provider.liveRefreshTokens.add(name);
    return name;
  };
  try {
    for (const logins of sizes) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-bench-growth-'));
      const file = path.join(dir, 'token-store.json');
      const now = Math.floor(Date.now() / 1000);
      // logins - 1 other servers and accounts, and the provider login the calls use.
      const entries: Record<string, unknown> = {};
      for (let i = 0; i < logins - 1; i += 1) entries[`https://app-${i % 1000}.example${i >= 1000 ? `#account=a${Math.floor(i / 1000)}` : ''}`] = { token: testToken(`access-${i}`), stored_at: now, version: 1 };
      entries[key] = { token: { ...testToken('access-main'), refresh_token: seed() }, stored_at: now, version: 1 };
      const text = `${JSON.stringify(entries, undefined, 2)}\n`;
      fs.writeFileSync(file, text, { mode: 0o600 });
      const store = new TokenStore({ path: file, onWarning: () => {} });
      const options = { issuer: provider.issuer, clientId: 'cli', store, interactive: false };

      await authenticate(options); // held from here on
      const statUs = median(() => fs.statSync(file), 2000) * 1000;
      for (let i = 0; i < 200; i += 1) await authenticate(options);
      const cachedSamples: number[] = [];
      for (let i = 0; i < 2000; i += 1) {
        const t0 = performance.now();
        await authenticate(options);
        cachedSamples.push(performance.now() - t0);
      }

      // Another process's write: a new file (new inode) with the same content.
      const firstReads: number[] = [];
      for (let i = 0; i < 20; i += 1) {
        writeOwnFileAtomic(`${file}.other`, fs.readFileSync(file, 'utf8'), 'bench');
        fs.renameSync(`${file}.other`, file);
        const t0 = performance.now();
        await authenticate(options);
        firstReads.push(performance.now() - t0);
      }

      // Refresh through authenticate() against its floor, interleaved.
      const refreshes: number[] = [];
      const floors: number[] = [];
      const parts = { bare: [] as number[], write: [] as number[], lock: [] as number[] };
      let bareRt = seed();
      const rounds = logins >= 10_000 ? 10 : 30;
      for (let i = 0; i < rounds; i += 1) {
        const stored = store.get(key) as Token;
        await store.put(key, { ...stored, expires: Math.floor(Date.now() / 1000) - 10 });
        let t0 = performance.now();
        await authenticate(options);
        refreshes.push(performance.now() - t0);

        t0 = performance.now();
        const lease = await acquireFileLock(`${file}.bench.lock`);
        const t1 = performance.now();
        const answer = await client.obtainTokenByRefreshToken(bareRt);
        const t2 = performance.now();
        writeOwnFileAtomic(`${file}.floor`, fs.readFileSync(file, 'utf8'), 'bench');
        const t3 = performance.now();
        lease.release();
        const t4 = performance.now();
        floors.push(t4 - t0);
        parts.lock.push(t1 - t0 + (t4 - t3));
        parts.bare.push(t2 - t1);
        parts.write.push(t3 - t2);
        bareRt = answer.refresh_token ?? bareRt;
      }
      rows.push({
        logins,
        fileKiB: Buffer.byteLength(text) / 1024,
        cachedUs: percentile(cachedSamples, 50) * 1000,
        statUs,
        firstReadMs: percentile(firstReads, 50),
        refreshMs: percentile(refreshes, 50),
        floorMs: percentile(floors, 50),
        parts: { bareRefreshMs: percentile(parts.bare, 50), writeMs: percentile(parts.write, 50), lockMs: percentile(parts.lock, 50) },
      });
      DeviceFlow.resetInstances();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await provider.close();
  }
  return rows;
}

if (import.meta.main) {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  const rows = await benchGrowth(sizes.length > 0 ? sizes : undefined);
  console.log('logins | file | cached / stat | first read after a write | refresh / floor (bare refresh + write + lock)');
  for (const r of rows) {
    console.log(`${r.logins} | ${r.fileKiB.toFixed(0)} KiB | ${(r.cachedUs / r.statUs).toFixed(1)}x (${r.cachedUs.toFixed(2)} vs ${r.statUs.toFixed(2)} us) | ${r.firstReadMs.toFixed(2)} ms | ` +
      `${(r.refreshMs / r.floorMs).toFixed(2)}x (${r.refreshMs.toFixed(2)} vs ${r.floorMs.toFixed(2)} ms = ${r.parts.bareRefreshMs.toFixed(2)} + ${r.parts.writeMs.toFixed(2)} + ${r.parts.lockMs.toFixed(2)})`);
  }
}
