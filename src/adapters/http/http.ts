import { debug, logUrl } from '../../debug.ts';
import { AuthError } from '../../errors.ts';
import { describeNetworkError, isTlsFailure } from '../../protocol/network-error.ts';
import { bypassesProxy, proxySettings } from '../../protocol/proxy.ts';
import { proxiedFetch, type ClientCertificate } from './proxy.ts';

/** A response read in full (up to the size cap). */
export interface HttpResponse {
  status: number;
  text: string;
  /** `Retry-After` in seconds, and `Location`, when the server sent them. */
  retryAfter?: number | undefined;
  location?: string | undefined;
  /** The `DPoP-Nonce` header (RFC 9449 8), as sent. */
  dpopNonce?: string | undefined;
  /** The `WWW-Authenticate` header of a refusal, as sent. */
  wwwAuthenticate?: string | undefined;
}

/** `Retry-After` as seconds (delta-seconds or an HTTP date), capped at a day. */
export function retryAfterSeconds(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = /^\s*\d+\s*$/.test(value) ? Number(value) : (Date.parse(value) - now) / 1000;
  return Number.isFinite(seconds) ? Math.min(86_400, Math.max(0, Math.ceil(seconds))) : undefined;
}

/** Options for one request. */
export interface HttpOptions {
  /** Milliseconds for the whole request, body included. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Transport override (tests, proxies). */
  fetch?: typeof globalThis.fetch | undefined;
  /** Extra request headers (client authentication, bearer tokens). */
  headers?: Record<string, string> | undefined;
  /** A client certificate for mutual TLS (RFC 8705). */
  certificate?: ClientCertificate | undefined;
}

/** Answers larger than this are refused: no token response is anywhere near it. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The body, up to {@link MAX_BODY_BYTES}, read until `signal` aborts. The
 * deadline is watched here too, not only through fetch: a dripping body was
 * seen to wait past it when the abort did not reach fetch's stream.
 */
async function readCapped(response: Response, url: string, signal: AbortSignal): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  let onAbort: () => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      reject(signal.reason);
      void reader.cancel().catch(() => undefined);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    return await readAll(reader, response.status, url, aborted);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

async function readAll(reader: ReadableStreamDefaultReader<Uint8Array>, status: number, url: string, aborted: Promise<never>): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await Promise.race([reader.read(), aborted]);
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw new AuthError('invalid_response', `The answer from ${url} is larger than ${MAX_BODY_BYTES} bytes; that is no token response. Check the host and routes.`, {
        status,
      });
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The proxy a request to `url` goes through, if the environment names one and NO_PROXY does not exempt the host. */
function proxyFor(url: string, options: HttpOptions): string | undefined {
  if (options.fetch) return undefined; // The caller's transport decides.
  const settings = proxySettings(process.env);
  if (!settings) return undefined;
  const target = new URL(url);
  if (bypassesProxy(target.hostname, target.port || (target.protocol === 'https:' ? '443' : '80'), settings.noProxy)) return undefined;
  return target.protocol === 'https:' ? settings.httpsProxy ?? settings.httpProxy : settings.httpProxy;
}

async function transportError(error: unknown, url: string, options: HttpOptions, deadline: AbortSignal): Promise<AuthError> {
  if (error instanceof AuthError) return error;
  if (options.signal?.aborted) return new AuthError('cancelled', `The request to ${url} was cancelled.`, { cause: error });
  const name = error instanceof Error ? error.name : '';
  const proxy = proxyFor(url, options);
  if (name === 'TimeoutError' || deadline.aborted) {
    return new AuthError('network', `${url} did not answer within ${Math.round(options.timeoutMs / 1000)} s. Check the network and the host, or try again later.`, { cause: error, reason: 'timeout' });
  }
  // A certificate problem: read the certificate (nothing is sent) to name its issuer, names or expiry.
  const certificate = isTlsFailure(error) ? await (await import('./certificate.ts')).readCertificate(url, proxy).catch(() => ({})) : {};
  const { reason, message } = describeNetworkError(error, url, proxy, certificate);
  return new AuthError('network', `Could not reach ${url.split('?')[0]}: ${message}`, { cause: error, reason });
}

/**
 * Send a request and read the answer, whatever its status. Never follows
 * redirects: a token or metadata endpoint that redirects is misconfigured,
 * and a redirect could carry credentials to another host.
 */
export async function request(method: 'GET' | 'POST', url: string, form: Record<string, string> | undefined, options: HttpOptions): Promise<HttpResponse> {
  // One deadline for the whole exchange, body included: a server that drips
  // its answer byte by byte is cut off like one that never answers.
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const started = performance.now();
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  try {
    // Loaded on first use: a run that finds a valid cached token never pays for it.
    const { default: ky } = await import('ky');
    // HTTPS_PROXY / HTTP_PROXY / NO_PROXY, as curl reads them (a caller's own fetch decides for itself).
    const fetch = options.fetch ?? (await proxiedFetch(process.env, options.certificate));
    const response = await ky(url, {
      method,
      body: form === undefined ? undefined : new URLSearchParams(form),
      headers: { accept: 'application/json', ...options.headers },
      timeout: false,
      retry: 0,
      throwHttpErrors: false,
      redirect: 'manual',
      signal,
      ...(fetch ? { fetch } : {}),
    });
    const text = await readCapped(response, url, signal);
    debug(() => `${method} ${logUrl(url)} -> HTTP ${response.status} (${Math.round(performance.now() - started)} ms${proxyFor(url, options) ? ', through the proxy' : ''}${options.certificate && !options.fetch ? ', with the client certificate' : ''})`);
    return {
      status: response.status,
      text,
      retryAfter: retryAfterSeconds(response.headers.get('retry-after')),
      location: response.headers.get('location') ?? undefined,
      dpopNonce: response.headers.get('dpop-nonce') ?? undefined,
      wwwAuthenticate: response.headers.get('www-authenticate') ?? undefined,
    };
  } catch (error) {
    const failure = await transportError(error, url, options, deadline);
    debug(() => `${method} ${logUrl(url)} failed after ${Math.round(performance.now() - started)} ms: ${failure.code}${failure.reason ? ` (${failure.reason})` : ''}`);
    throw failure;
  }
}

/** POST a form (or nothing) and read the answer, whatever its status. */
export function postForm(url: string, form: Record<string, string> | undefined, options: HttpOptions): Promise<HttpResponse> {
  return request('POST', url, form, options);
}

/** GET and read the answer, whatever its status. */
export function get(url: string, options: HttpOptions): Promise<HttpResponse> {
  return request('GET', url, undefined, options);
}
