// The statecharts that get a picture in docs/: every machine exported by the
// files that stately.config.json includes. That file is the one list of
// machine files: the Stately tools, the diagrams and the editor tests read it.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { StateMachine, type AnyStateMachine } from 'xstate';

const root = path.join(import.meta.dirname, '..');

/** The machine files stately.config.json names (its `include` globs less its `exclude` globs), relative to the repository. */
export function machineFiles(): string[] {
  const config = JSON.parse(fs.readFileSync(path.join(root, 'stately.config.json'), 'utf8')) as { include: string[]; exclude?: string[] };
  const files = config.include.flatMap((glob) => fs.globSync(glob, { cwd: root }));
  return [...new Set(files)].filter((file) => !(config.exclude ?? []).some((glob) => path.matchesGlob(file, glob))).sort();
}

/** Each machine with the file it is defined in and the name of its picture (`docs/<name>.svg`). */
export const DIAGRAMS: Array<{ name: string; file: string; machine: AnyStateMachine }> = [];
for (const file of machineFiles()) {
  const exports = (await import(pathToFileURL(path.join(root, file)).href)) as Record<string, unknown>;
  for (const value of Object.values(exports)) {
    if (value instanceof StateMachine) DIAGRAMS.push({ name: path.basename(file, '.ts'), file, machine: value as AnyStateMachine });
  }
}
