// What a failed connection means, in words a person can act on: each cause
// a transport reports (its `code` somewhere in the `cause` chain) becomes a
// stable reason and a message that says what to check.
import type { NetworkReason } from '../errors.ts';
import { proxyLabel } from './proxy.ts';

/** What is known about the server's certificate (read when TLS failed). */
export interface CertificateFacts {
  issuer?: string | undefined;
  subject?: string | undefined;
  validTo?: string | undefined;
  /** `DNS:a.example, DNS:b.example` */
  altNames?: string | undefined;
}

/** The codes and messages of an error and its causes, outermost first (an AggregateError's first error counts as its cause). */
export function causeChain(error: unknown): Array<{ code?: string | undefined; message: string; error: unknown }> {
  const chain: Array<{ code?: string | undefined; message: string; error: unknown }> = [];
  const seen = new Set<unknown>();
  let at: unknown = error;
  while (at !== undefined && at !== null && !seen.has(at) && chain.length < 10) {
    seen.add(at);
    const code = (at as { code?: unknown }).code;
    chain.push({ code: typeof code === 'string' ? code : undefined, message: at instanceof Error ? at.message : String(at), error: at });
    const errors = (at as { errors?: unknown }).errors; // AggregateError (happy eyeballs)
    at = (at as { cause?: unknown }).cause ?? (Array.isArray(errors) ? errors[0] : undefined);
  }
  return chain;
}

const UNTRUSTED = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED']);
const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA']);
const TIMEOUT = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const RESET = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED']);

/** Whether an error code is a TLS or certificate failure. */
function isTlsCode(code: string): boolean {
  return UNTRUSTED.has(code) || code === 'CERT_HAS_EXPIRED' || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_');
}

/** Whether a failure is a certificate problem (so that the certificate is worth reading). */
export function isTlsFailure(error: unknown): boolean {
  return causeChain(error).some(({ code }) => code !== undefined && isTlsCode(code));
}

/**
 * The reason and message for a request to `url` that failed in transport.
 * `proxy` is the proxy the request went through, if any.
 */
export function describeNetworkError(error: unknown, url: string, proxy?: string, certificate: CertificateFacts = {}): { reason: NetworkReason; message: string } {
  const target = new URL(url);
  const where = `${target.hostname}${target.port ? `:${target.port}` : ''}`;
  const chain = causeChain(error);
  const codes = chain.map((entry) => entry.code).filter((code): code is string => code !== undefined);
  const via = proxy ? ` (through the proxy ${proxyLabel(proxy)})` : '';
  const tunnel = chain.map((entry) => /Proxy response \((\d+)\)/.exec(entry.message)?.[1]).find((status) => status !== undefined);
  if (proxy && tunnel) {
    return tunnel === '407'
      ? { reason: 'proxy', message: `The proxy ${proxyLabel(proxy)} asks for authentication (HTTP 407). Put the user name and password into the proxy variable (HTTPS_PROXY=http://user:password@host:port), or ask your network team.` }
      : { reason: 'proxy', message: `The proxy ${proxyLabel(proxy)} refused the connection to ${where} (HTTP ${tunnel}). Check that the proxy allows this host, or add it to NO_PROXY.` };
  }
  const proxyUrl = proxy ? new URL(proxy) : undefined;
  const address = chain.map((entry) => entry.error as { address?: unknown; port?: unknown; hostname?: unknown }).find((entry) => entry.address !== undefined || entry.hostname !== undefined);
  const atProxy = proxyUrl !== undefined && address !== undefined && (String(address.port) === (proxyUrl.port || (proxyUrl.protocol === 'https:' ? '443' : '80')) || address.hostname === proxyUrl.hostname);
  if (codes.some((code) => code === 'ECONNREFUSED')) {
    return atProxy
      ? { reason: 'proxy', message: `Nothing answers at the proxy ${proxyLabel(proxy as string)} (connection refused). Check HTTPS_PROXY / HTTP_PROXY, or unset them.` }
      : { reason: 'connection_refused', message: `Nothing answers at ${where}${via} (connection refused). Check the host and port, and that the server is running.` };
  }
  if (codes.some((code) => DNS.has(code))) {
    return atProxy
      ? { reason: 'proxy', message: `The proxy's host name ${proxyUrl?.hostname} cannot be resolved (DNS). Check HTTPS_PROXY / HTTP_PROXY.` }
      : { reason: 'dns', message: `The host name ${target.hostname} cannot be resolved (DNS). Check its spelling, your network connection and VPN.` };
  }
  const tlsCode = codes.find(isTlsCode);
  if (tlsCode !== undefined) {
    const issuer = certificate.issuer ? `"${certificate.issuer}"` : 'a certificate authority';
    if (UNTRUSTED.has(tlsCode)) {
      return {
        reason: 'tls',
        message: `The certificate of ${where} is issued by ${issuer}, which this machine does not trust (${tlsCode}). ` +
          'If that is your organisation\'s certificate authority, give Node its certificate: NODE_EXTRA_CA_CERTS=/path/to/ca.pem, ' +
          'or use the system\'s store with NODE_USE_SYSTEM_CA=1 (node --use-system-ca) where your Node version has it.',
      };
    }
    if (tlsCode === 'CERT_HAS_EXPIRED') {
      return { reason: 'tls', message: `The certificate of ${where} has expired${certificate.validTo ? ` (valid until ${certificate.validTo})` : ''}. Its operators must renew it; check also this machine's clock.` };
    }
    if (tlsCode === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return { reason: 'tls', message: `The certificate of ${where} is for ${certificate.altNames ?? certificate.subject ?? 'other names'}, not for ${target.hostname}. Use the host name the certificate names, or ask its operators.` };
    }
    return { reason: 'tls', message: `The TLS connection to ${where} failed (${tlsCode}). Check the host's certificate and that it speaks https on this port.` };
  }
  if (codes.some((code) => TIMEOUT.has(code))) return { reason: 'timeout', message: `${where}${via} did not answer in time. Check the network and the host, or try again later.` };
  if (codes.some((code) => RESET.has(code))) return { reason: 'connection_reset', message: `The connection to ${where}${via} was closed before an answer came (a firewall, a proxy or the server). Try again; if it persists, check the network.` };
  const last = chain.at(-1)?.message ?? 'unknown error';
  return { reason: 'unknown', message: `${last} (${where}${via}). Check the network and the host, then try again.` };
}
