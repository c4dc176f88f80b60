import type * as net from 'node:net';
import type { ThrottledLog } from '@ximp/shared';
import { addressKey } from './address-key';

export interface ConnectionGuardOptions {
  /** Which listener, in log lines and refusal kinds: `agents` or `api`. */
  listener: string;
  /** Concurrent connections one address (IPv6: one /64) may hold before it authenticated. */
  maxUnauthenticatedPerAddress: number;
  /** `api.allow_cidrs` on the API listener: false closes the connection before TLS. */
  allows?(address: string | undefined): boolean;
  /** Refusals: one line per address and reason per minute, with a count. */
  refusals: ThrottledLog;
  /** Where refusals are counted (the listener's own counters, shown in /metrics); default its own. */
  counters?: ConnectionGuardCounters;
}

export interface ConnectionGuardCounters {
  refusedByAllowlist: number;
  refusedPerAddress: number;
  refusedAtCapacity: number;
}

/**
 * The listeners' accept queue. Node's default (511) overflows under a burst of connects, and an
 * overflowed SYN is retried by the peer only after a second, which a real agent would feel during
 * a flood; the kernel caps this at net.core.somaxconn.
 */
export const LISTEN_BACKLOG = 4096;

interface Tracked {
  socket: net.Socket;
  key: string;
  authenticated: boolean;
}

/**
 * Accept-time checks for a TLS listener, run on the raw TCP socket before the handshake starts,
 * so a refused peer costs a close and no cryptography: the address allowlist, and a per-address
 * cap on connections that have not authenticated yet (SPEC §16, `max_unauthenticated_per_address`)
 * so idle or slow peers from one address cannot fill the listener. A connection leaves the count
 * when it closes or when its owner calls `authenticated()`.
 */
export class ConnectionGuard {
  readonly counters: ConnectionGuardCounters;
  /** Live connections by `address|port`: a TLS socket and its raw socket share the tuple. */
  private readonly tracked = new Map<string, Tracked>();
  private readonly unauthenticated = new Map<string, number>();

  constructor(private readonly options: ConnectionGuardOptions) {
    this.counters = options.counters ?? { refusedByAllowlist: 0, refusedPerAddress: 0, refusedAtCapacity: 0 };
  }

  /** Checks every connection `server` accepts; counts those `maxConnections` dropped. */
  attach(server: net.Server): void {
    // The TLS server's own 'connection' listener wraps every socket in TLS; it runs only for
    // sockets admitted here, so a refused peer never meets the TLS layer at all.
    const inner = server.listeners('connection') as ((socket: net.Socket) => void)[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: net.Socket) => {
      if (!this.admit(socket)) return;
      for (const listener of inner) listener.call(server, socket);
    });
    server.on('drop', (data?: { remoteAddress?: string }) => {
      this.counters.refusedAtCapacity++;
      this.refuse('capacity', data?.remoteAddress, 'listener at max connections');
    });
  }

  /** The connection proved who it is: it no longer counts against its address. */
  authenticated(socket: { remoteAddress?: string; remotePort?: number }): void {
    const entry = this.tracked.get(tupleOf(socket));
    if (!entry || entry.authenticated) return;
    entry.authenticated = true;
    this.release(entry.key);
  }

  /** Cuts every connection not yet authenticated (at stop: handshakes in progress, idle peers). */
  destroyUnauthenticated(): void {
    for (const entry of [...this.tracked.values()]) if (!entry.authenticated) entry.socket.destroy();
  }

  private admit(socket: net.Socket): boolean {
    const address = socket.remoteAddress;
    if (this.options.allows && !this.options.allows(address)) {
      this.counters.refusedByAllowlist++;
      this.refuse('allowlist', address, 'address not in api.allow_cidrs');
      socket.destroy();
      return false;
    }
    const key = addressKey(address);
    const held = this.unauthenticated.get(key) ?? 0;
    if (held >= this.options.maxUnauthenticatedPerAddress) {
      this.counters.refusedPerAddress++;
      this.refuse('per_address', address, 'too many unauthenticated connections from this address');
      socket.destroy();
      return false;
    }
    this.unauthenticated.set(key, held + 1);
    const tuple = tupleOf(socket);
    const entry: Tracked = { socket, key, authenticated: false };
    this.tracked.set(tuple, entry);
    socket.once('close', () => {
      if (this.tracked.get(tuple) === entry) this.tracked.delete(tuple);
      if (!entry.authenticated) {
        entry.authenticated = true;
        this.release(key);
      }
    });
    return true;
  }

  private release(key: string): void {
    const held = (this.unauthenticated.get(key) ?? 1) - 1;
    if (held <= 0) this.unauthenticated.delete(key);
    else this.unauthenticated.set(key, held);
  }

  private refuse(reason: string, address: string | undefined, why: string): void {
    const { listener } = this.options;
    this.options.refusals.report(
      'warn',
      `${listener}_connection_refused_${reason}`,
      { listener, remote: address ?? 'unknown', reason: why },
      'connection refused at accept',
      addressKey(address),
    );
  }
}

function tupleOf(socket: { remoteAddress?: string; remotePort?: number }): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;
}
