// Command-line parsing for oidc-auth. Loads nothing but node:util, so the
// cached-token fast path stays cheap.
import { hostProblem } from '../protocol/host.ts';
import { accountProblem } from '../protocol/store-key.ts';
import type { GitCredentialAction } from '../protocol/git-credential.ts';
import { parseArgs } from 'node:util';
import type { FlowKind } from '../types.ts';

/** A mistake in the command line: exit 2 with the message and a pointer to --help. */
export class UsageError extends Error {}

/** Where the token goes on stdout. */
export type OutputKind = 'token' | 'json' | 'header' | 'dpop-proof';

/** Options shared by every command that touches the store. */
export interface StoreChoice {
  store?: string | undefined;
  appName?: string | undefined;
  /** --no-store: keep the token in memory only (a login every run). */
  noStore?: boolean | undefined;
  /** --account: a named account of the server (else OIDC_AUTH_ACCOUNT, else the one `switch` chose). */
  account?: string | undefined;
}

/** How to reach the server and run a login. */
export interface LoginChoice extends StoreChoice {
  /** py-oidc-auth mode: the application server. */
  host?: string | undefined;
  /** Provider mode: issuer, client id, the variable holding the secret, scopes. */
  issuer?: string | undefined;
  clientId?: string | undefined;
  clientSecretEnv?: string | undefined;
  scope?: string[] | undefined;
  loginRoute?: string | undefined;
  tokenRoute?: string | undefined;
  deviceRoute?: string | undefined;
  ports?: number[] | undefined;
  flow: FlowKind;
  force: boolean;
  timeout?: number | undefined;
  minValidity?: number | undefined;
  browser: boolean;
  qr: boolean;
  /** --paste: the code flow also takes the address the browser ended on, pasted into the terminal. */
  paste: boolean;
  /** --verbose: each step and HTTP exchange on stderr (never a secret). */
  verbose: boolean;
  /** --plain: one line per event, no spinner or QR code (also TERM=dumb, NO_COLOR, CI, ACCESSIBLE). */
  plain: boolean;
  interactive?: true | undefined;
  /** --exchange-from: the provider whose login's access token the host exchanges for its own (with --client-id, --scope, --audience). */
  exchangeFrom?: string | undefined;
  audience?: string | undefined;
  /** --dpop: a DPoP-bound login (with --issuer). */
  dpop?: boolean | undefined;
  /** --par: push the code login's parameters (with --issuer). */
  par?: boolean | undefined;
  /** --client-cert/--client-key or --client-pkcs12 (and --client-passphrase-env): mutual TLS (with --issuer). */
  certificate?: { certFile?: string | undefined; keyFile?: string | undefined; pkcs12File?: string | undefined; passphraseEnv?: string | undefined } | undefined;
}

/** What the command line asks for. */
export type Command =
  | { kind: 'help' }
  | { kind: 'version' }
  | ({ kind: 'list'; json: boolean } & StoreChoice)
  | ({ kind: 'clear' } & StoreChoice)
  | ({ kind: 'remove'; host: string } & StoreChoice)
  | ({ kind: 'export'; host: string } & StoreChoice)
  | ({ kind: 'logout' } & LoginChoice)
  | ({ kind: 'switch'; account: string } & LoginChoice)
  // proof: --dpop-proof METHOD URL, the request a DPoP proof is printed for.
  | ({ kind: 'token'; output: OutputKind; proof?: { method: string; url: string } | undefined } & LoginChoice)
  // --api-version is checked where it is used (protocol/kubernetes.ts stays off the token command's fast path).
  | ({ kind: 'credential'; tool: 'kubernetes'; apiVersion?: string | undefined } & LoginChoice)
  // input: what git wrote to stdin, once read (the fast path reads it, the full path then uses it).
  | ({ kind: 'credential'; tool: 'git'; action: GitCredentialAction; username: string; input?: string | undefined } & LoginChoice)
  | ({ kind: 'credential'; tool: 'wlcg' } & LoginChoice)
  | ({ kind: 'setup'; tool: 'kubernetes'; user?: string | undefined; apiVersion?: string | undefined; write: boolean; command: string } & LoginChoice)
  | ({ kind: 'setup'; tool: 'git'; url?: string | undefined; username?: string | undefined; write: boolean; command: string } & LoginChoice)
  | ({ kind: 'exec'; argv: string[] } & LoginChoice)
  | ({ kind: 'agent'; action: 'start' | 'status' | 'stop'; foreground: boolean; socket?: string | undefined; bearerTokenFile: boolean } & LoginChoice);

