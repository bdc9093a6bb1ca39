// npm run build, second step: the oidc-auth command as one ES module file
// (dist/cli.js, the package's bin) plus chunks for what it loads lazily, made
// by esbuild from src/cli.ts. A cached-token run then loads one file instead
// of some 25 modules, which was most of its start-up time (bench/cli-start.ts).
// Packages stay external: they are the package's dependencies, as for the library.
import path from 'node:path';
import { build } from 'esbuild';

const root = path.join(import.meta.dirname, '..');
await build({
  absWorkingDir: root,
  entryPoints: ['src/cli.ts'],
  outdir: 'dist',
  chunkNames: 'cli/chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22.12',
  packages: 'external',
  sourcemap: true,
  sourcesContent: true,
  logLevel: 'warning',
});
