// Child process for the shared-store tests: authenticate() calls through a
// store file (`where` is its path), a Redis store (one "machine": its own
// HOME, no shared file; `where` is redis://…) or the keyring store (`where`
// is "keyring"), while access tokens keep expiring. Prints one JSON line.
import { authenticate, putToken, TokenStore, type TokenStoreBackend } from '../../src/index.ts';
import { KeyringTokenStore } from '../../src/keyring.ts';
import { RedisTokenStore } from '../../src/redis.ts';
import { testToken } from '../fixtures/token.ts';

const [host, where, iterations, id, prefix] = process.argv.slice(2);
let store: TokenStoreBackend;
if (where === 'keyring') store = new KeyringTokenStore({ lockTimeout: 60_000 });
else if (where?.startsWith('redis://')) store = new RedisTokenStore({ url: where, prefix, lockTimeout: 60_000, leaseMs: 5000 });
else store = new TokenStore({ path: where ?? '', lockTimeout: 60_000 });
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
    // Each process also adds an entry of its own: none may be lost to the others' writes.
    await putToken(store, `https://worker-${id}.example`, testToken(`worker-${id}-token`)).catch((error: unknown) => errors.push(`put: ${(error as { code?: string }).code}: ${(error as Error).message}`));
  }
  await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
}
process.stdout.write(`${JSON.stringify({ seen, errors })}\n`);
