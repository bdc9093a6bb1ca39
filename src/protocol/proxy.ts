// Which proxy a request takes, read from the environment as curl, git and
// httpx read it: HTTPS_PROXY / HTTP_PROXY / NO_PROXY (either case).
import type { Environment } from '../types.ts';
import { withoutCredentials } from './host.ts';

/** The proxy settings of an environment. */
export interface ProxySettings {
  httpsProxy?: string | undefined;
  httpProxy?: string | undefined;
  /** NO_PROXY plus the loopback names, which are never proxied. */
  noProxy: string;
}

const LOOPBACK = ['localhost', '127.0.0.1', '::1', '[::1]'];

function read(env: Environment, name: string): string | undefined {
  const value = env[name.toLowerCase()] ?? env[name.toUpperCase()];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** The proxy settings, or undefined when no proxy variable is set. */
export function proxySettings(env: Environment): ProxySettings | undefined {
  const httpsProxy = read(env, 'https_proxy');
  const httpProxy = read(env, 'http_proxy');
  if (httpsProxy === undefined && httpProxy === undefined) return undefined;
  const noProxy = [read(env, 'no_proxy'), ...LOOPBACK].filter((entry) => entry !== undefined).join(',');
  return { httpsProxy, httpProxy, noProxy };
}

/** A proxy URL without its credentials, for messages. */
export function proxyLabel(proxy: string): string {
  return withoutCredentials(proxy, '(a proxy URL that is not a URL)');
}

/**
 * Whether a request to `hostname` (and `port`) goes direct, as curl reads
 * NO_PROXY: `*` for all; `example.org` or `.example.org` for the domain and
 * its subdomains; `host:port` for one port; IP addresses exactly.
 */
export function bypassesProxy(hostname: string, port: string, noProxy: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return noProxy.split(/[\s,]+/).filter((entry) => entry !== '').some((raw) => {
    if (raw === '*') return true;
    const entry = raw.toLowerCase();
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    const bareIpv6 = !bracketed && (entry.match(/:/g)?.length ?? 0) > 1;
    const [name, entryPort] = bracketed ? [bracketed[1], bracketed[2]] : bareIpv6 ? [entry, undefined] : (/^(.+?)(?::(\d+))?$/.exec(entry)?.slice(1) ?? [entry, undefined]);
    if (entryPort !== undefined && entryPort !== port) return false;
    const domain = (name ?? '').replace(/^\*?\./, '');
    return host === domain || host.endsWith(`.${domain}`);
  });
}
