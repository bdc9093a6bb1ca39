/**
 * React binding: `useAuthState(serverOptions)` renders a server's token
 * lifecycle (state, device code, countdown, expiry, error) and re-renders on
 * every change, once a second while the person is asked to act. React is an
 * optional peer dependency; the root entry never loads it.
 *
 * @example
 * ```tsx
 * import { useAuthState } from 'oidc-auth-client/react';
 *
 * function LoginStatus({ host }: { host: string }) {
 *   const view = useAuthState({ host });
 *   if (view.state === 'device-polling' && view.deviceCode) {
 *     return <p>Open {view.deviceCode.verification_uri} and enter {view.deviceCode.user_code} ({view.secondsLeft} s left)</p>;
 *   }
 *   return <p>{view.state}</p>;
 * }
 * ```
 *
 * @packageDocumentation
 */
import { useSyncExternalStore } from 'react';
import { authState } from './api/authenticate.ts';
import type { AuthStateView } from './host/views.ts';
import type { Inspector } from './protocol/inspection.ts';
import type { ServerOptions } from './api/settings.ts';

export type { AuthStateView } from './host/views.ts';

/**
 * The secret-free view of a server's token lifecycle, kept current: the same
 * host actor that `authenticate()` with the same options uses (it starts
 * nothing by itself). The view object stays the same between changes.
 *
 * @example
 * ```tsx
 * function LoginStatus({ host }: { host: string }) {
 *   const view = useAuthState({ host });
 *   return view.state === 'device-polling' && view.deviceCode
 *     ? `Open ${view.deviceCode.verification_uri} and enter ${view.deviceCode.user_code}`
 *     : view.state;
 * }
 * ```
 */
export function useAuthState(options: ServerOptions & { inspect?: Inspector | undefined }): AuthStateView {
  const handle = authState(options);
  return useSyncExternalStore(handle.subscribe, handle.getSnapshot, handle.getSnapshot);
}
