// Read a server's certificate after a TLS failure, only to name its issuer,
// names and expiry in the error. Nothing is sent over this connection.
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import type { CertificateFacts } from '../../protocol/network-error.ts';

function tunnel(proxy: URL, host: string, port: number): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { host: `${host}:${port}` };
    if (proxy.username) headers['proxy-authorization'] = `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`;
    const request = http.request({ host: proxy.hostname, port: Number(proxy.port || 80), method: 'CONNECT', path: `${host}:${port}`, headers, timeout: 3000 });
    request.on('connect', (response, socket) => resolve(response.statusCode === 200 ? socket : (socket.destroy(), undefined)));
    request.on('error', () => resolve(undefined));
    request.on('timeout', () => (request.destroy(), resolve(undefined)));
    request.end();
  });
}

/** The certificate `url`'s server presents (through `proxy` when given); empty when it cannot be read. */
export async function readCertificate(url: string, proxy?: string): Promise<CertificateFacts> {
  const target = new URL(url);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const port = Number(target.port || 443);
  const socket = proxy && new URL(proxy).protocol === 'http:' ? await tunnel(new URL(proxy), host, port) : undefined;
  if (proxy && !socket) return {};
  return new Promise((resolve) => {
    const connection = tls.connect({ host, port, socket, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: false }, () => {
      const certificate = connection.getPeerCertificate();
      connection.destroy();
      const text = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join(', ') : value);
      resolve({ issuer: text(certificate.issuer?.O ?? certificate.issuer?.CN), subject: text(certificate.subject?.CN), validTo: certificate.valid_to, altNames: certificate.subjectaltname });
    });
    connection.setTimeout(3000, () => connection.destroy());
    connection.on('error', () => resolve({}));
    connection.on('close', () => resolve({}));
  });
}
