// One process of the 16-process refresh storm: one authenticate() call.
import { authenticate, TokenStore } from '../src/index.ts';

const [host, file] = process.argv.slice(2);
const token = await authenticate({ host: host ?? '', store: new TokenStore({ path: file ?? '', lockTimeout: 60_000 }), interactive: false });
process.stdout.write(`${token.access_token}\n`);