/** The actions git runs a credential helper with (gitcredentials(7)). */
const GIT_ACTIONS: readonly GitCredentialAction[] = ['get', 'store', 'erase'];

/** The tools `credential` and `setup` serve. */
const CREDENTIAL_TOOLS = ['kubernetes', 'git', 'wlcg'] as const;
const SETUP_TOOLS = ['kubernetes', 'git'] as const;

const OPTIONS = {
  'login-route': { type: 'string', short: 'l' },
  'token-route': { type: 'string', short: 't' },
  'device-route': { type: 'string', short: 'd' },
  ports: { type: 'string', short: 'p' },
  flow: { type: 'string' },
  force: { type: 'boolean' },
  timeout: { type: 'string' },
  'min-validity': { type: 'string' },
  'no-browser': { type: 'boolean' },
  'no-qr': { type: 'boolean' },
  'no-store': { type: 'boolean' },
  plain: { type: 'boolean' },
  paste: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  interactive: { type: 'boolean' },
  issuer: { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret-env': { type: 'string' },
  scope: { type: 'string', multiple: true },
  account: { type: 'string' },
  'exchange-from': { type: 'string' },
  audience: { type: 'string' },
  dpop: { type: 'boolean' },
  par: { type: 'boolean' },
  'client-cert': { type: 'string' },
  'client-key': { type: 'string' },
  'client-pkcs12': { type: 'string' },
  'client-passphrase-env': { type: 'string' },
  'dpop-proof': { type: 'string' },
  'api-version': { type: 'string' },
  user: { type: 'string' },
  username: { type: 'string' },
  write: { type: 'boolean' },
  command: { type: 'string' },
  foreground: { type: 'boolean' },
  status: { type: 'boolean' },
  stop: { type: 'boolean' },
  socket: { type: 'string' },
  'bearer-token-file': { type: 'boolean' },
  'app-name': { type: 'string' },
  store: { type: 'string' },
  json: { type: 'boolean' },
  header: { type: 'boolean' },
  list: { type: 'boolean' },
  clear: { type: 'boolean' },
  remove: { type: 'string' },
  export: { type: 'string' },
  version: { type: 'boolean', short: 'V' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The client certificate options, checked for what goes together; undefined when none is given. */
function certificateChoice(values: { 'client-cert'?: string | undefined; 'client-key'?: string | undefined; 'client-pkcs12'?: string | undefined; 'client-passphrase-env'?: string | undefined }): LoginChoice['certificate'] {
  const { 'client-cert': certFile, 'client-key': keyFile, 'client-pkcs12': pkcs12File, 'client-passphrase-env': passphraseEnv } = values;
  if (certFile === undefined && keyFile === undefined && pkcs12File === undefined) {
    if (passphraseEnv !== undefined) throw new UsageError('--client-passphrase-env goes with --client-key or --client-pkcs12');
    return undefined;
  }
  if (pkcs12File !== undefined && (certFile !== undefined || keyFile !== undefined)) throw new UsageError('--client-pkcs12 holds certificate and key: give it alone, or --client-cert with --client-key');
  if (pkcs12File === undefined && (certFile === undefined || keyFile === undefined)) throw new UsageError('--client-cert and --client-key go together (or give both in one --client-pkcs12 file)');
  return { certFile, keyFile, pkcs12File, passphraseEnv };
}

/** `53100-53105` or `8080,8081` -> the ports, in order. */
export function parsePorts(text: string): number[] {
  const ports: number[] = [];
  for (const part of text.split(',')) {
    const range = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
    if (!range) throw new UsageError(`--ports: "${part}" is not a port or a range like 53100-53105`);
    const from = Number(range[1]);
    const to = Number(range[2] ?? range[1]);
    if (from === 0 && to === 0) {
      ports.push(0); // any free port
      continue;
    }
    if (from < 1 || to > 65535 || to < from) throw new UsageError(`--ports: "${part}" is out of range (1-65535, low-high)`);
    if (to - from > 1000) throw new UsageError(`--ports: "${part}" is more than 1000 ports`);
    for (let port = from; port <= to; port += 1) ports.push(port);
  }
  return ports;
}

function seconds(name: string, text: string | undefined, { allowZero }: { allowZero: boolean }): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new UsageError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number of seconds, not "${text}"`);
  }
  return value;
}

/** The git action among `rest` (removed from it); exactly one is needed. */
function takeGitAction(rest: string[]): GitCredentialAction {
  const found = rest.filter((word) => (GIT_ACTIONS as readonly string[]).includes(word));
  if (found.length !== 1) throw new UsageError(`credential git needs one action: ${GIT_ACTIONS.join(', ')} (git adds it when it runs the helper)`);
  rest.splice(rest.indexOf(found[0] as string), 1);
  return found[0] as GitCredentialAction;
}

/** Parse `argv` (without node and the script). Throws {@link UsageError}. */
export function parseCommandLine(argv: string[]): Command {
  // exec ... -- CMD ARGS: everything after the first `--` is the command, untouched.
  const dash = argv[0] === 'exec' ? argv.indexOf('--') : -1;
  const own = dash < 0 ? argv : argv.slice(0, dash);
  let parsed;
  try {
    parsed = parseArgs({ args: own, allowPositionals: true, options: OPTIONS });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  const positionals = [...parsed.positionals];
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  if (values['no-store'] && values.store !== undefined) throw new UsageError('give either --store or --no-store, not both');
  if (values.account !== undefined) {
    const problem = accountProblem(values.account);
    if (problem) throw new UsageError(`--account: ${problem}`);
  }
  const storeChoice: StoreChoice = { store: values.store, appName: values['app-name'], noStore: values['no-store'] === true, account: values.account };
  const actions = [values.list, values.clear, values.remove !== undefined, values.export !== undefined].filter(Boolean).length;
  if (actions > 1) throw new UsageError('--list, --clear, --remove and --export go alone');
  if (actions === 1 && positionals.length > 0) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  if (values.list) return { kind: 'list', json: values.json === true, ...storeChoice };
  if (values.clear) return { kind: 'clear', ...storeChoice };
  if (values.remove !== undefined) return { kind: 'remove', host: values.remove, ...storeChoice };
  if (values.export !== undefined) {
    if (!values.json) throw new UsageError('--export writes the whole stored token as JSON: add --json (and redirect it to a file)');
    return { kind: 'export', host: values.export, ...storeChoice };
  }

  const verbs = ['logout', 'switch', 'credential', 'setup', 'exec', 'agent'] as const;
  if (positionals[0] === 'agent' && !values['bearer-token-file']) {
    // The agent serves every login of its store: no server options, only the store and where its socket goes.
    if (positionals.length > 1) throw new UsageError(`unexpected arguments: ${positionals.slice(1).join(' ')} (a server goes with --bearer-token-file only)`);
    if (values.status && values.stop) throw new UsageError('--status and --stop: choose one');
    return { kind: 'agent', action: values.status ? 'status' : values.stop ? 'stop' : 'start', foreground: values.foreground === true, socket: values.socket, bearerTokenFile: false, ...storeChoice, flow: 'auto', force: false, browser: false, qr: false, paste: false, verbose: values.verbose === true, plain: true };
  }
  const verb = verbs.find((name) => name === positionals[0]);
  const rest = verb ? positionals.slice(1) : positionals;
  const tool = verb === 'credential' || verb === 'setup' ? rest.shift() : undefined;
  if (verb === 'credential' && !CREDENTIAL_TOOLS.some((name) => name === tool)) throw new UsageError(`credential needs a tool: ${CREDENTIAL_TOOLS.join(', ')} (e.g. oidc-auth credential kubernetes https://myapp.example.org)`);
  if (verb === 'setup' && !SETUP_TOOLS.some((name) => name === tool)) throw new UsageError(`setup needs a tool: ${SETUP_TOOLS.join(', ')} (e.g. oidc-auth setup git https://myapp.example.org)`);
  if (verb === 'exec' && dash < 0) throw new UsageError('exec runs a command: oidc-auth exec https://myapp.example.org -- CMD [ARGS...]');
  // git runs its helper with the action last: `<helper> get`.
  const gitAction = verb === 'credential' && tool === 'git' ? takeGitAction(rest) : undefined;
  // setup git HOST [URL]: the URL the helper is for (default: the host).
  const gitUrl = verb === 'setup' && tool === 'git' && rest.length === 2 ? rest.pop() : undefined;
  const serverFromGit = verb === 'credential' && tool === 'git' && rest.length === 0 && values.issuer === undefined;
  const issuer = values.issuer;
  // switch SERVER ACCOUNT (or switch --issuer URL --client-id ID ACCOUNT): the account comes last.
  const switchTo = verb === 'switch' ? rest.pop() : undefined;
  // --dpop-proof METHOD URL: the URL comes last.
  const proofMethod = values['dpop-proof'];
  const proofUrl = proofMethod !== undefined ? rest.pop() : undefined;
  if (proofMethod !== undefined) {
    if (verb !== undefined || values.json || values.header) throw new UsageError('--dpop-proof METHOD URL prints the headers of one request; it goes alone with a login, not with a command, --json or --header');
    if (values.dpop !== true) throw new UsageError('--dpop-proof goes with --dpop (a DPoP-bound login)');
    if (!/^[A-Z]{1,20}$/i.test(proofMethod)) throw new UsageError(`--dpop-proof: "${proofMethod}" is not an HTTP method (GET, POST, ...)`);
    if (proofUrl === undefined || !/^https?:\/\//i.test(proofUrl) || !URL.canParse(proofUrl)) {
      throw new UsageError(`--dpop-proof needs the request's full http(s) URL after the method, e.g. --dpop-proof GET https://api.example.org/data${proofUrl ? ` (not ${JSON.stringify(proofUrl)})` : ''}`);
    }
  }
  if (values.dpop && values.issuer === undefined) throw new UsageError('--dpop goes with --issuer (a standard OpenID provider that binds tokens, RFC 9449)');
  if (values.par && values.issuer === undefined) throw new UsageError('--par goes with --issuer (a standard OpenID provider, RFC 9126)');
  const certificate = certificateChoice(values);
  if (certificate && values.issuer === undefined) throw new UsageError('--client-cert, --client-key and --client-pkcs12 go with --issuer (mutual TLS with a standard OpenID provider, RFC 8705)');
  if (verb === 'switch') {
    if (switchTo === undefined) throw new UsageError('switch needs a server and an account: oidc-auth switch https://myapp.example.org work (or "default")');
    if (values.account !== undefined) throw new UsageError('switch takes the account as its last argument, not --account');
    const problem = accountProblem(switchTo);
    if (problem) throw new UsageError(`switch: ${problem}`);
  }
  const [host, ...extra] = rest;
  const exchangeFrom = values['exchange-from'];
  if (issuer !== undefined) {
    if (host !== undefined) throw new UsageError('give either a host or --issuer, not both');
    if (exchangeFrom !== undefined) throw new UsageError('--exchange-from goes with a host (a py-oidc-auth server in broker mode), not with --issuer');
    if (!values['client-id']) throw new UsageError('--issuer needs --client-id');
    const problem = hostProblem(issuer);
    if (problem) throw new UsageError(`--issuer: ${problem}`);
  } else if (!serverFromGit) {
    if (!host) throw new UsageError('a host is required, e.g. oidc-auth https://myapp.example.org (or --issuer URL --client-id ID)');
    const problem = hostProblem(host);
    if (problem) throw new UsageError(problem);
    if (exchangeFrom !== undefined) {
      const fromProblem = hostProblem(exchangeFrom);
      if (fromProblem) throw new UsageError(`--exchange-from: ${fromProblem}`);
      if (!values['client-id']) throw new UsageError('--exchange-from needs --client-id: the client id of the provider login whose token is exchanged');
    } else {
      for (const name of ['client-id', 'client-secret-env', 'audience'] as const) {
        if (values[name] !== undefined) throw new UsageError(`--${name} goes with --issuer or --exchange-from`);
      }
    }
  }
  if (values.audience !== undefined && exchangeFrom === undefined) throw new UsageError('--audience goes with --exchange-from');
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  if (values.json && values.header) throw new UsageError('--json and --header: choose one');
  const flow = (values.flow ?? 'auto') as FlowKind;
  if (!['auto', 'device', 'code'].includes(flow)) throw new UsageError(`--flow must be auto, device or code, not "${flow}"`);
  const login: LoginChoice = {
    ...storeChoice,
    host,
    issuer,
    clientId: values['client-id'],
    clientSecretEnv: values['client-secret-env'],
    scope: values.scope === undefined ? undefined : values.scope.flatMap((item) => item.split(/[\s,]+/)).filter((item) => item !== ''),
    loginRoute: values['login-route'],
    tokenRoute: values['token-route'],
    deviceRoute: values['device-route'],
    ports: values.ports === undefined ? undefined : parsePorts(values.ports),
    flow,
    force: values.force === true,
    timeout: seconds('--timeout', values.timeout, { allowZero: false }),
    minValidity: seconds('--min-validity', values['min-validity'], { allowZero: true }),
    browser: values['no-browser'] !== true,
    qr: values['no-qr'] !== true,
    plain: values.plain === true,
    verbose: values.verbose === true,
    paste: values.paste === true,
    interactive: values.interactive === true ? true : undefined,
    exchangeFrom,
    audience: values.audience,
    dpop: values.dpop === true ? true : undefined,
    par: values.par === true ? true : undefined,
    certificate,
  };
  if (verb === 'logout') return { kind: 'logout', ...login };
  if (verb === 'switch') return { kind: 'switch', ...login, account: switchTo ?? '' };
  const apiVersion = values['api-version'];
  if (gitUrl !== undefined && hostProblem(gitUrl)) throw new UsageError(`setup git: ${hostProblem(gitUrl) ?? ''}`);
  const command = values.command ?? 'oidc-auth';
  if (verb === 'credential' && tool === 'kubernetes') return { kind: 'credential', tool, apiVersion, ...login };
  if (verb === 'credential' && tool === 'git') return { kind: 'credential', tool, action: gitAction ?? 'get', username: values.username ?? 'oauth2', ...login };
  if (verb === 'credential') return { kind: 'credential', tool: 'wlcg', ...login };
  if (verb === 'setup' && tool === 'kubernetes') return { kind: 'setup', tool, user: values.user, apiVersion, write: values.write === true, command, ...login };
  if (verb === 'setup') return { kind: 'setup', tool: 'git', url: gitUrl, username: values.username, write: values.write === true, command, ...login };
  if (verb === 'agent') return { kind: 'agent', action: 'start', foreground: values.foreground === true, socket: values.socket, bearerTokenFile: true, ...login };
  if (verb === 'exec') {
    const run = argv.slice(dash + 1);
    if (run.length === 0) throw new UsageError('exec needs a command after --: oidc-auth exec https://myapp.example.org -- CMD [ARGS...]');
    return { kind: 'exec', argv: run, ...login };
  }
  if (proofMethod !== undefined && proofUrl !== undefined) return { kind: 'token', output: 'dpop-proof', proof: { method: proofMethod.toUpperCase(), url: proofUrl }, ...login };
  return { kind: 'token', output: values.json ? 'json' : values.header ? 'header' : 'token', ...login };
}
