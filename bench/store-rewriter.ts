// Rewrites one store over and over (other hosts' entries) until killed: the
// "another process has just rewritten it" case of the cached benchmark.
import { TokenStore } from '../src/adapters/store/file-store.ts';
import { testToken } from '../test/fixtures/token.ts';

const [file, seconds] = process.argv.slice(2);
// Stops by itself too, should the parent die without killing it.
const deadline = Date.now() + Number(seconds ?? 60) * 1000;
const store = new TokenStore({ path: file ?? '' });
let round = 0;
process.stdout.write('ready\n');
while (Date.now() < deadline) {
  await store.put(`https://other-${round % 50}.example`, testToken(`other-${round % 50}`, { refreshToken: '' }));
  round += 1;
}
