// A snapshot of the lifecycle as its secret-free view (views.ts stays free
// of xstate's types; this is where a snapshot becomes a view).
import type { SnapshotFrom } from 'xstate';
import type { authMachine } from '../machines/auth.machine.ts';
import type { AuthError } from '../errors.ts';
import type { AuthStateError, AuthStateName, AuthStateView } from './views.ts';

/** An error as the view carries it. */
function stateError(error: AuthError | undefined): AuthStateError | undefined {
  return error ? { code: error.code, message: error.message, status: error.status } : undefined;
}

/**
 * The secret-free view of a snapshot. `askedSince` (Unix seconds) is when the
 * person was shown the current device code or login URL, for the countdown.
 */
export function viewOf(snapshot: SnapshotFrom<typeof authMachine>, askedSince?: number, now = Date.now() / 1000): AuthStateView {
  const { context } = snapshot;
  const state = (typeof snapshot.value === 'string' ? snapshot.value : Object.keys(snapshot.value)[0]) as AuthStateName;
  const deviceWaiting = snapshot.matches({ 'device-polling': 'waiting' }) && context.deviceCode !== undefined;
  const codeWaiting = snapshot.matches({ 'code-awaiting-callback': 'waiting' });
  const deviceExpiresAt = context.deviceCode && askedSince !== undefined ? Math.floor(askedSince + context.deviceCode.expires_in) : undefined;
  const loginExpiresAt = codeWaiting && askedSince !== undefined ? Math.floor(askedSince + (context.request?.timeout ?? 0)) : undefined;
  const expiresAt = deviceWaiting ? deviceExpiresAt : loginExpiresAt;
  return {
    host: context.host,
    state,
    run: context.run,
    deviceCode: context.deviceCode,
    deviceCodeExpiresAt: deviceExpiresAt,
    loginExpiresAt,
    secondsLeft: expiresAt === undefined ? undefined : Math.max(0, Math.floor(expiresAt - now)),
    loginUrl: context.loginUrl,
    expires: context.token?.expires,
    refreshExpires: context.token?.refresh_expires,
    who: context.token?.who,
    backgroundError: stateError(context.freshError),
    error: stateError(context.error),
  };
}
