// The kernel's socket tables, read as the loopback login server reads them
// to tell who owns the client end of a connection: the pure parser on
// recorded rows of both byte orders, and a cross-check against this
// machine's own /proc/net/tcp and tcp6 with real connections.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { describe, it } from 'node:test';
import { peerOwnership } from '../src/adapters/browser/socket-owner.ts';
import { canonicalAddress, decodeTableAddress, ownerOf, parseSocketTable } from '../src/protocol/socket-table.ts';

// Rows as a little-endian Linux prints them (x86_64): a listener on 127.0.0.1:8080, a client at 127.0.0.1:53000 connected to
// it (uid 1000), the server's accepted end (uid 0), and a TIME_WAIT row (uid 0, as the kernel prints those).
const TCP_LE = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0
   1: 0100007F:CF08 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 1002 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:1F90 0100007F:CF08 01 00000000:00000000 00:00000000 00000000     0        0 1003 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:CF09 0100007F:1F90 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000
`;
// The same client as ::1 and as an IPv4-mapped address, in tcp6.
const TCP6_LE = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:CF0A 00000000000000000000000001000000:1F90 01 00000000:00000000 00:00000000 00000000  1001        0 2001 1 0000000000000000 20 4 30 10 -1
   1: 0000000000000000FFFF00000100007F:CF0B 0000000000000000FFFF00000100007F:1F90 01 00000000:00000000 00:00000000 00000000  1002        0 2002 1 0000000000000000 20 4 30 10 -1
`;

describe('the kernel socket table (pure)', () => {
  it('decodes addresses in either byte order: IPv4, ::1, IPv4-mapped, and a full IPv6 address', () => {
    assert.equal(decodeTableAddress('0100007F', true), '127.0.0.1');
    assert.equal(decodeTableAddress('7F000001', false), '127.0.0.1');
    assert.equal(decodeTableAddress('00000000000000000000000001000000', true), '0000:0000:0000:0000:0000:0000:0000:0001');
    assert.equal(decodeTableAddress('00000000000000000000000000000001', false), '0000:0000:0000:0000:0000:0000:0000:0001');
    assert.equal(decodeTableAddress('0000000000000000FFFF00000100007F', true), '127.0.0.1');
    assert.equal(decodeTableAddress('B80D0120000000000000000001000000', true), '2001:0db8:0000:0000:0000:0000:0000:0001');
    for (const bad of ['', '0100007', '0100007G', '0'.repeat(16), '0'.repeat(33)]) assert.equal(decodeTableAddress(bad, true), undefined, bad);
  });

  it('canonicalAddress puts Node\'s address text in the same form', () => {
    assert.equal(canonicalAddress('127.0.0.1'), '127.0.0.1');
    assert.equal(canonicalAddress('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(canonicalAddress('::1'), '0000:0000:0000:0000:0000:0000:0000:0001');
    assert.equal(canonicalAddress('2001:db8::1'), '2001:0db8:0000:0000:0000:0000:0000:0001');
    assert.equal(canonicalAddress('fe80::1%lo'), 'fe80:0000:0000:0000:0000:0000:0000:0001');
    assert.equal(canonicalAddress('1:2:3:4:5:6:7:8'), '0001:0002:0003:0004:0005:0006:0007:0008');
    for (const bad of ['', 'localhost', '256.0.0.1', '1.2.3', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::8', '12345::', '::ffff:1.2.3.999']) {
      assert.equal(canonicalAddress(bad), undefined, bad);
    }
  });

  it('reads rows, skipping the header and malformed lines; the client end names its owner', () => {
    const rows = parseSocketTable(`${TCP_LE}garbage\n   9: nonsense\n  10: 0100007F:1F90 0100007F:CF08 01 x x x notauid\n`, true);
    assert.equal(rows.length, 4);
    assert.deepEqual(rows[1], { local: { address: '127.0.0.1', port: 53000 }, remote: { address: '127.0.0.1', port: 8080 }, state: 1, uid: 1000 });
    const server = { address: '127.0.0.1', port: 8080 };
    assert.equal(ownerOf(rows, { address: '127.0.0.1', port: 53000 }, server), 1000, 'the client row, not the accepted one');
    assert.equal(ownerOf(rows, { address: '127.0.0.1', port: 8080 }, { address: '127.0.0.1', port: 53000 }), 0, 'the server end is its own row');
    assert.equal(ownerOf(rows, { address: '127.0.0.1', port: 53999 }, server), undefined, 'a socket that is not there has no owner');
  });

  it('IPv6 rows: ::1 and an IPv4-mapped client', () => {
    const rows = parseSocketTable(TCP6_LE, true);
    assert.equal(ownerOf(rows, { address: canonicalAddress('::1') as string, port: 0xcf0a }, { address: canonicalAddress('::1') as string, port: 8080 }), 1001);
    assert.equal(ownerOf(rows, { address: '127.0.0.1', port: 0xcf0b }, { address: '127.0.0.1', port: 8080 }), 1002, 'a dual-stack client to 127.0.0.1');
  });

  it('rows that disagree about the owner give no owner (refused), never a guess', () => {
    const rows = parseSocketTable(`${TCP_LE}   4: 0100007F:CF08 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1001        0 1004 1\n`, true);
    assert.equal(ownerOf(rows, { address: '127.0.0.1', port: 53000 }, { address: '127.0.0.1', port: 8080 }), undefined);
  });
});

describe('the socket owner on this machine', { skip: process.platform !== 'linux' && 'the socket tables are Linux\'s' }, () => {
  async function connectionOn(host: string): Promise<{ owner: Awaited<ReturnType<typeof peerOwnership>>; close(): void }> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    const serverAccepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const client = net.connect({ host, port: (server.address() as net.AddressInfo).port });
    const socket = await serverAccepted;
    const owner = await peerOwnership(socket);
    return { owner, close: () => (client.destroy(), socket.destroy(), server.close()) };
  }

  it('a connection of this process, over 127.0.0.1 and ::1, is this user\'s', async (t) => {
    const v4 = await connectionOn('127.0.0.1');
    v4.close();
    assert.deepEqual(v4.owner, { verdict: 'same' });
    if (!os.networkInterfaces().lo?.some((info) => info.family === 'IPv6')) return t.skip('no IPv6 loopback here');
    const v6 = await connectionOn('::1');
    v6.close();
    assert.deepEqual(v6.owner, { verdict: 'same' });
  });

  it('the recorded rows match what this kernel prints (same header, same columns)', () => {
    const header = fs.readFileSync('/proc/net/tcp', 'latin1').split('\n')[0]?.trim().split(/\s+/).slice(0, 12);
    assert.deepEqual(header, TCP_LE.split('\n')[0]?.trim().split(/\s+/).slice(0, 12));
  });
});
