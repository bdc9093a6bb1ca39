// Refresh is one transaction across processes: 16 processes x 50 calls
// against one store and a real oidc-provider that rotates refresh tokens
// (each can be spent once) and issues access tokens valid for 2 s beyond
// the 60 s margin. Figures go to stderr (also `npm run stress`).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { authenticate } from '../src/index.ts';
import { personApproves, startWorld, type World } from './fixtures/world.ts';
import { nodeScript } from './helpers/cli.ts';

const PROCESSES = Number(process.env.STRESS_PROCESSES ?? 16);
const ITERATIONS = Number(process.env.STRESS_ITERATIONS ?? 50);
const ACCESS_TTL = 62; // valid for 2 s: the client counts a token valid while more than 60 s remain
const worker = path.join(import.meta.dirname, 'helpers', 'store-worker.ts');

interface WorkerResult {
  seen: Array<{ token: string; at: number; expires: number }>;
  errors: string[];
}

async function runWorker(host: string, store: string, id: number): Promise<WorkerResult> {
  return JSON.parse(await nodeScript(worker, [host, store, String(ITERATIONS), String(id)])) as WorkerResult;
}

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('refresh across processes', () => {
  it(`${PROCESSES} processes x ${ITERATIONS} calls: no lost entry, no corrupt file, no invalid_grant, one refresh per expiry`, { timeout: 180_000 }, async () => {
    world = await startWorld({ idp: { accessTokenTtl: ACCESS_TTL, rotateRefreshToken: true } });
    const person = personApproves();
    const first = await authenticate({ host: world.app.host, store: world.store, interactive: true, openBrowser: false, onDeviceCode: person.onDeviceCode });
    const started = Date.now() / 1000;
    const results = await Promise.all(Array.from({ length: PROCESSES }, (_, id) => runWorker(world?.app.host ?? '', world?.store.path ?? '', id)));
    const ended = Date.now() / 1000;

    const errors = results.flatMap((result) => result.errors);
    assert.deepEqual(errors, [], 'no invalid_grant, no lock_timeout, no other failure');
    const calls = results.flatMap((result) => result.seen);
    assert.equal(calls.length, PROCESSES * ITERATIONS);
    for (const call of calls) assert.ok(call.expires > call.at, 'every returned token was still valid');

    // Each access token, with the moment it was first seen.
    const tokens = new Map<string, { firstSeen: number; expires: number }>();
    for (const call of [{ token: first.access_token, at: started, expires: first.expires }, ...calls]) {
      const known = tokens.get(call.token);
      if (!known || call.at < known.firstSeen) tokens.set(call.token, { firstSeen: call.at, expires: call.expires });
    }
    const ordered = [...tokens.values()].sort((a, b) => a.expires - b.expires);
    const refreshes = world.app.requests.refresh;
    assert.equal(refreshes, ordered.length - 1, 'every refresh produced a token that was used');
    assert.equal(world.idp.grants.refresh_token, refreshes, 'the provider saw the same refreshes');
    for (let i = 1; i < ordered.length; i += 1) {
      const previous = ordered[i - 1];
      const next = ordered[i];
      assert.ok(previous && next && next.firstSeen >= previous.expires - 60 - 1, `token ${i} replaced one that was still valid: a refresh too many`);
    }
    const window = ACCESS_TTL - 60;
    const expiries = Math.ceil((ended - started) / window);
    assert.ok(refreshes >= 1 && refreshes <= expiries + 1, `${refreshes} refreshes for at most ${expiries} expiries`);

    const stored = JSON.parse(fs.readFileSync(world.store.path, 'utf8')) as Record<string, unknown>;
    const workerHosts = Array.from({ length: PROCESSES }, (_, id) => `https://worker-${id}.example`);
    assert.deepEqual(workerHosts.filter((host) => !(host in stored)), [], 'no entry lost');
    assert.ok(world.app.host in stored);
    assert.deepEqual(fs.readdirSync(path.dirname(world.store.path)).filter((name) => name.includes('corrupt')), [], 'no file was ever unreadable');
    process.stderr.write(`stress: ${PROCESSES} processes x ${ITERATIONS} calls in ${(ended - started).toFixed(1)} s: ` +
      `${refreshes} refresh requests for ${expiries} access-token lifetimes of ${window} s, ${errors.length} errors, ` +
      `${workerHosts.length}/${PROCESSES} worker entries kept, 0 corrupt files\n`);
  });
});
