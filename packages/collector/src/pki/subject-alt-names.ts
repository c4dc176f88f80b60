import * as net from 'node:net';
import * as os from 'node:os';
import { ErrorCodes, XimpError } from '@ximp/shared';

export type SubjectAltName = { type: 'dns'; value: string } | { type: 'ip'; value: string };

// A DNS name of letters, digits and hyphens per label, optionally a leading `*.` wildcard.
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Classifies one name as an IP address or a DNS name; null when it is neither. */
export function parseSubjectAltName(text: string): SubjectAltName | null {
  const bare = text.trim().replace(/^\[(.*)\]$/, '$1');
  if (net.isIP(bare) !== 0) return { type: 'ip', value: canonicalIp(bare) };
  const name = bare.toLowerCase().replace(/\.$/, '');
  if (name.length === 0 || name.length > 253) return null;
  const labels = name.split('.');
  const first = labels[0] === '*' && labels.length > 2 ? labels.slice(1) : labels;
  return first.every((label) => DNS_LABEL.test(label)) ? { type: 'dns', value: name } : null;
}

/**
 * The SANs of every managed leaf certificate: each `--hostname`, the machine's host name,
 * `localhost`, `127.0.0.1` and `::1`, without duplicates, in that order.
 * Throws XIMP_ERR_CLI_USAGE naming a `--hostname` that is neither a DNS name nor an IP address.
 */
export function defaultSubjectAltNames(hostnames: readonly string[], machineHostname: string = os.hostname()): SubjectAltName[] {
  const sans: SubjectAltName[] = [];
  for (const hostname of hostnames) {
    const san = parseSubjectAltName(hostname);
    if (san === null) {
      throw new XimpError(ErrorCodes.CLI_USAGE, `--hostname ${JSON.stringify(hostname)} is neither a DNS name nor an IP address`);
    }
    sans.push(san);
  }
  // A host name outside DNS syntax (an underscore, say) is left out rather than failing init.
  const machine = parseSubjectAltName(machineHostname);
  if (machine !== null) sans.push(machine);
  sans.push({ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }, { type: 'ip', value: '::1' });
  return dedupe(sans);
}

/** Parses a list of names (as stored in a certificate) back into SANs, dropping any it cannot read. */
export function subjectAltNamesFrom(names: readonly string[]): SubjectAltName[] {
  return dedupe(names.map(parseSubjectAltName).filter((san): san is SubjectAltName => san !== null));
}

function dedupe(sans: SubjectAltName[]): SubjectAltName[] {
  const seen = new Set<string>();
  return sans.filter((san) => {
    const key = `${san.type}:${san.value}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function canonicalIp(ip: string): string {
  if (net.isIPv4(ip)) return ip;
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

/** The 4 or 16 bytes of an IP address in network order, as a binary string (node-forge's form). */
export function ipToBinaryString(ip: string): string {
  if (net.isIPv4(ip)) return String.fromCharCode(...ip.split('.').map(Number));
  if (!net.isIPv6(ip)) throw new XimpError(ErrorCodes.PKI_INVALID, `not an IP address: ${ip}`);
  let text = ip;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? headGroups
      : [...headGroups, ...new Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  let out = '';
  for (const group of groups) {
    const value = parseInt(group, 16);
    out += String.fromCharCode(value >> 8, value & 0xff);
  }
  return out;
}
