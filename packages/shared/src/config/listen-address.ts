import * as net from 'node:net';

/** Where a server listens. `host` holds an IPv6 address without brackets; port 0 = any free port. */
export interface ListenAddress {
  host: string;
  port: number;
}

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Parses `host:port` or `[ipv6]:port` (e.g. `0.0.0.0:4443`, `localhost:0`, `[::1]:4443`).
 * The host is an IPv4 address, a bracketed IPv6 address or a DNS name; the port 0..65535.
 */
export function parseListenAddress(text: string): ListenAddress | null {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const end = text.indexOf(']:');
    if (end < 0) return null;
    host = text.slice(1, end);
    portText = text.slice(end + 2);
    if (!net.isIPv6(host)) return null;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return null;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    // An unbracketed IPv6 address is ambiguous ("::1:4443"), so it is refused.
    if (host.includes(':')) return null;
    if (!net.isIPv4(host) && !HOST_NAME.test(host)) return null;
  }
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port > 65535) return null;
  return { host, port };
}

/** The inverse of parseListenAddress: brackets an IPv6 host. */
export function formatListenAddress(address: ListenAddress): string {
  return net.isIPv6(address.host) ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
