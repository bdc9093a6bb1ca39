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
import type { authMachine } from './machines/auth.machine.ts';

export { authMachine, type AuthContext, type AuthEvent, type AuthRequest, type AuthInput, type CachedToken } from './machines/auth.machine.ts';
export { deviceFlowMachine, type DeviceFlowOutput, type DeviceFlowContext, type DeviceFlowInput } from './machines/device-flow.machine.ts';
export { codeFlowMachine, type CodeFlowOutput, type CodeFlowContext, type CodeFlowInput, type CallbackServerCommand } from './machines/code-flow.machine.ts';
export type { HostPort } from './machines/shared.ts';
export type { TokenStatus } from './protocol/token.ts';
export type { CallbackParams } from './protocol/callback.ts';

/** A host's actor with its full xstate type. */
export type AuthActor = Actor<typeof authMachine>;

/** The actor of an `authState()` handle or a flow, with its full xstate type (for `@xstate/react`'s `useSelector`). Its context holds the token: never log it. */
export function authActorOf(owner: { readonly actor: AuthActorRef }): AuthActor {
  return owner.actor as unknown as AuthActor;
}
