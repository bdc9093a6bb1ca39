import { isWsl } from '../adapters/browser/environment.ts';
import type { DeviceCode } from '../types.ts';

/** How a run shows the person what to do. */
export interface Presenter {
  /** Called when the person must visit a URL and type a code. Default: print to stderr. */
  onDeviceCode?: ((code: DeviceCode) => void) | undefined;
  /**
   * Called with the login URL of the code flow and the loopback redirect URI
   * it returns to (its port is the one to forward over SSH). Default: print to stderr.
   */
  onLoginUrl?: ((url: string, redirectUri: string) => void) | undefined;
  /** `false`: never open a browser; a function: open it yourself. Default: `open`. */
  openBrowser?: false | ((url: string) => Promise<void> | void) | undefined;
  /**
   * Code flow without a browser on this machine (an SSH session): resolve to
   * the address the person's browser ended on after the login (it fails to
   * load there; they copy it from the address bar). Asked again after a
   * refused one; the loopback callback keeps working meanwhile. Only the
   * address with exactly this login's state is taken.
   */
  readPastedUrl?: ((signal: AbortSignal) => Promise<string>) | undefined;
  /** Told why a pasted address was refused. */
  onPasteRefused?: ((message: string) => void) | undefined;
  /**
   * Told, once for each kind, that the code flow's loopback server refused a
   * request: another user's connection, the one-time login address opened a
   * second time, or a callback from another client than the browser that
   * opened it. The message holds no secret. Default: print to stderr.
   */
  onLoginRefused?: ((message: string) => void) | undefined;
  /**
   * Another process is logging in to this server with this store: this one
   * waits for its result (and takes over if it gives up). Default: print to stderr.
   */
  onWaitingForLogin?: ((holder: { pid: number; hostname: string } | undefined) => void) | undefined;
  /** Told something the person should know that stops nothing (a second account that logged in as the same person). Default: print to stderr. */
  onWarning?: ((message: string) => void) | undefined;
}

/** The presenter fields of `options` (and nothing else), so that every caller passes all of them. */
export function presenterOf(options: Presenter): Presenter {
  return {
    onDeviceCode: options.onDeviceCode,
    onLoginUrl: options.onLoginUrl,
    openBrowser: options.openBrowser,
    readPastedUrl: options.readPastedUrl,
    onPasteRefused: options.onPasteRefused,
    onLoginRefused: options.onLoginRefused,
    onWaitingForLogin: options.onWaitingForLogin,
    onWarning: options.onWarning,
  };
}

function say(text: string): void {
  process.stderr.write(`${text}\n`);
}

async function openWith(presenter: Presenter, url: string): Promise<void> {
  if (presenter.openBrowser === false) return;
  try {
    if (presenter.openBrowser) await presenter.openBrowser(url);
    else await (await import('../adapters/browser/open.ts')).openInBrowser(url);
  } catch {
    // The URL was printed; a browser that did not start is no failure.
  }
}

/** Show a device code (always, also when a browser opens) and open its URL. */
export function showDeviceCode(presenter: Presenter, code: DeviceCode): void {
  try {
    if (presenter.onDeviceCode) presenter.onDeviceCode(code);
    else say(`To log in, open ${code.verification_uri} and enter the code ${code.user_code}` +
      (code.verification_uri_complete ? `\n(or open ${code.verification_uri_complete})` : ''));
  } catch {
    // A throwing callback must not break the login.
  }
  void openWith(presenter, code.uri);
}

/**
 * Where the browser returns, which the provider must accept, and how to
 * reach it when the browser runs on another machine (SSH) or on Windows (WSL).
 */
export function sshHint(redirectUri: string, wsl: boolean = isWsl()): string {
  const port = new URL(redirectUri).port;
  return `The login returns to ${redirectUri}; the provider must accept exactly that redirect URI.\n` +
    `If the browser runs on another machine, forward the callback port first: ssh -L ${port}:localhost:${port} <this host>` +
    (wsl ? `\nThis is WSL: the browser opens on Windows, and its redirect to localhost:${port} must reach WSL. WSL forwards localhost by default; ` +
      'if the page does not load, set localhostForwarding=true in .wslconfig, or log in with the device flow (--flow device, flow: \'device\').' : '');
}

/** Show the code-flow login URL with the SSH hint, and open it. */
export function showLoginUrl(presenter: Presenter, url: string, redirectUri: string): void {
  try {
    if (presenter.onLoginUrl) presenter.onLoginUrl(url, redirectUri);
    else say(`To log in, open this URL in a browser:\n  ${url}\n${sshHint(redirectUri)}`);
  } catch {
    // A throwing callback must not break the login.
  }
  void openWith(presenter, url);
}

/** Say that the loopback login server refused a request (once for each kind). */
export function showLoginRefused(presenter: Presenter, message: string): void {
  try {
    if (presenter.onLoginRefused) presenter.onLoginRefused(message);
    else say(message);
  } catch {
    // A throwing callback must not break the login.
  }
}

/** Say that another process is logging in and this one waits for it. */
export function showWaitingForLogin(presenter: Presenter, holder: { pid: number; hostname: string } | undefined): void {
  try {
    if (presenter.onWaitingForLogin) presenter.onWaitingForLogin(holder);
    else say(`Waiting for the login in ${holder ? `process ${holder.pid} on ${holder.hostname}` : 'another process'}; its token will be used here too.`);
  } catch {
    // A throwing callback must not break the login.
  }
}

/** Tell the person something that stops nothing. */
export function showWarning(presenter: Presenter, message: string): void {
  try {
    if (presenter.onWarning) presenter.onWarning(message);
    else say(`Warning: ${message}`);
  } catch {
    // A throwing callback must not break the login.
  }
}
