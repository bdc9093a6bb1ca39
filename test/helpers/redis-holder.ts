// Child process that takes the Redis store's lock and holds it inside
// update(): it prints "inside", waits `holdMs`, then writes `access` for
// `host`. Prints "written" or the error code it got.
import { setTimeout as sleep } from 'node:timers/promises';
import { isAuthError } from '../../src/index.ts';
import { RedisTokenStore } from '../../src/redis.ts';
import { testToken } from '../fixtures/token.ts';

const [url, prefix, leaseMs, holdMs, host, access] = process.argv.slice(2);
const store = new RedisTokenStore({ url, prefix, leaseMs: Number(leaseMs) });
try {
  await store.update(async () => {
    process.stdout.write('inside\n');
    await sleep(Number(holdMs));
    return { [host ?? '']: testToken(access ?? '') };
  });
  process.stdout.write('written\n');
} catch (error) {
  process.stdout.write(`${isAuthError(error) ? error.code : 'other'}: ${(error as Error).message}\n`);
}
