// git's credential helper protocol (gitcredentials(7), git-credential(1)):
// `key=value` lines on stdin ending at an empty line, the same on stdout.
// Pure.

/** The actions git runs a helper with. */
export const GIT_CREDENTIAL_ACTIONS = ['get', 'store', 'erase'] as const;

/** One of {@link GIT_CREDENTIAL_ACTIONS}. */
export type GitCredentialAction = (typeof GIT_CREDENTIAL_ACTIONS)[number];

/** Whether `value` names a credential helper action. */
export function isGitCredentialAction(value: unknown): value is GitCredentialAction {
  return typeof value === 'string' && (GIT_CREDENTIAL_ACTIONS as readonly string[]).includes(value);
}

/** What git sends: `protocol`, `host`, `path`, `username`, `password`, ... (the last of a repeated key wins; `key[]` lists are left out). */
export function parseCredentialRequest(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    const at = line.indexOf('=');
    if (at <= 0) continue;
    const key = line.slice(0, at);
    if (key.endsWith('[]') || key === '__proto__') continue;
    fields[key] = line.slice(at + 1);
  }
  return fields;
}

/** The server git asks about, `protocol://host[:port]`, or undefined when git did not say. */
export function credentialServer(fields: Readonly<Record<string, string>>): string | undefined {
  const { protocol, host } = fields;
  if (!protocol || !host || !/^https?$/.test(protocol)) return undefined;
  return `${protocol}://${host}`;
}

/**
 * The server options a helper answers with: its own (a host or an issuer
 * given on its command line), else the server git asks about; undefined when
 * neither is there.
 */
export function helperLogin<T extends { host?: string | undefined; issuer?: string | undefined }>(options: T, fields: Readonly<Record<string, string>>): T | undefined {
  if (options.host !== undefined || options.issuer !== undefined) return options;
  const server = credentialServer(fields);
  return server === undefined ? undefined : { ...options, host: server };
}

/** A value git can take on one line: no newline, no NUL (git refuses those). */
function lineSafe(value: string): string {
  return value.replace(/[\r\n\0]/g, '');
}

/** The answer to `get`: username, the token as password, and (git 2.40+) when it expires. */
export function formatCredential(answer: { username: string; password: string; expires?: number | undefined }): string {
  const lines = [`username=${lineSafe(answer.username)}`, `password=${lineSafe(answer.password)}`];
  if (answer.expires !== undefined && Number.isFinite(answer.expires)) lines.push(`password_expiry_utc=${Math.floor(answer.expires)}`);
  return `${lines.join('\n')}\n`;
}
