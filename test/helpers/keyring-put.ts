// Child process for the keyring tests: store a token for a host through the
// keyring store of this process's environment, then print the store's
// listing (which says where each login is) as JSON. Warnings go to stderr.
import { KeyringTokenStore } from '../../src/keyring.ts';
import { testToken } from '../fixtures/token.ts';

const [host, access] = process.argv.slice(2);
const store = new KeyringTokenStore();
await store.put(host ?? '', testToken(access ?? ''));
process.stdout.write(`${JSON.stringify({ read: (await store.get(host ?? ''))?.access_token === access, list: store.list() })}\n`);
