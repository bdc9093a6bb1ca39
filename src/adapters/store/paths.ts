// Where stores live by default: the user's cache folder, and the token file
// the environment names.
import os from 'node:os';
import path from 'node:path';
import type { Environment } from '../../types.ts';

/** The token file named by `OIDC_TOKEN_FILE`, if any. */
export function tokenFileFromEnv(env: Environment = process.env): string | undefined {
  const value = env.OIDC_TOKEN_FILE;
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** The user's cache folder: `$XDG_CACHE_HOME`, else `~/.cache` (where the Python client keeps its store too). */
export function cacheHome(env: Environment = process.env): string {
  return env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.trim() !== '' ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
}
