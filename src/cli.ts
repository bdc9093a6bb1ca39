#!/usr/bin/env node
// The oidc-auth command. This file only runs it: it is the package's `bin`,
// executed on every Node that `engines` admits (no `import.meta.main`, which
// Node 22 has only from 22.18 on). The command itself is src/cli/main.ts.
import { main } from './cli/main.ts';

process.exitCode = await main(process.argv.slice(2));
