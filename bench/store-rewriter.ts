// Rewrites one store over and over (other hosts' entries) until killed: the
// "another process has just rewritten it" case of the cached benchmark.
import { TokenStore } from '../src/token-store.ts';

const [file, seconds] = process.argv.slice(2);
// Stops by itself too, should the parent die without killing it.
const deadline = Date.now() + Number(seconds ?? 60) * 1000;
const store = new TokenStore({ path: file ?? '' });
let round = 0;
process.stdout.write('ready\n');
while (Date.now() < deadline) {
  const now = Math.floor(Date.now() / 1000);
  const access = `other-${round % 50}`;
  await store.put(`https://other-${round % 50}.example`, {
    access_token: access, token_type: 'Bearer', expires: now + 3600, refresh_token: '', refresh_expires: 0, scope: 'openid', headers: { Authorization: `Bearer ${access}` },
  });
  round += 1;
}
