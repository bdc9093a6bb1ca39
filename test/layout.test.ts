// The layout tells the architecture: these checks keep it that way.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const root = path.join(import.meta.dirname, '..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

function filesUnder(folder: string): string[] {
  return fs.readdirSync(path.join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => path.posix.join(folder, name.split(path.sep).join('/')));
}

describe('layout', () => {
  const machineFiles = filesUnder('src/machines');
  const statecharts = machineFiles.filter((file) => /createMachine\(/.test(read(file)));

  it('every file that defines a machine is matched by stately.config.json include (and not excluded)', () => {
    const config = JSON.parse(read('stately.config.json')) as { $schema: string; version: string; include: string[]; exclude?: string[] };
    assert.ok(config.$schema && config.version, 'has the Stately CLI project-file shape');
    assert.ok(statecharts.length >= 3);
    for (const file of statecharts) {
      assert.ok(config.include.some((glob) => path.matchesGlob(file, glob)), `${file} is outside stately.config.json include`);
      assert.ok(!(config.exclude ?? []).some((glob) => path.matchesGlob(file, glob)), `${file} is excluded`);
    }
  });

  it('machine files import no I/O', () => {
    for (const file of machineFiles) {
      for (const match of read(file).matchAll(/from '([^']+)'/g)) {
        const target = match[1] ?? '';
        assert.ok(target === 'xstate' || target.startsWith('.'), `${file} imports ${target}`);
        assert.ok(!target.includes('adapters'), `${file} imports an adapter`);
      }
    }
  });

  it('package.json: ESM, exports with types first, no side effects, Node >= 22', () => {
    const pkg = JSON.parse(read('package.json')) as { type: string; sideEffects: boolean; engines: { node: string }; exports: Record<string, Record<string, string>> };
    assert.equal(pkg.type, 'module');
    assert.equal(pkg.sideEffects, false);
    assert.equal(pkg.engines.node, '>=22.12', 'the oldest Node admitted is the one the tests run the CLI on (tools/oldest-node)');
    assert.equal(Object.keys(pkg.exports['.'] ?? {})[0], 'types');
    for (const entry of ['./machines', './react', './redis', './keyring']) assert.equal(Object.keys(pkg.exports[entry] ?? {})[0], 'types', entry);
  });

  it('the root entry never loads React: only src/react.ts imports it, and nothing imports src/react.ts', () => {
    for (const file of filesUnder('src')) {
      const imports = [...read(file).matchAll(/from '([^']+)'/g)].map((match) => match[1] ?? '');
      if (file !== 'src/react.ts') assert.ok(!imports.some((target) => target === 'react' || target.startsWith('react/')), `${file} imports react`);
      assert.ok(!imports.some((target) => /\/react\.ts$/.test(target)), `${file} imports src/react.ts`);
    }
  });

  it('the root entry never loads redis: only the Redis store imports it, and only src/redis.ts imports that', () => {
    for (const file of filesUnder('src')) {
      const imports = [...read(file).matchAll(/(?:from|import\() ?'([^']+)'/g)].map((match) => match[1] ?? '');
      if (file !== 'src/adapters/redis-store.ts') assert.ok(!imports.some((target) => target === 'redis' || target.startsWith('@redis/')), `${file} imports redis`);
      // The CLI loads it on demand, for --store redis://.
      const lazy = file === 'src/cli/common.ts' && !/from '[^']*redis-store\.ts'/.test(read(file));
      if (file !== 'src/redis.ts' && !lazy) assert.ok(!imports.some((target) => /redis-store\.ts$/.test(target)), `${file} imports the Redis store`);
    }
  });

  it('the keyring library loads only when a keyring store is used: one dynamic import in the keyring store', () => {
    for (const file of filesUnder('src')) {
      const text = read(file);
      assert.ok(!/from '@napi-rs\/keyring'/.test(text), `${file} imports @napi-rs/keyring at load time`);
      if (file !== 'src/adapters/keyring-store.ts') assert.ok(!text.includes("import('@napi-rs/keyring')"), `${file} loads @napi-rs/keyring`);
    }
    assert.match(read('src/adapters/keyring-store.ts'), /import\('@napi-rs\/keyring'\)/);
  });

  it('every export of the entries (src/index.ts, src/machines.ts, src/react.ts, src/redis.ts, src/keyring.ts) has TSDoc at its declaration', () => {
    const missing: string[] = [];
    const entries = ['src/index.ts', 'src/machines.ts', 'src/react.ts', 'src/redis.ts', 'src/keyring.ts'];
    for (const entry of entries) {
      const own = read(entry);
      for (const match of own.matchAll(/^export (?:async )?(?:function|const|type|interface) (\w+)/gm)) {
        if (!new RegExp(`/\\*\\*(?:(?!\\*/)[^])*\\*/\\s*export (?:async )?(?:function|const|type|interface) ${match[1]}\\b`).test(own)) missing.push(`${entry}: ${match[1]}`);
      }
    }
    for (const match of entries.map(read).join('\n').matchAll(/export (?:type )?\{([^}]+)\} from '([^']+)'/g)) {
      const source = read(path.join('src', match[2] ?? '').replace(/\.ts$/, '') + '.ts');
      for (const raw of (match[1] ?? '').split(',')) {
        const name = raw.replace(/\btype\b/, '').trim();
        if (!name) continue;
        const declaration = new RegExp(`/\\*\\*(?:(?!\\*/)[^])*\\*/\\s*(?:export )(?:abstract )?(?:async )?(?:const|function|class|interface|type) ${name}\\b`);
        if (!declaration.test(source)) missing.push(name);
      }
    }
    assert.deepEqual(missing, []);
  });
});
