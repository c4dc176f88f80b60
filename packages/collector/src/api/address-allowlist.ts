import * as net from 'node:net';
import { ErrorCodes, XimpError, parseCidr } from '@ximp/shared';

/**
 * `api.allow_cidrs` (SPEC §10): the addresses that may reach the API at all, checked before
 * authentication. An empty list allows every address. IPv4-mapped IPv6 addresses
 * (`::ffff:10.0.0.1`, as a dual-stack listener reports them) are checked as IPv4.
 */
export class AddressAllowlist {
  private readonly list: net.BlockList | null;

  constructor(cidrs: readonly string[]) {
    if (cidrs.length === 0) {
      this.list = null;
      return;
    }
    const list = new net.BlockList();
    for (const text of cidrs) {
      const cidr = parseCidr(text);
      if (cidr === null) throw new XimpError(ErrorCodes.CONFIG_INVALID, `api.allow_cidrs: not a CIDR block: "${text}"`);
      list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
    this.list = list;
  }

  /** True when `address` (a socket's remoteAddress) may use the API. Unknown addresses are refused. */
  allows(address: string | undefined): boolean {
    if (this.list === null) return true;
    if (address === undefined) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return this.list.check(mapped[1], 'ipv4');
    if (net.isIPv4(address)) return this.list.check(address, 'ipv4');
    if (net.isIPv6(address)) return this.list.check(address, 'ipv6');
    return false;
  }
}
