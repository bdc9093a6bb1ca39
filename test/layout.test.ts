// The layout tells the architecture: these checks keep it that way.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
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

  it('package.json: ESM, exports with types first, no side effects, Node >= 22', () => {
    const pkg = JSON.parse(read('package.json')) as { type: string; sideEffects: boolean; engines: { node: string }; exports: Record<string, Record<string, string>> };
    assert.equal(pkg.type, 'module');
    assert.equal(pkg.sideEffects, false);
    assert.equal(pkg.engines.node, '>=22.12', 'the oldest Node admitted is the one the tests run the CLI on (tools/oldest-node)');
    assert.equal(Object.keys(pkg.exports['.'] ?? {})[0], 'types');
    for (const entry of ['./machines', './react', './redis', './keyring']) assert.equal(Object.keys(pkg.exports[entry] ?? {})[0], 'types', entry);
  });

  it('imports only point down the layers, with no cycle; machines and protocol import no I/O; the root entry never loads React, node-redis or the keyring library (dependency-cruiser, .dependency-cruiser.cjs)', async () => {
    const { cruise } = await import('dependency-cruiser');
    const require = createRequire(import.meta.url);
    const ruleSet = require(path.join(root, '.dependency-cruiser.cjs')) as { forbidden: unknown[]; options: Record<string, unknown> };
    const cwd = process.cwd();
    process.chdir(root);
    try {
      const result = await cruise(['src'], { ...ruleSet.options, validate: true, ruleSet: { forbidden: ruleSet.forbidden } } as never);
      const output = result.output as { summary: { violations: Array<{ rule: { name: string }; from: string; to: string }>; totalCruised: number } };
      assert.ok(output.summary.totalCruised > 60, `cruised ${output.summary.totalCruised} modules`);
      assert.deepEqual(output.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`), []);
    } finally {
      process.chdir(cwd);
    }
  });

  it('the root of src/ holds only the package entries and what every layer shares', () => {
    const loose = fs.readdirSync(path.join(root, 'src')).filter((name) => name.endsWith('.ts')).sort();
    assert.deepEqual(loose, ['cli.ts', 'debug.ts', 'errors.ts', 'index.ts', 'keyring.ts', 'machines.ts', 'react.ts', 'redis.ts', 'types.ts']);
    const rooms = fs.readdirSync(path.join(root, 'src', 'adapters'));
    assert.deepEqual(rooms.sort(), ['agent', 'browser', 'http', 'store'], 'the four kinds of side effect (the agent socket, the browser, HTTP, the store), one folder each');
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
