/**
 * The statecharts themselves, for `machine.provide()`, inspection, drawing
 * and the Stately editor: `oidc-auth-client/machines`. A subpath of its own,
 * so that the root entry's types never need xstate's declarations.
 *
 * @example
 * ```ts
 * import { authState } from 'oidc-auth-client';
 * import { authActorOf } from 'oidc-auth-client/machines';
 * import { useSelector } from '@xstate/react';
 *
 * const loggedIn = useSelector(authActorOf(authState({ host })), (snapshot) => snapshot.matches('authenticated'));
 * ```
 *
 * @packageDocumentation
 */
import type { Actor } from 'xstate';
import type { AuthActorRef } from './host/views.ts';
import { authMachine as authStatechart } from './machines/auth.machine.ts';
import { codeFlowMachine as codeFlowStatechart } from './machines/code-flow.machine.ts';
import { deviceFlowMachine as deviceFlowStatechart } from './machines/device-flow.machine.ts';

export type { AuthContext, AuthEvent, AuthRequest, AuthInput, CachedToken } from './machines/auth.machine.ts';
export type { DeviceFlowOutput, DeviceFlowContext, DeviceFlowInput } from './machines/device-flow.machine.ts';
export type { CodeFlowOutput, CodeFlowContext, CodeFlowInput, CallbackServerCommand } from './machines/code-flow.machine.ts';

// The machines are exported under named types, so that the reference shows one type name for each instead of
// unfolding every state's configuration (typedoc would list hundreds of members of the inferred object types).

/** The xstate type of {@link authMachine}. */
export type AuthMachine = typeof authStatechart;
/** The xstate type of {@link deviceFlowMachine}. */
export type DeviceFlowMachine = typeof deviceFlowStatechart;
/** The xstate type of {@link codeFlowMachine}. */
export type CodeFlowMachine = typeof codeFlowStatechart;

/**
 * The token lifecycle of one host: cached -> refreshing -> device-polling /
 * code-awaiting-callback -> authenticated / failed; a server whose token comes
 * from another login goes cached -> exchanging instead. Its actions and actors
 * are the adapters' work, replaceable with `authMachine.provide()`.
 */
export const authMachine: AuthMachine = authStatechart;
/** The device flow (RFC 8628) as a statechart: request a code, show it, poll at the server's interval, back off on `slow_down`. */
export const deviceFlowMachine: DeviceFlowMachine = deviceFlowStatechart;
/** Authorization code + PKCE with a loopback callback, as a statechart: listen, show and open the login URL, exchange the code, answer the browser. */
export const codeFlowMachine: CodeFlowMachine = codeFlowStatechart;
export type { HostPort } from './machines/shared.ts';
export type { TokenStatus } from './protocol/token.ts';
export type { CallbackParams } from './protocol/callback.ts';

/** A host's actor with its full xstate type. */
export type AuthActor = Actor<AuthMachine>;

/** The actor of an `authState()` handle or a flow, with its full xstate type (for `@xstate/react`'s `useSelector`). Its context holds the token: never log it. */
export function authActorOf(owner: { readonly actor: AuthActorRef }): AuthActor {
  return owner.actor as unknown as AuthActor;
}
