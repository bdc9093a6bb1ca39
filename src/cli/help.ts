// What `oidc-auth --help` and `--version` print: on the fast path, without
// loading the library.
import { readFileSync } from 'node:fs';

/** The text of `oidc-auth --help`. */
export const HELP = `Usage: oidc-auth <host> [options]          print a valid access token
       oidc-auth --issuer URL --client-id ID [options]
       oidc-auth logout <host> | logout --issuer URL --client-id ID
                                           forget (and revoke where possible)
       oidc-auth switch <host> ACCOUNT       make ACCOUNT the server's default
                                           (a provider: switch --issuer URL
                                           --client-id ID ACCOUNT)
       oidc-auth --list [--json] | --clear | --remove <host>
       oidc-auth --export <host> --json
       oidc-auth credential kubernetes|wlcg <host>
       oidc-auth credential git [<host>] get|store|erase
       oidc-auth setup kubernetes <host> [--user NAME] | setup git <host> [URL]
       oidc-auth exec <host> -- CMD [ARGS...]    run CMD with BEARER_TOKEN set
       oidc-auth agent [--foreground] | agent --status | agent --stop
                                           keep the store's logins fresh and
                                           serve access tokens on a socket
                                           (eval "$(oidc-auth agent)")

Prints a valid access token for a py-oidc-auth application server or a
standard OpenID provider: the cached one, a refreshed one, or a new one after
a device or browser login. Only the token goes to stdout; prompts, progress
and errors go to stderr.

Standard OpenID provider (instead of <host>):
      --issuer URL          the provider's issuer, exactly as it names itself
      --client-id ID        the client registered there
      --client-secret-env VAR  read a confidential client's secret from $VAR
      --scope SCOPES        scopes (default "openid offline_access"); repeatable
      --dpop                tokens bound to a key of this login (DPoP, RFC 9449):
                            worth nothing without it; its own store entry
      --dpop-proof METHOD URL  for a --dpop login: print the Authorization and
                            DPoP headers of one request (| curl -H @- URL)
      --par                 push the login's parameters (PAR, RFC 9126); done
                            anyway when the provider requires it
      --client-cert FILE --client-key FILE  (or --client-pkcs12 FILE)
                            mutual TLS (RFC 8705): tls_client_auth and
                            certificate-bound tokens; --client-passphrase-env
                            VAR holds the passphrase of an encrypted key

Accounts (any server):
      --account NAME        a named account: its own login and store entry
                            (default: $OIDC_AUTH_ACCOUNT, else the account
                            \`switch\` chose, else the default account)

py-oidc-auth server:
      --scope SCOPES        scopes sent to the login route instead of the
                            server's default ones (its own login, code flow)
      --exchange-from URL   no login of its own: exchange the access token of
                            the provider login URL (with --client-id, --scope,
                            --audience) for the server's token (broker mode)
  -l, --login-route PATH    login route (default /auth/v2/login)
  -t, --token-route PATH    token route (default /auth/v2/token)
  -d, --device-route PATH   device route (default /auth/v2/device)
  -p, --ports LIST          callback ports tried in order, e.g. 53100-53105 or
                            8080,8081; 0 = any free port (default with --issuer)

Tools (every one takes the server options above and below):
  credential kubernetes     kubectl's exec credential plugin: an ExecCredential
                            on stdout (--api-version to name one; kubectl's
                            KUBERNETES_EXEC_INFO wins); no login unless kubectl
                            says a person is at its terminal
  credential git ACTION     git's credential helper (get, store, erase); with no
                            host, the server is the one git asks about;
                            --username NAME (default oauth2)
  credential wlcg           write the access token to $BEARER_TOKEN_FILE, else
                            $XDG_RUNTIME_DIR/bt_u<uid>, else /tmp/bt_u<uid>
                            (0600, atomic), and print the path
  exec ... -- CMD           run CMD with BEARER_TOKEN; its exit status is ours
  setup kubernetes|git      print the kubeconfig user / the git config lines
                            (for one URL only); --write applies them;
                            --command PATH if oidc-auth is not on PATH

Agent:
      --foreground          run the agent here (systemd, tests) instead of
                            in the background
      --socket PATH         its socket (default $XDG_RUNTIME_DIR/oidc-auth/...)
      --bearer-token-file   with a server: keep the WLCG bearer token file of
                            that login rewritten before each expiry
  With OIDC_AUTH_SOCK set, every command asks the agent and reads or writes
  nothing in the local store (oidc-agent's oidc-token works with it too).

Login:
      --flow KIND           auto | device | code (default auto: device flow,
                            browser login where the server has none)
      --force               log in again even if a token is cached
      --min-validity SECS   refresh when less than SECS remain (default 60)
      --timeout SECS        time to finish an interactive login (default 600)
      --no-browser          never open a browser; print the URL only
      --paste               code flow: also take the address the browser ended
                            on, pasted here (automatic on a terminal when no
                            browser can be opened, e.g. over SSH)
      --no-qr               no QR code next to the device code
  -v, --verbose             each step on stderr: states, HTTP exchanges (no
                            query, no body), lock waits, which token and why
      --plain               one line per event: no spinner or QR code, the
                            time left every 30 s (screen readers, log files;
                            also with TERM=dumb, NO_COLOR, CI or ACCESSIBLE)
      --interactive         allow a login although stdin or stderr is no terminal

Output:
      --json                the whole token as JSON (usable as OIDC_TOKEN_FILE)
      --header              "Authorization: Bearer <token>", for curl -H

Store:
      --store PATH|URL      token store file (default: $OIDC_TOKEN_FILE, else
                            ~/.cache/<app-name>/token-store.json), or a Redis
                            store: redis://[:password@]host:port[/db][?prefix=app:]
      --app-name NAME       store folder name (default py-oidc-auth)
      --store keyring       the operating system's keyring (also OIDC_AUTH_STORE=
                            keyring); falls back to the file, with a warning
      --no-store            keep the token in memory only: nothing on disk
                            (a login every run)
      --list                list stored logins: server, account, who, state,
                            expiry (--json: all of it, for scripts)
      --clear               remove every stored token
      --remove HOST         remove the token of HOST (--account: of that account)
      --export HOST --json  print the stored token of HOST as JSON, without a
                            request (for the Python client, or OIDC_TOKEN_FILE)

  -V, --version, -h, --help

Environment: OIDC_TOKEN_FILE (token file for batch jobs), OIDC_AUTH_SOCK (an
agent's socket), OIDC_AUTH_ACCOUNT
(as --account), OIDC_AUTH_DEBUG=1 (as --verbose), NO_COLOR, ACCESSIBLE,
XDG_CACHE_HOME, XDG_CONFIG_HOME (where switch remembers accounts); a
batch-job variable (SLURM_JOB_ID, PBS_JOBID, ...) means no interactive login.

Exit codes: 0 ok, 1 authentication failed, 2 usage error,
            3 login required but no interactive session, 130 cancelled.

Examples:
  oidc-auth https://myapp.example.org
  curl -H "$(oidc-auth https://myapp.example.org --header)" https://myapp.example.org/api
  oidc-auth https://myapp.example.org --min-validity 3600 --json > token.json
  OIDC_TOKEN_FILE=token.json my-batch-job      # on a node without a browser
  oidc-auth --issuer https://idp.example.org --client-id my-cli --scope "openid offline_access"
  oidc-auth https://myapp.example.org --account project
  oidc-auth switch https://myapp.example.org project
  oidc-auth https://other.example.org --exchange-from https://idp.example.org --client-id my-cli
  oidc-auth --list
`;

/**
 * This package's version, from its package.json: the nearest one above this
 * module named oidc-auth-client (src/cli/, dist/cli/ and the bundle's chunks
 * sit at different depths).
 */
function version(): string {
  for (let folder = new URL('./', import.meta.url); ; folder = new URL('../', folder)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', folder), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'oidc-auth-client' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // No package.json here: one folder up.
    }
    if (folder.pathname === '/' || new URL('../', folder).href === folder.href) return 'unknown';
  }
}

/** The output of `--help` or `--version`. */
export function answerAtOnce(kind: 'help' | 'version'): string {
  return kind === 'help' ? HELP : `${version()}\n`;
}
