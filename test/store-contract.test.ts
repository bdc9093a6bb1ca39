// The file store and the memory store keep the TokenStoreBackend contract
// (the Redis and keyring stores run the same cases in their own tests).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe } from 'node:test';
import { MemoryTokenStore, TokenStore } from '../src/index.ts';
import { storeContract } from './helpers/store-contract.ts';

describe('file store (TokenStore)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-contract-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  storeContract(() => new TokenStore({ path: path.join(dir, `store-${(n += 1)}.json`) }));
});

describe('memory store (MemoryTokenStore)', () => {
  storeContract(() => new MemoryTokenStore());
});
