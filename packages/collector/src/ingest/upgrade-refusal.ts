import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';

/**
 * Answers a refused WebSocket upgrade on the raw socket and closes it. The body names only the
 * reason (`invalid_token`, `revoked`, ...), never anything the caller sent.
 */
export function refuseUpgrade(socket: Duplex, status: number, error: string, extraHeaders: Record<string, string> = {}): void {
  const body = JSON.stringify({ error });
  const headers: Record<string, string> = {
    Connection: 'close',
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
    ...extraHeaders,
  };
  if (status === 401) headers['WWW-Authenticate'] = `Bearer error="${error === 'missing_token' ? 'invalid_request' : 'invalid_token'}"`;
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`];
  for (const [name, value] of Object.entries(headers)) head.push(`${name}: ${value}`);
  if (socket.writable) socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  // The peer normally closes after reading the answer; do not keep a refused socket around.
  setTimeout(() => socket.destroy(), 1000).unref();
}
