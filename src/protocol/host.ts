/**
 * Host normalisation, as the Python client does it, so both clients use the
 * same store key: `scheme://hostname[:port]`, lower-cased, default ports and
 * path dropped, scheme `https` when none is given.
 */
export function normalizeHost(host: string): string {
  const trimmed = host.trim();
  if (trimmed === '') throw new TypeError('host must be a non-empty URL such as https://myapp.example.org');
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new TypeError(`host is not a valid URL: ${JSON.stringify(host)}`);
  }
  // URL already lower-cases scheme and host and drops the scheme's default port.
  const scheme = url.protocol.slice(0, -1);
  const port = url.port === '' || (scheme === 'https' && url.port === '443') || (scheme === 'http' && url.port === '80') ? '' : `:${url.port}`;
  return `${scheme}://${url.hostname}${port}`;
}

/** The base URL with a scheme (`https` when none is given), path kept. */
export function baseUrl(host: string): string {
  const trimmed = host.trim();
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
}

/** Join a host (which may carry a path prefix) and a route without doubling or losing a slash. */
export function joinUrl(host: string, route: string): string {
  return `${baseUrl(host).replace(/\/+$/, '')}/${route.replace(/^\/+/, '')}`;
}


/** Why `host` cannot be a server's address (only http and https are), or undefined when it can. */
export function hostProblem(host: string): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(host.trim())?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') return `${JSON.stringify(host)} is a ${scheme}: address; the server must be http:// or https://`;
  try {
    new URL(baseUrl(host));
  } catch {
    return `${JSON.stringify(host)} is not a valid URL`;
  }
  return undefined;
}

/** `scheme://user:secret@host:port/path` -> `scheme://host:port/path`: an address for messages, without credentials; `unparsable` when it is not a URL. */
export function withoutCredentials(address: string, unparsable: string): string {
  try {
    const url = new URL(address);
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return unparsable;
  }
}
