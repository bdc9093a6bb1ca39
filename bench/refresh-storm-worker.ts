// One process of a refresh storm: one authenticate() call, through the store
// file given, or through Redis (`redis://… prefix`).
import { authenticate, TokenStore, type TokenStoreBackend } from '../src/index.ts';

const [host, where, prefix] = process.argv.slice(2);
let store: TokenStoreBackend;
if (where?.startsWith('redis://')) {
  const { RedisTokenStore } = await import('../src/redis.ts');
  store = new RedisTokenStore({ url: where, prefix, lockTimeout: 60_000 });
} else {
  store = new TokenStore({ path: where ?? '', lockTimeout: 60_000 });
}
const token = await authenticate({ host: host ?? '', store, interactive: false });
process.stdout.write(`${token.access_token}\n`);
