// The provider metadata cache in tests: discovery documents and keys are
// cached per user, in memory and in files under XDG_CACHE_HOME.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach } from 'node:test';
import { clearMetadataMemory, defaultMetadataFolder } from '../../src/servers/client/metadata-cache.ts';

/**
 * Give this test file (and the CLI processes it starts with
 * `XDG_CACHE_HOME: process.env.XDG_CACHE_HOME`) a cache folder of its own,
 * never the person's, and keep no document from one test to the next: a
 * later provider may be given an earlier one's port, and so its issuer URL.
 */
export function privateMetadataCache(): void {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-cache-'));
  process.env.XDG_CACHE_HOME = home;
  afterEach(() => {
    clearMetadataMemory();
    fs.rmSync(defaultMetadataFolder(), { recursive: true, force: true });
  });
  after(() => fs.rmSync(home, { recursive: true, force: true }));
}
