// Servers a test starts, closed after it with the per-process state it touched.
import { afterEach } from 'node:test';
import { DeviceFlow } from '../../src/index.ts';
import { clearMetadataMemory } from '../../src/servers/client/metadata-cache.ts';

interface Closable {
  close(): Promise<void>;
}

/**
 * Register an afterEach that resets host actors and the metadata cache and
 * closes every server handed to the returned function during the test.
 */
export function closedAfterEach(): <T extends Closable>(server: T) => T {
  const open: Closable[] = [];
  afterEach(async () => {
    DeviceFlow.resetInstances();
    clearMetadataMemory();
    for (const server of open.splice(0)) await server.close();
  });
  return (server) => {
    open.push(server);
    return server;
  };
}
