/**
 * The load generator's WebSocket client (bench/load/bench-websocket.js) against `ws`'s server
 * over real TLS 1.3 on loopback: what the server receives is a WebSocket session like any other,
 * and what the server does (messages of any size, pings, closes, refusals, silence) reaches the
 * generator as `ws`'s client would report it.
 */
import t, { type Test } from 'tap';
import * as https from 'node:https';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { receiverCa } from './helpers/https-receiver';
import { ROOT, freePort } from './helpers/system';

const { BenchWebSocket } = createRequire(path.join(ROOT, 'bench/load/'))('./bench-websocket.js') as {
  BenchWebSocket: {
    new (url: string, protocol: string, options: object): BenchSocket;
    OPEN: number;
    CLOSED: number;
  };
};

interface BenchSocket {
  readyState: number;
  send(payload: Buffer): void;
  close(code?: number): void;
  terminate(): void;
  on(event: 'open' | 'upgrade', fn: () => void): this;
  on(event: 'message', fn: (data: Buffer) => void): this;
  on(event: 'error', fn: (err: Error) => void): this;
  on(event: 'close', fn: (code: number) => void): this;
  once(event: 'close', fn: (code: number) => void): this;
}

const PROTOCOL = 'ximp.test.v1';
const leaf = receiverCa.issue({ commonName: 'localhost', usage: 'server', sans: [{ type: 'ip', value: '127.0.0.1' }] });
const secureContext = tls.createSecureContext({ ca: receiverCa.certPem, minVersion: 'TLSv1.3' });

interface Server {
  url: string;
  sessions: { ws: WebSocket; headers: Record<string, string | string[] | undefined>; received: Buffer[]; closed: Promise<number> }[];
  connected: Promise<void>;
}

/** `ws`'s server on HTTPS (TLS 1.3, 127.0.0.1, port 0); `refuse` answers the upgrade with that status instead. */
async function startServer(t: Test, options: { refuse?: number; protocol?: string } = {}): Promise<Server> {
  const server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem, minVersion: 'TLSv1.3' });
  const wss = new WebSocketServer({ noServer: true, handleProtocols: () => options.protocol ?? PROTOCOL });
  const sessions: Server['sessions'] = [];
  let onConnected: () => void;
  const connected = new Promise<void>((resolve) => (onConnected = resolve));
  server.on('upgrade', (req, socket, head) => {
    if (options.refuse) {
      socket.end(`HTTP/1.1 ${options.refuse} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const received: Buffer[] = [];
      ws.on('message', (data: Buffer) => received.push(data));
      const closed = new Promise<number>((resolve) => ws.on('close', (code: number) => resolve(code)));
      sessions.push({ ws, headers: req.headers, received, closed });
      onConnected();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sessions) s.ws.terminate();
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `wss://127.0.0.1:${(server.address() as AddressInfo).port}/v1/agent`, sessions, connected };
}

function open(url: string, extra: object = {}): { ws: BenchSocket; events: string[]; closed: Promise<number>; opened: Promise<void> } {
  const ws = new BenchWebSocket(url, PROTOCOL, { secureContext, headers: { Authorization: 'Bearer xyz', 'X-Ximp-Node': 'n1' }, ...extra });
  const events: string[] = [];
  ws.on('upgrade', () => events.push('upgrade'));
  ws.on('error', (err) => events.push(`error: ${err.message}`));
  const opened = new Promise<void>((resolve) => ws.on('open', () => (events.push('open'), resolve())));
  const closed = new Promise<number>((resolve) => ws.once('close', resolve));
  return { ws, events, closed, opened };
}

t.test('a session: the upgrade with its headers, messages both ways of any size, a ping, a close', async (t) => {
  const server = await startServer(t);
  const client = open(server.url);
  const messages: Buffer[] = [];
  client.ws.on('message', (data) => messages.push(Buffer.from(data)));
  await client.opened;
  await server.connected;
  const session = server.sessions[0];
  t.equal(session.headers.authorization, 'Bearer xyz');
  t.equal(session.headers['x-ximp-node'], 'n1');
  t.equal(session.headers['sec-websocket-protocol'], PROTOCOL);
  t.equal(client.ws.readyState, BenchWebSocket.OPEN);

  // Sizes on each side of the 7-bit, 16-bit and 64-bit length forms; the largest spans many TLS records.
  const sizes = [0, 125, 126, 65_535, 65_536, 300_000];
  for (const size of sizes) client.ws.send(Buffer.alloc(size, size % 251));
  for (const size of sizes) session.ws.send(Buffer.alloc(size, (size + 1) % 251));
  const pong = new Promise<Buffer>((resolve) => session.ws.once('pong', resolve));
  session.ws.ping(Buffer.from('are you there'));
  t.equal((await pong).toString(), 'are you there', 'a ping is answered with its payload');
  while (messages.length < sizes.length || session.received.length < sizes.length) await new Promise((r) => setTimeout(r, 10));
  t.same(
    session.received.map((b) => [b.length, b[0]]),
    sizes.map((s) => [s, s === 0 ? undefined : s % 251]),
    'the server got every frame whole',
  );
  t.same(
    messages.map((b) => [b.length, b[0]]),
    sizes.map((s) => [s, s === 0 ? undefined : (s + 1) % 251]),
    'the client got every frame whole',
  );

  session.ws.close(4001, 'revoked');
  t.equal(await client.closed, 4001, "the server's close code is the session's");
  t.equal(await session.closed, 4001, 'the close is answered with the same code');
  t.equal(client.ws.readyState, BenchWebSocket.CLOSED);
  t.same(client.events, ['upgrade', 'open']);
});

t.test('the client closes: the server sees its code', async (t) => {
  const server = await startServer(t);
  const client = open(server.url);
  await client.opened;
  await server.connected;
  client.ws.close(1000);
  t.equal(await server.sessions[0].closed, 1000);
  t.equal(await client.closed, 1000);
});

t.test('refusals and failures end the session with an error and 1006, as ws reports them', async (t) => {
  const refused = await startServer(t, { refuse: 401 });
  let client = open(refused.url);
  t.equal(await client.closed, 1006);
  t.same(client.events, ['error: Unexpected server response: 401']);

  const otherProtocol = await startServer(t, { protocol: 'something.else' });
  client = open(otherProtocol.url);
  t.equal(await client.closed, 1006);
  t.same(client.events, ['error: Server sent an invalid subprotocol']);

  // A server that finishes TLS and then says nothing.
  const held = new Set<tls.TLSSocket>();
  const silent = tls.createServer({ cert: leaf.certPem, key: leaf.keyPem, minVersion: 'TLSv1.3' }, (socket) => {
    held.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of held) socket.destroy();
    return new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  client = open(`wss://127.0.0.1:${(silent.address() as AddressInfo).port}/v1/agent`, { handshakeTimeout: 300 });
  t.equal(await client.closed, 1006);
  t.same(client.events, ['error: Opening handshake has timed out']);

  // A client that does not trust the server's CA (the system's roots only).
  client = open(otherProtocol.url, { secureContext: tls.createSecureContext({ minVersion: 'TLSv1.3' }) });
  t.equal(await client.closed, 1006);
  t.equal(client.events.length, 1);
  t.match(client.events[0], /^error: .*certificate/i);

  client = open(`wss://127.0.0.1:${await freePort()}/v1/agent`);
  t.equal(await client.closed, 1006);
  t.match(client.events, [/^error: connect ECONNREFUSED/]);
});
