/**
 * A collector that follows a test's script instead of the rules, to see what the real agent does
 * with answers the real collector never gives (an Ack above what was sent, a Welcome without
 * pings). Real TLS 1.3 on a loopback port with the certificates `init` makes, real WebSocket
 * frames; it stops in teardown.
 */
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  DEFAULT_LIMITS,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
  decodeAgentFrame,
  encodeCollectorFrame,
  serverTlsOptions,
  type CollectorFrame,
  type Hello,
  type MetricBatch,
  type Welcome,
} from '@ximp/shared';
import { prepareCollector } from './system';

export interface FakeSession {
  ws: WebSocket;
  hello: Hello | undefined;
  batches: MetricBatch[];
  welcomedAt: number | undefined;
  /** The close code and when the session ended; undefined while open. */
  closed: { code: number; at: number } | undefined;
  send(frame: CollectorFrame): void;
}

export interface FakeBehaviour {
  /** Fields of the Welcome sent for a Hello (default: the stream's highest acknowledged, ping interval 0). */
  welcome?: (hello: Hello, session: FakeSession) => Partial<Omit<Welcome, 'type'>> | Promise<Partial<Omit<Welcome, 'type'>>>;
  /** Default: store it and acknowledge its sequence. */
  onBatch?: (batch: MetricBatch, session: FakeSession) => void;
}

export interface FakeCollector {
  url: string;
  caFile: string;
  sessions: FakeSession[];
  /** Highest acknowledged sequence per stream id; tests may preset it ("already stored"). */
  acked: Map<string, number>;
  stop(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function startFakeCollector(t: Teardown, behaviour: FakeBehaviour = {}): Promise<FakeCollector> {
  const paths = prepareCollector(t);
  const pki = path.join(paths.dataDir, 'pki');
  const server = https.createServer(
    serverTlsOptions({ cert: fs.readFileSync(path.join(pki, 'collector.pem')), key: fs.readFileSync(path.join(pki, 'collector-key.pem')) }),
  );
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: DEFAULT_LIMITS.maxFrameBytes,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  const sessions: FakeSession[] = [];
  const acked = new Map<string, number>();
  server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => accept(ws)));

  const accept = (ws: WebSocket): void => {
    const session: FakeSession = {
      ws,
      hello: undefined,
      batches: [],
      welcomedAt: undefined,
      closed: undefined,
      send: (frame) => ws.send(encodeCollectorFrame(frame)),
    };
    sessions.push(session);
    ws.on('close', (code) => (session.closed = { code, at: Date.now() }));
    ws.on('error', () => undefined);
    ws.on('message', (data: Buffer) => {
      const frame = decodeAgentFrame(data);
      if (frame.type === 'hello') {
        session.hello = frame;
        void Promise.resolve(behaviour.welcome?.(frame, session) ?? {}).then((fields) => {
          session.welcomedAt = Date.now();
          session.send({
            type: 'welcome',
            sessionId: `fake-${sessions.length}`,
            protocolVersion: PROTOCOL_VERSION,
            limits: { ...DEFAULT_LIMITS },
            tokenExpiresUnixMs: 0,
            lastAckedSequence: acked.get(frame.streamId) ?? 0,
            pingIntervalMs: 0,
            ...fields,
          });
        });
      } else if (frame.type === 'batch') {
        session.batches.push(frame);
        if (behaviour.onBatch) {
          behaviour.onBatch(frame, session);
        } else {
          const stream = session.hello?.streamId ?? '';
          acked.set(stream, Math.max(acked.get(stream) ?? 0, frame.sequence));
          session.send({ type: 'ack', sequence: frame.sequence });
        }
      }
    });
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const client of wss.clients) client.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t.teardown(stop);
  return { url: `wss://127.0.0.1:${port}/v1/agent`, caFile: paths.caFile, sessions, acked, stop };
}

/** A token of the right form; the fake collector does not check it. */
export const FAKE_TOKEN = `ximp_fake00000000_${'s'.repeat(52)}`;
