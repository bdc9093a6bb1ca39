// Child process for the Redis fleet test: one "machine" (its own HOME, no
// shared file) making authenticate() calls through a RedisTokenStore while
// access tokens keep expiring. Prints one JSON line.
import { authenticate } from '../../src/index.ts';
import { RedisTokenStore } from '../../src/redis.ts';
import { testToken } from '../fixtures/token.ts';

const [host, url, iterations, id, prefix] = process.argv.slice(2);
const store = new RedisTokenStore({ url, prefix, lockTimeout: 60_000, leaseMs: 5000 });
const seen: Array<{ token: string; at: number; expires: number }> = [];
const errors: string[] = [];
const total = Number(iterations);
for (let i = 0; i < total; i += 1) {
  try {
    const token = await authenticate({ host: host ?? '', store, interactive: false });
    seen.push({ token: token.access_token, at: Date.now() / 1000, expires: token.expires });
  } catch (error) {
    errors.push(`${(error as { code?: string }).code}: ${(error as Error).message}`);
  }
  if (i === Math.floor(total / 2)) {
    // Each machine also adds an entry of its own: none may be lost to the others' writes.
    await store.put(`https://worker-${id}.example`, testToken(`worker-${id}-token`)).catch((error: unknown) => errors.push(`put: ${(error as { code?: string }).code}: ${(error as Error).message}`));
  }
  await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
}
process.stdout.write(`${JSON.stringify({ seen, errors })}\n`);
