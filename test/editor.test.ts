// The Stately editor tooling reads machines from source with
// @xstate/machine-extractor (the VS Code extension and @xstate/cli do). Each
// file stately.config.json names must be read whole: every state and every
// transition of the running machine, none lost.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { DIAGRAMS, machineFiles } from '../scripts/diagram-list.ts';
import { extractMachinesFromFile } from './helpers/machine-extractor.ts';

const root = path.join(import.meta.dirname, '..');

type Config = {
  id?: string;
  states?: Record<string, Config>;
  on?: Record<string, unknown>;
  after?: Record<string, unknown>;
  always?: unknown;
  onDone?: unknown;
  invoke?: unknown;
};

const list = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** `source --kind--> targets` for every transition of a running machine. */
function runningEdges(machine: AnyStateMachine): { states: string[]; edges: string[] } {
  const states: string[] = [];
  const edges: string[] = [];
  const visit = (node: AnyStateNode) => {
    const source = node.path.join('.');
    states.push(source);
    const add = (kind: string, targets: readonly AnyStateNode[] | undefined) => edges.push(`${source} --${kind}--> ${(targets ?? []).map((target) => target.path.join('.')).join(',')}`);
    for (const [eventType, transitions] of node.transitions) {
      let kind = `on:${eventType}`;
      if (eventType.startsWith('xstate.after.')) kind = `after:${eventType.slice('xstate.after.'.length, -(node.id.length + 1))}`;
      else if (eventType.startsWith('xstate.done.actor.')) kind = 'invoke.onDone';
      else if (eventType.startsWith('xstate.error.actor.')) kind = 'invoke.onError';
      else if (eventType.startsWith('xstate.done.state.')) kind = 'onDone';
      for (const transition of transitions) add(kind, transition.target);
    }
    for (const transition of node.always ?? []) add('always', transition.target);
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root);
  return { states: states.sort(), edges: edges.sort() };
}

/** The same, from the extractor's reading of the source. */
function extractedEdges(config: Config): { states: string[]; edges: string[] } {
  const states: string[] = [];
  const edges: string[] = [];
  const resolve = (from: string[], target: string): string => {
    if (target.startsWith('#')) {
      const [id, ...rest] = target.slice(1).split('.');
      assert.equal(id, config.id, `target ${target} names the machine's own id`);
      return rest.join('.');
    }
    if (target.startsWith('.')) return [...from, ...target.slice(1).split('.')].join('.');
    return [...from.slice(0, -1), ...target.split('.')].join('.');
  };
  const visit = (node: Config, at: string[]) => {
    const source = at.join('.');
    states.push(source);
    const add = (kind: string, transitions: unknown) => {
      for (const transition of list(transitions)) {
        const target = typeof transition === 'string' ? transition : (transition as { target?: unknown }).target;
        edges.push(`${source} --${kind}--> ${list(target).map((one) => resolve(at, String(one))).join(',')}`);
      }
    };
    for (const [event, transitions] of Object.entries(node.on ?? {})) add(`on:${event}`, transitions);
    for (const [delay, transitions] of Object.entries(node.after ?? {})) add(`after:${delay}`, transitions);
    add('always', node.always);
    add('onDone', node.onDone);
    for (const invoke of list(node.invoke) as Array<{ onDone?: unknown; onError?: unknown }>) {
      add('invoke.onDone', invoke.onDone);
      add('invoke.onError', invoke.onError);
    }
    for (const [key, child] of Object.entries(node.states ?? {})) visit(child, [...at, key]);
  };
  visit(config, []);
  return { states: states.sort(), edges: edges.sort() };
}

describe('the Stately editor reads every machine file whole', () => {
  it('stately.config.json names exactly the files that define the machines', () => {
    assert.deepEqual(machineFiles(), ['src/machines/auth.machine.ts', 'src/machines/code-flow.machine.ts', 'src/machines/device-flow.machine.ts']);
    assert.deepEqual(DIAGRAMS.map((diagram) => diagram.machine.id), ['auth', 'codeFlow', 'deviceFlow']);
  });

  for (const { file, machine } of DIAGRAMS) {
    it(`${file}: @xstate/machine-extractor finds every state and transition of ${machine.id}`, () => {
      const warn = console.warn;
      console.warn = () => {}; // It notes assign() arguments it does not model; those are not transitions.
      let machines: number | undefined;
      let config: Config | undefined;
      try {
        const result = extractMachinesFromFile(fs.readFileSync(path.join(root, file), 'utf8'));
        machines = result?.machines.length;
        config = result?.machines[0]?.toConfig() as Config | undefined;
      } finally {
        console.warn = warn;
      }
      assert.equal(machines, 1, 'one machine in the file');
      assert.ok(config, 'the extractor produced a config');
      assert.equal(config.id, machine.id);
      const running = runningEdges(machine);
      const extracted = extractedEdges(config);
      assert.deepEqual(extracted.states, running.states, 'the same states');
      assert.deepEqual(extracted.edges, running.edges, 'the same transitions, none lost');
      assert.ok(running.edges.length >= 10, `${running.edges.length} transitions compared`);
    });
  }
});
