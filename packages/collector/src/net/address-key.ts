import * as net from 'node:net';

const MAPPED_DOTTED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** The eight 16-bit groups of an IPv6 address (zone dropped), or null when it is not one. */
function ipv6Groups(address: string): number[] | null {
  const text = address.replace(/%.*$/, '');
  if (!net.isIPv6(text)) return null;
  let head = text;
  const tail: number[] = [];
  // An embedded dotted IPv4 tail (::ffff:1.2.3.4) is two groups.
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1].split('.').map(Number);
    tail.push((a << 8) | b, (c << 8) | d);
    head = text.slice(0, dotted.index + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const gap = head.indexOf('::');
  let groups: number[];
  if (gap >= 0) {
    const left = parse(head.slice(0, gap));
    const right = [...parse(head.slice(gap + 2)), ...tail];
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    groups = [...parse(head), ...tail];
  }
  return groups.length === 8 ? groups : null;
}

/**
 * The address a peer is counted under by the per-address limits: an IPv4 address as itself (also
 * when a dual-stack listener reports it IPv4-mapped, `::ffff:10.0.0.1`), an IPv6 address by its
 * /64 — the smallest block a site is given, so one host cannot dodge a limit by cycling through
 * the 2^64 addresses of its own subnet.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const mapped = MAPPED_DOTTED.exec(address);
  if (mapped) return mapped[1];
  if (net.isIPv4(address)) return address;
  const groups = ipv6Groups(address);
  if (groups === null) return address;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`;
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}
