// Heap per host actor with 1,000 hosts, and after resetInstances(). Run with --expose-gc.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeviceFlow, TokenStore } from '../src/index.ts';
import { settledMemory } from './lib.ts';

const settle = async () => (await settledMemory()).heapUsed;
const HOSTS = 1000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-bench-mem-'));
const store = new TokenStore({ path: path.join(dir, 'token-store.json') });
// Warm up the code paths once so that compiled code is not counted as per-host heap.
new DeviceFlow('https://warmup.example', { store }).subscribe(() => {}).unsubscribe();
DeviceFlow.resetInstances();
const baseline = await settle();
/** Make 1,000 subscribed flows, measure, drop them and reset; resolves to [loaded, after]. */
async function cycle(): Promise<[number, number]> {
  const flows = Array.from({ length: HOSTS }, (_, i) => new DeviceFlow(`https://host-${i}.example`, { store }));
  const subscriptions = flows.map((flow) => flow.subscribe(() => {}));
  const loaded = await settle();
  for (const subscription of subscriptions) subscription.unsubscribe();
  subscriptions.length = 0;
  flows.length = 0;
  DeviceFlow.resetInstances();
  return [loaded, await settle()];
}
const [loaded, after] = await cycle();
await cycle();
const [, afterThird] = await cycle();
fs.rmSync(dir, { recursive: true, force: true });
// What stays after the first cycle is one-off (compiled code, caches); a leak would grow with every cycle.
process.stdout.write(JSON.stringify({ hosts: HOSTS, baseline, loaded, after, afterThird, perActorBytes: (loaded - baseline) / HOSTS, leakBytes: after - baseline, growthPerCycleBytes: (afterThird - after) / 2 }));
