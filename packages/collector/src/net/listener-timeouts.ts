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
