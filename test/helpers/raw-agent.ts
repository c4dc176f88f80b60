import WebSocket from 'ws';
import { decodeCollectorFrame, encodeAgentFrame, PROTOCOL_VERSION, type AgentFrame, type CollectorFrame, type SeriesDefinition } from '@ximp/shared';

/** A hand-driven agent connection speaking the protocol with the shared codec, for hostile or exact tests. */
export interface RawAgent {
  ws: WebSocket;
  frames: CollectorFrame[];
  /** Resolves with the close code (or the HTTP status of a refused upgrade, negated). */
  closed: Promise<{ code: number; reason: string }>;
  /** The close code once closed. */
  closeCode: number | undefined;
  send(frame: AgentFrame): Promise<void>;
  /** Polls until `check` holds or the session closed; resolves true, or the close code. */
  until(check: () => boolean, timeoutMs?: number): Promise<true | number>;
}

export function helloFrame(node: string, streamId = 'rawclient'): AgentFrame {
  return {
    type: 'hello',
    protocolVersion: PROTOCOL_VERSION,
    node,
    agentVersion: 'test',
    bootId: '',
    host: { hostname: node, os: '', kernel: '', arch: '', cpuModel: '', cpuCount: 1, memoryBytes: 0, virtualization: '' },
    labels: [],
    intervalMs: 1000,
    streamId,
  };
}

/** Opens an authenticated session as `node`; resolves once the upgrade succeeded. */
export function connectRawAgent(url: string, ca: string, token: string, node: string): Promise<RawAgent> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'ximp.v1', {
      ca,
      headers: { Authorization: `Bearer ${token}`, 'X-Ximp-Node': node },
      minVersion: 'TLSv1.3',
      maxPayload: 8 * 1024 * 1024,
    });
    const frames: CollectorFrame[] = [];
    const closed = new Promise<{ code: number; reason: string }>((done) => {
      ws.on('close', (code, reason) => done({ code, reason: reason.toString() }));
      ws.on('unexpected-response', (_req, res) => {
        done({ code: -(res.statusCode ?? 0), reason: '' });
        reject(new Error(`upgrade refused with ${res.statusCode}`));
      });
    });
    ws.on('error', reject);
    ws.on('message', (d: Buffer) => frames.push(decodeCollectorFrame(d)));
    ws.on('open', () => {
      const client: RawAgent = {
        ws,
        frames,
        closed,
        closeCode: undefined,
        async until(check, timeoutMs = 30_000) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            if (check()) return true;
            if (client.closeCode !== undefined) return client.closeCode;
            if (Date.now() > deadline) throw new Error('timed out waiting on the raw agent session');
            await new Promise((r) => setTimeout(r, 2));
          }
        },
        send: (frame) =>
          new Promise<void>((sent) => {
            if (ws.readyState !== WebSocket.OPEN) return sent();
            ws.send(encodeAgentFrame(frame), { binary: true }, () => sent());
          }),
      };
      void closed.then(({ code }) => (client.closeCode = code));
      resolve(client);
    });
  });
}

/** `n` distinct series `flood_metric{i="<id>"}` with stream-local ids from `from` on. */
export function numberedSeries(from: number, n: number): SeriesDefinition[] {
  return Array.from({ length: n }, (_, k) => ({ id: from + k, name: 'flood_metric', labels: [{ name: 'i', value: String(from + k) }] }));
}

export function batchFrame(sequence: number, definitions: SeriesDefinition[], ids: number[], timestampUnixMs = Date.now()): AgentFrame {
  return { type: 'batch', sequence, timestampUnixMs, definitions, seriesIds: ids, values: ids.map((i) => i), droppedBatchesTotal: 0 };
}

/** Connects and says Hello; resolves with the client and the sequence to send next (the Welcome's watermark + 1). */
export async function openSession(url: string, ca: string, token: string, node: string, streamId = 'flood'): Promise<{ c: RawAgent; next: number }> {
  const c = await connectRawAgent(url, ca, token, node);
  await c.send(helloFrame(node, streamId));
  if ((await c.until(() => c.frames.some((f) => f.type === 'welcome'))) !== true) throw new Error('closed before welcome');
  const welcome = c.frames.find((f) => f.type === 'welcome');
  return { c, next: (welcome?.type === 'welcome' ? welcome.lastAckedSequence : 0) + 1 };
}

/** Sends a batch; resolves 'ack' once acknowledged, or the close code when the collector closed instead. */
export async function sendAndWait(c: RawAgent, frame: AgentFrame): Promise<'ack' | number> {
  const acks = c.frames.filter((f) => f.type === 'ack').length;
  await c.send(frame);
  const outcome = await c.until(() => c.frames.filter((f) => f.type === 'ack').length > acks);
  return outcome === true ? 'ack' : outcome;
}
