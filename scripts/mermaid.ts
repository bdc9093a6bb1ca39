// A statechart as Mermaid `stateDiagram-v2` text, read from the machine
// definition itself (states, transitions, guards, delays, invocations).
import type { AnyStateMachine } from 'xstate';

interface Node {
  key: string;
  id: string;
  type: string;
  states: Record<string, Node>;
  initial?: { target?: Node[] };
  transitions: Map<string, Array<{ target?: Node[]; guard?: unknown }>>;
  always?: Array<{ target?: Node[]; guard?: unknown }>;
  invoke: Array<{ id: string; src: unknown }>;
}

const idOf = (node: Node) => node.id.replace(/[^A-Za-z0-9]/g, '_');

function guardName(guard: unknown): string {
  if (guard === undefined) return '';
  if (typeof guard === 'string') return ` [${guard}]`;
  if (typeof guard === 'object' && guard !== null && 'type' in guard) return ` [${String((guard as { type: unknown }).type)}]`;
  return ' [guarded]';
}

function srcName(src: unknown): string {
  if (typeof src === 'string') return src;
  const id = (src as { id?: string; config?: { id?: string } } | undefined)?.config?.id ?? (src as { id?: string } | undefined)?.id;
  return id ?? 'actor';
}

function eventLabel(node: Node, event: string): string {
  const invoked = (id: string) => srcName(node.invoke.find((inv) => inv.id === id)?.src ?? id);
  const done = /^xstate\.done\.actor\.(.+)$/.exec(event);
  if (done) return `done: ${invoked(done[1] ?? '')}`;
  const error = /^xstate\.error\.actor\.(.+)$/.exec(event);
  if (error) return `error: ${invoked(error[1] ?? '')}`;
  const after = /^xstate\.after\.([^.]+)\./.exec(event);
  if (after) return `after ${after[1]}`;
  return event;
}

/** Mermaid text for `machine`; deterministic, so a test can compare it with the committed picture's source. */
export function machineToMermaid(machine: AnyStateMachine): string {
  const lines = ['stateDiagram-v2'];
  const emit = (node: Node, indent: string) => {
    for (const child of Object.values(node.states)) {
      if (Object.keys(child.states).length > 0) {
        // Mermaid lets a group have a label only: what it invokes goes into that label.
        const invokes = child.invoke.map((inv) => ` (invokes ${srcName(inv.src)})`).join('');
        lines.push(`${indent}state "${child.key}${invokes}" as ${idOf(child)} {`);
        emit(child, `${indent}  `);
        lines.push(`${indent}}`);
      } else {
        lines.push(`${indent}state "${child.key}" as ${idOf(child)}`);
        for (const inv of child.invoke) lines.push(`${indent}${idOf(child)} : invokes ${srcName(inv.src)}`);
      }
    }
    const first = node.initial?.target?.[0];
    if (first) lines.push(`${indent}[*] --> ${idOf(first)}`);
    for (const child of Object.values(node.states)) {
      for (const [event, transitions] of child.transitions) {
        for (const transition of transitions) {
          for (const target of transition.target ?? []) lines.push(`${indent}${idOf(child)} --> ${idOf(target)} : ${eventLabel(child, event)}${guardName(transition.guard)}`);
        }
      }
      for (const transition of child.always ?? []) {
        for (const target of transition.target ?? []) lines.push(`${indent}${idOf(child)} --> ${idOf(target)} : always${guardName(transition.guard)}`);
      }
      if (child.type === 'final') lines.push(`${indent}${idOf(child)} --> [*]`);
    }
  };
  emit(machine.root as unknown as Node, '  ');
  return `${lines.join('\n')}\n`;
}
