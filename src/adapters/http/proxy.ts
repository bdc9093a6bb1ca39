// Requests through the proxy the environment names. undici's
// EnvHttpProxyAgent (the same HTTP client Node's fetch is built on) does the
// tunnelling and the NO_PROXY matching; it is loaded only when a proxy
// variable is set, so a direct run never pays for it.
import { AuthError } from '../../errors.ts';
import { proxyLabel, proxySettings, type ProxySettings } from '../../protocol/proxy.ts';
import type { Environment } from '../../types.ts';

const fetches = new Map<string, Promise<typeof globalThis.fetch>>();

function check(proxy: string | undefined, variable: string): void {
  if (proxy === undefined) return;
  let url: URL | undefined;
  try {
    url = new URL(proxy);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new AuthError('network', `${variable} is set to ${JSON.stringify(proxyLabel(proxy))}, which is not an http(s) proxy URL. Set it like http://proxy.example.org:3128, or unset it.`, { reason: 'proxy' });
  }
}

async function makeFetch(settings: ProxySettings): Promise<typeof globalThis.fetch> {
  const { EnvHttpProxyAgent } = await import('undici');
  const dispatcher = new EnvHttpProxyAgent({ httpProxy: settings.httpProxy, httpsProxy: settings.httpsProxy, noProxy: settings.noProxy });
  // Node's fetch takes an undici dispatcher per request.
  return (input, init) => globalThis.fetch(input, { ...init, dispatcher } as RequestInit);
}

/** A fetch through the environment's proxy, or undefined when no proxy variable is set. */
export function proxiedFetch(env: Environment = process.env): Promise<typeof globalThis.fetch> | undefined {
  const settings = proxySettings(env);
  if (!settings) return undefined;
  check(settings.httpsProxy, 'HTTPS_PROXY');
  check(settings.httpProxy, 'HTTP_PROXY');
  const key = JSON.stringify(settings);
  let fetch = fetches.get(key);
  if (!fetch) fetches.set(key, (fetch = makeFetch(settings)));
  return fetch;
}
