// The architecture picture: the layers and rooms of src/ and the imports
// between them, as dependency-cruiser finds them (the same rules that
// `npm test` enforces), in Mermaid. npm run diagrams renders it to
// docs/architecture.svg; test/diagrams.test.ts fails when it is stale.
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.join(import.meta.dirname, '..');

/** The rooms of src/, top layer first, each with the files it holds and a few words. */
export const ROOMS: Array<{ id: string; label: string; files: RegExp }> = [
  { id: 'entries', label: 'package entries: index, machines, react, redis, keyring, cli.ts', files: /^src\/(index|machines|react|redis|keyring|cli)\.ts$/ },
  { id: 'cli', label: 'cli/: the oidc-auth command', files: /^src\/cli\// },
  { id: 'api', label: 'api/: authenticate, authState, flows, authenticatedFetch, settings', files: /^src\/api\// },
  { id: 'host', label: 'host/: one actor per host, its views, the adapters wired in', files: /^src\/host\// },
  { id: 'machines', label: 'machines/: the statecharts (pure)', files: /^src\/machines\// },
  { id: 'servers', label: 'servers/: py-oidc-auth routes and a standard provider, behind Backend', files: /^src\/servers\/[^/]+$/ },
  { id: 'client', label: 'servers/client/: Client, every grant', files: /^src\/servers\/client\// },
  { id: 'http', label: 'adapters/http/: requests, proxy, certificates', files: /^src\/adapters\/http\// },
  { id: 'browser', label: 'adapters/browser/: open, loopback callback, who is there', files: /^src\/adapters\/browser\// },
  { id: 'store', label: 'adapters/store/: file, memory, Redis, keyring, lock, transactions', files: /^src\/adapters\/store\// },
  { id: 'protocol', label: 'protocol/: pure parsing and checks', files: /^src\/protocol\// },
  { id: 'floor', label: 'types, errors, debug: used by every layer', files: /^src\/(types|errors|debug)\.ts$/ },
];

function roomOf(file: string): string | undefined {
  return ROOMS.find((room) => room.files.test(file))?.id;
}

/** The picture's Mermaid text, from the current import graph. */
export async function architectureMermaid(): Promise<string> {
  const { cruise } = await import('dependency-cruiser');
  const require = createRequire(import.meta.url);
  const config = require(path.join(root, '.dependency-cruiser.cjs')) as { options: Record<string, unknown> };
  const cwd = process.cwd();
  process.chdir(root);
  let modules: Array<{ source: string; dependencies: Array<{ resolved: string }> }>;
  try {
    const result = await cruise(['src'], config.options as never);
    modules = (result.output as { modules: typeof modules }).modules;
  } finally {
    process.chdir(cwd);
  }
  const edges = new Set<string>();
  for (const module of modules) {
    const from = roomOf(module.source);
    for (const dependency of module.dependencies) {
      const to = roomOf(dependency.resolved);
      // Every layer uses the floor: its arrows would only hide the others.
      if (from && to && from !== to && to !== 'floor') edges.add(`${from} --> ${to}`);
    }
  }
  const order = ROOMS.map((room) => room.id);
  const sorted = [...edges].sort((a, b) => {
    const [a1 = '', a2 = ''] = a.split(' --> ');
    const [b1 = '', b2 = ''] = b.split(' --> ');
    return order.indexOf(a1) - order.indexOf(b1) || order.indexOf(a2) - order.indexOf(b2);
  });
  return [
    'flowchart TD',
    ...ROOMS.map((room) => `  ${room.id}["${room.label}"]`),
    ...sorted.map((edge) => `  ${edge}`),
    '',
  ].join('\n');
}
