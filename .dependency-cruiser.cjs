// The layers of src/, enforced in `npm test` (npm run lint:deps). Imports
// only point down:
//
//   entries (src/index.ts, machines, react, redis, keyring, cli.ts) and src/cli/
//     -> src/api/        the public API: authenticate, authState, flows, fetch helpers, settings
//     -> src/host/       one actor per host: its lifecycle, views, the wiring of adapters
//     -> src/machines/   the statecharts (pure)
//        src/servers/    the two server kinds behind the Backend seam, and Client
//        src/adapters/   side effects: http/, browser/, store/
//     -> src/protocol/   pure parsing and checks
//     -> src/types.ts, src/errors.ts, src/debug.ts
//
// On the middle tier, servers may use adapters (requests, the callback
// server, the metadata cache's files); adapters use neither servers nor
// machines, and each adapter room (http, browser, store) stands alone.
const ENTRIES = '^src/(index|machines|react|redis|keyring|cli)[.]ts$';
const FLOOR = '^src/(types|errors|debug)[.]ts$';

/** A rule that `from` imports nothing matching `to`. */
function never(name, comment, from, to) {
  return { name, comment, severity: 'error', from: { path: from }, to: { path: to } };
}

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'Import cycles hide which layer depends on which.', severity: 'error', from: {}, to: { circular: true } },
    never('floor-stays-floor', 'types, errors and debug import nothing else of src/.', FLOOR, `^src/(?!(types|errors|debug)[.]ts$)`),
    never('protocol-is-pure-down', 'protocol/ imports only protocol/ and the floor.', '^src/protocol/', '^src/(?!protocol/|(types|errors|debug)[.]ts$)'),
    { name: 'protocol-no-io', comment: 'protocol/ is pure: no Node module (file, network, process).', severity: 'error', from: { path: '^src/protocol/' }, to: { dependencyTypes: ['core'] } },
    never('machines-are-pure', 'machines/ imports only machines/, protocol/ and the floor: no adapter, no server.', '^src/machines/', '^src/(?!machines/|protocol/|(types|errors|debug)[.]ts$)'),
    { name: 'machines-no-io', comment: 'Machines are pure: no Node module.', severity: 'error', from: { path: '^src/machines/' }, to: { dependencyTypes: ['core'] } },
    { name: 'machines-only-xstate', comment: 'The only package a machine uses is xstate.', severity: 'error', from: { path: '^src/machines/' }, to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg'], pathNot: '^node_modules/xstate/' } },
    never('adapters-below-servers', 'adapters/ carries out side effects; it knows no server kind, host, API, machine or CLI.', '^src/adapters/', `^src/(servers|host|api|cli|machines)/|${ENTRIES}`),
    never('adapter-http-alone', 'adapters/http stands alone.', '^src/adapters/http/', '^src/adapters/(browser|store|agent)/'),
    never('adapter-browser-alone', 'adapters/browser stands alone.', '^src/adapters/browser/', '^src/adapters/(http|store|agent)/'),
    never('adapter-store-alone', 'adapters/store stands alone.', '^src/adapters/store/', '^src/adapters/(http|browser|agent)/'),
    never('adapter-agent-alone', 'adapters/agent (the agent\'s socket) stands alone.', '^src/adapters/agent/', '^src/adapters/(http|browser|store)/'),
    never('servers-below-host', 'servers/ knows no host, API, machine or CLI.', '^src/servers/', `^src/(host|api|cli|machines)/|${ENTRIES}`),
    never('host-below-api', 'host/ knows no API or CLI.', '^src/host/', `^src/(api|cli)/|${ENTRIES}`),
    never('api-below-entries', 'api/ knows no CLI and no entry.', '^src/api/', `^src/cli/|${ENTRIES}`),
    never('cli-below-entries', 'The CLI uses the API and the layers below, not the package entries.', '^src/cli/', ENTRIES),
    never('react-only-in-its-entry', 'Only src/react.ts loads React, so the root entry never does.', '^src/(?!react[.]ts$)', '^node_modules/(react|@xstate/react)/'),
    never('nobody-imports-react-entry', 'Nothing imports src/react.ts.', '^src/', '^src/react[.]ts$'),
    never('redis-only-in-its-store', 'Only the Redis store (its connection loads it) uses node-redis.', '^src/(?!adapters/store/redis-[a-z]+[.]ts$)', '^node_modules/(redis|@redis)/'),
    never('redis-store-only-from-its-entry', 'The Redis store is reached from src/redis.ts, and lazily from the CLI for --store redis://; its parts only from it.', '^src/(?!redis[.]ts$|cli/common[.]ts$|adapters/store/redis-[a-z]+[.]ts$)', '^src/adapters/store/redis-[a-z]+[.]ts$'),
    { name: 'cli-loads-redis-lazily', comment: 'The CLI loads the Redis store only for --store redis://.', severity: 'error', from: { path: '^src/cli/' }, to: { path: '^src/adapters/store/redis-store[.]ts$', dependencyTypesNot: ['dynamic-import'] } },
    never('keyring-library-only-in-its-store', 'Only the keyring store (its items) loads @napi-rs/keyring.', '^src/(?!adapters/store/keyring-items[.]ts$)', '^node_modules/@napi-rs/keyring'),
    { name: 'keyring-library-on-use', comment: 'The keyring store loads @napi-rs/keyring on its first call (a dynamic import), never at load time.', severity: 'error', from: { path: '^src/adapters/store/keyring-items[.]ts$' }, to: { path: '^node_modules/@napi-rs/keyring', dependencyTypesNot: ['dynamic-import'] } },
    { name: 'root-entry-never-loads-react-or-redis', comment: 'Importing oidc-auth-client loads neither React nor node-redis.', severity: 'error', from: { path: '^src/index[.]ts$' }, to: { path: '^node_modules/(react|@xstate/react|redis|@redis)/', reachable: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.d.ts'] },
    reporterOptions: {
      dot: { collapsePattern: '^src/(adapters/[^/]+|[^/]+)/' },
    },
  },
};
