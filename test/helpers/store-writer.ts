// Child process for the multi-process store test: puts N hosts into one store.
import { TokenStore } from '../../src/token-store.ts';

const [file, prefix, count] = process.argv.slice(2);
const store = new TokenStore({ path: file });
const now = Math.floor(Date.now() / 1000);
for (let i = 0; i < Number(count); i += 1) {
  const access = `at-${prefix}-${i}`;
  await store.put(`https://${prefix}-${i}.example.org`, {
    access_token: access, token_type: 'Bearer', expires: now + 3600, refresh_token: `rt-${prefix}-${i}`, refresh_expires: now + 7200, scope: 'openid', headers: { Authorization: `Bearer ${access}` },
  });
}
