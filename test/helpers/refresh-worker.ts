// Child process for the refresh stress test: many authenticate() calls
// against one store while access tokens keep expiring. Prints one JSON line.
import { authenticate, TokenStore } from '../../src/index.ts';
import { testToken } from '../fixtures/token.ts';

const [host, storePath, iterations, id] = process.argv.slice(2);
const store = new TokenStore({ path: storePath ?? '', lockTimeout: 60_000 });
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
    // Each worker also adds an entry of its own: none may be lost to the others' writes.
    await store.put(`https://worker-${id}.example`, testToken(`worker-${id}-token`));
  }
  await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
}
process.stdout.write(`${JSON.stringify({ seen, errors })}\n`);
