// Requests through the proxy the environment names, and with a client
// certificate (mutual TLS, RFC 8705). undici's EnvHttpProxyAgent and Agent
// (the HTTP client Node's fetch is built on) do the tunnelling, the NO_PROXY
// matching and the TLS; undici is loaded only when a proxy variable is set
// or a certificate is given, so a direct run never pays for it.
import { AuthError } from '../../errors.ts';
import { proxyLabel, proxySettings, type ProxySettings } from '../../protocol/proxy.ts';
import type { Environment } from '../../types.ts';

/**
 * A client certificate for mutual TLS: PEM `cert` and `key`, or a PKCS#12
 * `pfx`, with the `passphrase` of an encrypted key; `ca` adds certificate
 * authorities to the ones this machine trusts (for a provider with a private CA).
 */
export interface ClientCertificate {
  /** The certificate (PEM), with its chain. */
  cert?: string | Uint8Array | undefined;
  /** Its private key (PEM). Secret. */
  key?: string | Uint8Array | undefined;
  /** Certificate and key as PKCS#12 (`.p12`, `.pfx`). Secret. */
  pfx?: Uint8Array | undefined;
  /** The passphrase of an encrypted key or PKCS#12 file. Secret. */
  passphrase?: string | undefined;
  /** Certificate authorities (PEM) to trust besides the system's. */
  ca?: string | Uint8Array | undefined;
}

const fetches = new Map<string, Promise<typeof globalThis.fetch>>();
/** One transport per certificate object (and proxy settings): its TLS sessions are reused. */
const withCertificate = new WeakMap<ClientCertificate, Map<string, Promise<typeof globalThis.fetch>>>();

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

async function makeFetch(settings: ProxySettings | undefined, certificate: ClientCertificate | undefined): Promise<typeof globalThis.fetch> {
  const { Agent, EnvHttpProxyAgent } = await import('undici');
  let connect: Record<string, unknown> | undefined;
  if (certificate) {
    const tls = await import('node:tls');
    const system = typeof tls.getCACertificates === 'function' ? tls.getCACertificates('default') : [...tls.rootCertificates];
    // Bytes as Node's TLS takes them (a Buffer is a Uint8Array; a plain Uint8Array is wrapped, not copied).
    const bytes = (value: string | Uint8Array | undefined) => (value === undefined || typeof value === 'string' ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    connect = {
      cert: bytes(certificate.cert), key: bytes(certificate.key), pfx: bytes(certificate.pfx), passphrase: certificate.passphrase,
      ...(certificate.ca === undefined ? {} : { ca: [...system, typeof certificate.ca === 'string' ? certificate.ca : Buffer.from(certificate.ca).toString('utf8')] }),
    };
  }
  const dispatcher = settings
    ? new EnvHttpProxyAgent({ httpProxy: settings.httpProxy, httpsProxy: settings.httpsProxy, noProxy: settings.noProxy, ...(connect ? { connect, requestTls: connect } : {}) })
    : new Agent({ connect });
  // Node's fetch takes an undici dispatcher per request.
  return (input, init) => globalThis.fetch(input, { ...init, dispatcher } as RequestInit);
}

/**
 * A fetch through the environment's proxy and with `certificate`, or
 * undefined when no proxy variable is set and there is no certificate.
 */
export function proxiedFetch(env: Environment = process.env, certificate?: ClientCertificate): Promise<typeof globalThis.fetch> | undefined {
  const settings = proxySettings(env);
  if (!settings && !certificate) return undefined;
  if (settings) {
    check(settings.httpsProxy, 'HTTPS_PROXY');
    check(settings.httpProxy, 'HTTP_PROXY');
  }
  const key = JSON.stringify(settings ?? null);
  let cache = fetches;
  if (certificate) {
    cache = withCertificate.get(certificate) ?? new Map();
    withCertificate.set(certificate, cache);
  }
  let fetch = cache.get(key);
  if (!fetch) cache.set(key, (fetch = makeFetch(settings, certificate)));
  return fetch;
}
