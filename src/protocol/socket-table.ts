// Who owns a TCP socket, from the kernel's socket tables (`/proc/net/tcp`,
// `/proc/net/tcp6` on Linux). Pure: the adapter reads the files.
//
// A row looks like (proc(5), net/ipv4/tcp_ipv4.c get_tcp4_sock):
//    sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
//    0: 0100007F:CF08 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 51234 ...
// Addresses are the raw 32-bit words of the address printed with %08X in
// the host's byte order (four words for IPv6); ports are big-endian hex.

/** One end of a TCP connection: a canonical address (see {@link canonicalAddress}) and a port. */
export interface Endpoint {
  address: string;
  port: number;
}

/** One socket of the table. */
export interface SocketRow {
  local: Endpoint;
  remote: Endpoint;
  /** The kernel's TCP state (1 = established, 10 = listening). */
  state: number;
  /** The user that owns the socket. */
  uid: number;
}

const HEX = /^[0-9A-Fa-f]+$/;

/** IPv4 as dotted decimal; an IPv4-mapped IPv6 address as its IPv4; other IPv6 as eight full lowercase groups. */
function fromBytes(bytes: readonly number[]): string {
  if (bytes.length === 4) return bytes.join('.');
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16).padStart(4, '0'));
  return groups.join(':');
}

/** An address field of the table (8 or 32 hex digits, words in the host's byte order). */
export function decodeTableAddress(hex: string, littleEndian: boolean): string | undefined {
  if ((hex.length !== 8 && hex.length !== 32) || !HEX.test(hex)) return undefined;
  const bytes: number[] = [];
  for (let word = 0; word < hex.length; word += 8) {
    const wordBytes = [0, 2, 4, 6].map((at) => Number.parseInt(hex.slice(word + at, word + at + 2), 16));
    bytes.push(...(littleEndian ? wordBytes.reverse() : wordBytes));
  }
  return fromBytes(bytes);
}

function decodeEndpoint(field: string | undefined, littleEndian: boolean): Endpoint | undefined {
  const at = field?.indexOf(':') ?? -1;
  if (field === undefined || at < 0) return undefined;
  const address = decodeTableAddress(field.slice(0, at), littleEndian);
  const portHex = field.slice(at + 1);
  if (address === undefined || portHex.length !== 4 || !HEX.test(portHex)) return undefined;
  return { address, port: Number.parseInt(portHex, 16) };
}

/** The rows of one table; the header and malformed lines are skipped. */
export function parseSocketTable(text: string, littleEndian: boolean): SocketRow[] {
  const rows: SocketRow[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (!/^\d+:$/.test(fields[0] ?? '')) continue;
    const local = decodeEndpoint(fields[1], littleEndian);
    const remote = decodeEndpoint(fields[2], littleEndian);
    const state = fields[3] !== undefined && /^[0-9A-Fa-f]{2}$/.test(fields[3]) ? Number.parseInt(fields[3], 16) : Number.NaN;
    const uid = fields[7] !== undefined && /^\d{1,10}$/.test(fields[7]) ? Number(fields[7]) : Number.NaN;
    if (!local || !remote || Number.isNaN(state) || Number.isNaN(uid)) continue;
    rows.push({ local, remote, state, uid });
  }
  return rows;
}

/** Sixteen bytes of an IPv6 text address (with `::` and a trailing dotted IPv4 allowed), or undefined. */
function ipv6Bytes(text: string): number[] | undefined {
  const zone = text.indexOf('%');
  const bare = zone < 0 ? text : text.slice(0, zone);
  const halves = bare.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === '') return [];
    const out: number[] = [];
    const parts = half.split(':');
    for (const [i, part] of parts.entries()) {
      if (i === parts.length - 1 && part.includes('.')) {
        const v4 = ipv4Bytes(part);
        if (!v4) return undefined;
        out.push(...v4);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(part)) {
        const value = Number.parseInt(part, 16);
        out.push(value >> 8, value & 0xff);
      } else return undefined;
    }
    return out;
  };
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 16 ? head : undefined;
  const fill = 16 - head.length - tail.length;
  return fill < 2 ? undefined : [...head, ...new Array<number>(fill).fill(0), ...tail];
}

function ipv4Bytes(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number);
}

/**
 * The table's form of an address as Node reports it (`127.0.0.1`, `::1`,
 * `::ffff:127.0.0.1`), so that both can be compared; undefined for text
 * that is no IP address.
 */
export function canonicalAddress(text: string): string | undefined {
  const bytes = text.includes(':') ? ipv6Bytes(text) : ipv4Bytes(text);
  return bytes ? fromBytes(bytes) : undefined;
}

const same = (a: Endpoint, b: Endpoint) => a.address === b.address && a.port === b.port;

/**
 * The owner of the socket at `client` connected to `server`, from the rows
 * of both tables; undefined when no row says (the socket is gone, or is not
 * on this host) or when rows disagree.
 */
export function ownerOf(rows: readonly SocketRow[], client: Endpoint, server: Endpoint): number | undefined {
  const owners = new Set(rows.filter((row) => same(row.local, client) && same(row.remote, server)).map((row) => row.uid));
  return owners.size === 1 ? [...owners][0] : undefined;
}
