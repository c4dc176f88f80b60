import type * as http from 'node:http';
import type * as tls from 'node:tls';

/**
 * Server options that bound how long a peer may take before it has said who it is (SPEC §16):
 * the TLS handshake and the HTTP request headers each within `timeoutMs`. Node checks header
 * and request timeouts on an interval (30 s by default), so the interval follows the timeout.
 */
export function listenerTimeouts(timeoutMs: number): {
  handshakeTimeout: number;
  headersTimeout: number;
  requestTimeout: number;
  connectionsCheckingInterval: number;
} {
  return {
    handshakeTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    // Node requires requestTimeout >= headersTimeout; a body gets a little longer than headers.
    requestTimeout: Math.max(30_000, timeoutMs),
    connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(timeoutMs / 4))),
  };
}

/**
 * Closes a connection that completed TLS but sends no request within `timeoutMs`. Node's own
 * header timeout starts only with a request's first byte: a peer that says nothing at all after
 * the handshake would otherwise hold its connection forever. Once a request has arrived, Node's
 * header, request and keep-alive timeouts take over.
 */
export function closeSilentConnections(server: tls.Server, timeoutMs: number): void {
  const timers = new WeakMap<object, NodeJS.Timeout>();
  const clear = (socket: object): void => {
    const timer = timers.get(socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    timers.delete(socket);
  };
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    timer.unref();
    timers.set(socket, timer);
    socket.once('close', () => clear(socket));
  });
  server.prependListener('request', (req: http.IncomingMessage) => clear(req.socket));
  server.prependListener('upgrade', (req: http.IncomingMessage) => clear(req.socket));
}
