// Child process for the multi-process store test: puts N hosts into one store.
import { TokenStore } from '../../src/adapters/store/file-store.ts';
import { testToken } from '../fixtures/token.ts';

const [file, prefix, count] = process.argv.slice(2);
const store = new TokenStore({ path: file });
for (let i = 0; i < Number(count); i += 1) {
  await store.put(`https://${prefix}-${i}.example.org`, testToken(`at-${prefix}-${i}`, { refreshToken: `rt-${prefix}-${i}` }));
  if (i === 0) process.stdout.write('writing\n'); // The parent may now kill us at any moment.
}
