// kubectl's exec credential plugin protocol (client.authentication.k8s.io,
// k8s.io/client-go/plugin/pkg/client/auth/exec): what kubectl tells a plugin
// in KUBERNETES_EXEC_INFO, the ExecCredential the plugin prints, and the
// kubeconfig `users:` entry that runs it. Pure.

/** The exec credential API versions kubectl speaks (v1alpha1 was removed in 1.24). */
export const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'] as const;

/** One of {@link EXEC_API_VERSIONS}. */
export type ExecApiVersion = (typeof EXEC_API_VERSIONS)[number];

/** The version used when neither kubectl nor the kubeconfig names one. */
export const DEFAULT_EXEC_API_VERSION: ExecApiVersion = 'client.authentication.k8s.io/v1beta1';

/** What kubectl told the plugin. */
export interface ExecInfo {
  /** The version kubectl asked for, when it named one we speak. */
  apiVersion?: ExecApiVersion | undefined;
  /** `spec.interactive`: whether kubectl gave the plugin a terminal; undefined when it did not say (kubectl 1.20 sends `"spec":{}`). */
  interactive?: boolean | undefined;
}

/** Whether `value` is an exec credential version we speak. */
export function isExecApiVersion(value: unknown): value is ExecApiVersion {
  return typeof value === 'string' && (EXEC_API_VERSIONS as readonly string[]).includes(value);
}

/** KUBERNETES_EXEC_INFO as kubectl sets it; anything unreadable says nothing. */
export function parseExecInfo(text: string | undefined): ExecInfo {
  if (text === undefined || text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {};
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  const record = value as { apiVersion?: unknown; spec?: unknown };
  const spec = record.spec !== null && typeof record.spec === 'object' ? record.spec as { interactive?: unknown } : {};
  return {
    ...(isExecApiVersion(record.apiVersion) ? { apiVersion: record.apiVersion } : {}),
    ...(typeof spec.interactive === 'boolean' ? { interactive: spec.interactive } : {}),
  };
}

/**
 * The ExecCredential kubectl reads on the plugin's stdout: the token and
 * when it expires (RFC 3339), so that kubectl reuses it until then.
 */
export function execCredential(apiVersion: ExecApiVersion, token: { access_token: string; expires: number }): string {
  return `${JSON.stringify({
    apiVersion,
    kind: 'ExecCredential',
    status: { token: token.access_token, expirationTimestamp: new Date(token.expires * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') },
  })}\n`;
}

/** YAML's double-quoted scalar for any string (JSON's quoting is a subset of it). */
const quoted = (text: string) => JSON.stringify(text);

/**
 * The kubeconfig `users:` entry that runs `command args` as an exec plugin
 * (interactiveMode IfAvailable: a login where kubectl has a terminal).
 */
export function kubeconfigUser(user: string, command: string, args: readonly string[], apiVersion: ExecApiVersion): string {
  return [
    'users:',
    `- name: ${quoted(user)}`,
    '  user:',
    '    exec:',
    `      apiVersion: ${apiVersion}`,
    `      command: ${quoted(command)}`,
    '      args:',
    ...args.map((arg) => `      - ${quoted(arg)}`),
    '      interactiveMode: IfAvailable',
    '      provideClusterInfo: false',
    '',
  ].join('\n');
}
