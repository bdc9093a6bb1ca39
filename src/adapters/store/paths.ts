// Where stores live: the user's cache folder by default, the token file the
// environment names, and a store path as the person typed it (POSIX or
// Windows: `C:\Users\...`, UNC `\\server\share\...`, `~`).
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

/** The user's settings folder: `$XDG_CONFIG_HOME`, else `%APPDATA%` on Windows, else `~/.config`. */
export function configHome(env: Environment = process.env): string {
  if (env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.trim() !== '') return env.XDG_CONFIG_HOME;
  if (process.platform === 'win32' && env.APPDATA) return env.APPDATA;
  return path.join(os.homedir(), '.config');
}

let knownAccountsFile: { configHome: string | undefined; file: string } | undefined;

/** The settings file where `oidc-auth switch` remembers each store's default accounts (remembered while `XDG_CONFIG_HOME` is unchanged). */
export function accountsFile(env: Environment = process.env): string {
  if (env !== process.env) return path.resolve(configHome(env), 'oidc-auth', 'accounts.json');
  const home = env.XDG_CONFIG_HOME;
  if (knownAccountsFile === undefined || knownAccountsFile.configHome !== home) knownAccountsFile = { configHome: home, file: path.resolve(configHome(env), 'oidc-auth', 'accounts.json') };
  return knownAccountsFile.file;
}

/** The path rules of a platform (`path.posix` or `path.win32`; tests pass the other one). */
export interface PathRules {
  sep: string;
  isAbsolute(file: string): boolean;
  resolve(...parts: string[]): string;
  join(...parts: string[]): string;
}

/**
 * A store path as given (`--store`, `OIDC_TOKEN_FILE`, the `path` option)
 * made absolute: `~` and `~/` (and `~\` on Windows) mean the home folder;
 * a drive or UNC path on Windows is taken as it is.
 */
export function resolveStorePath(file: string, rules: PathRules = path, home: () => string = os.homedir): string {
  const tilde = file === '~' || file.startsWith('~/') || (rules.sep === '\\' && file.startsWith('~\\'));
  return rules.resolve(tilde ? rules.join(home(), file.slice(1)) : file);
}
