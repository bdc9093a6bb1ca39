// The statecharts that get a picture in docs/.
import type { AnyStateMachine } from 'xstate';
import { authMachine } from '../src/machines/auth.machine.ts';
import { codeFlowMachine } from '../src/machines/code-flow.machine.ts';
import { deviceFlowMachine } from '../src/machines/device-flow.machine.ts';

export const DIAGRAMS: Array<{ name: string; machine: AnyStateMachine; title: string }> = [
  { name: 'auth.machine', machine: authMachine, title: 'Token lifecycle of one host (authMachine)' },
  { name: 'device-flow.machine', machine: deviceFlowMachine, title: 'Device flow, RFC 8628 (deviceFlowMachine)' },
  { name: 'code-flow.machine', machine: codeFlowMachine, title: 'Authorization code + PKCE with a loopback callback (codeFlowMachine)' },
];
