// Who is at the other end of a loopback connection: on Linux the kernel's
// socket tables name the user that owns each socket, so the client's address
// and port give its uid. Elsewhere there is no such lookup here.
import fs from 'node:fs/promises';
import type { Socket } from 'node:net';
import os from 'node:os';
import { isWsl, type WslSigns } from './environment.ts';
import { canonicalAddress, ownerOf, parseSocketTable, type Endpoint } from '../../protocol/socket-table.ts';

/** The tables of this network namespace, IPv4 and IPv6. */
const TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];

/**
 * What is known of a connection's owner: `same` (this process's user),
 * `other` (another user, or a socket the tables do not show), or
 * `unknown` (this platform offers no lookup; the other measures must do).
 */
export type PeerOwnership = { verdict: 'same' } | { verdict: 'other'; uid: number | undefined } | { verdict: 'unknown'; why: string };

/** Why this machine cannot tell who owns a socket, or undefined when it can. */
export function ownerLookupMissing(signs?: Partial<WslSigns>): string | undefined {
  const platform = signs?.platform ?? process.platform;
  if (platform !== 'linux' || typeof process.getuid !== 'function') return `${platform} publishes no socket owners`;
  // WSL2 delivers the Windows browser's connections through a relay of its own (or, mirrored, with no local socket at all).
  if (isWsl(signs)) return 'WSL relays the Windows browser\'s connections';
  return undefined;
}

function endpoint(address: string | undefined, port: number | undefined): Endpoint | undefined {
  const canonical = address === undefined ? undefined : canonicalAddress(address);
  return canonical === undefined || port === undefined ? undefined : { address: canonical, port };
}

/** Whose is the client end of `socket` (an accepted loopback connection)? */
export async function peerOwnership(socket: Socket): Promise<PeerOwnership> {
  const missing = ownerLookupMissing();
  if (missing) return { verdict: 'unknown', why: missing };
  const client = endpoint(socket.remoteAddress, socket.remotePort);
  const server = endpoint(socket.localAddress, socket.localPort);
  if (!client || !server) return { verdict: 'other', uid: undefined };
  const texts = await Promise.all(TABLES.map((table) => fs.readFile(table, 'latin1').catch(() => undefined)));
  if (texts.every((text) => text === undefined)) return { verdict: 'unknown', why: '/proc/net/tcp cannot be read' };
  const littleEndian = os.endianness() === 'LE';
  const rows = texts.flatMap((text) => (text === undefined ? [] : parseSocketTable(text, littleEndian)));
  const uid = ownerOf(rows, client, server);
  return uid !== undefined && uid === (process.getuid as () => number)() ? { verdict: 'same' } : { verdict: 'other', uid };
}
