// A terminal UI that shows a login as it happens, with React and ink: the
// state, the device code and its countdown, then the outcome. The component
// uses only `useAuthState` from `oidc-auth-client/react`; copy it into any
// React app (ink for terminals, react-dom for pages).
//
//   node examples/ink-status/status.ts https://myapp.example.org
import { Box, render, Text } from 'ink';
import { createElement as h, type ReactElement } from 'react';
import { authenticate, type ServerOptions } from '../../src/index.ts';
import { useAuthState } from '../../src/react.ts';

/** The live status of one server's login. Renders no secret: views never hold one. */
export function LoginStatus({ server }: { server: ServerOptions }): ReactElement {
  const view = useAuthState(server);
  const rows: ReactElement[] = [h(Text, { key: 'state' }, h(Text, { bold: true }, view.host), `  ${view.state}`)];
  if (view.state === 'device-polling' && view.deviceCode) {
    rows.push(
      h(Text, { key: 'open' }, 'Open ', h(Text, { color: 'cyan' }, view.deviceCode.verification_uri)),
      h(Text, { key: 'code' }, 'and enter ', h(Text, { bold: true, color: 'yellow' }, view.deviceCode.user_code)),
      h(Text, { key: 'left', dimColor: true }, `${view.secondsLeft ?? '?'} s left`),
    );
  }
  if (view.state === 'code-awaiting-callback' && view.loginUrl) {
    rows.push(h(Text, { key: 'url' }, 'Open ', h(Text, { color: 'cyan' }, view.loginUrl), `  (${view.secondsLeft ?? '?'} s left)`));
  }
  if (view.state === 'authenticated' && view.expires) {
    rows.push(h(Text, { key: 'ok', color: 'green' }, `Logged in; the token is valid until ${new Date(view.expires * 1000).toISOString()}`));
  }
  if (view.state === 'failed' && view.error) {
    rows.push(h(Text, { key: 'error', color: 'red' }, `${view.error.code}: ${view.error.message}`));
  }
  return h(Box, { flexDirection: 'column' }, ...rows);
}

if (import.meta.main) {
  const server: ServerOptions = { host: process.argv[2] };
  const app = render(h(LoginStatus, { server }), { stdout: process.stderr });
  try {
    await authenticate({ ...server, interactive: true, onDeviceCode: () => {}, onLoginUrl: () => {} });
  } catch {
    process.exitCode = 1; // The UI shows why.
  } finally {
    setTimeout(() => app.unmount(), 100);
  }
}
