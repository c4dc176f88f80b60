import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import {
  CloseCodes,
  ErrorCodes,
  PROTOCOL_VERSION,
  ProtocolError,
  decodeAgentFrame,
  encodeCollectorFrame,
  type CollectorFrame,
  type Hello,
  type Label,
  type Limits,
  type Logger,
  type MetricBatch,
} from '@ximp/shared';
import type { AgentRegistry, LiveSession } from '../registry/agent-registry';
import type { StoredBatch } from '../store/metric-store';
import { scheduleAt, type CancelTimer } from './schedule-at';

/** What a session needs of the metric store (MetricStore implements it). */
export interface SessionMetricStore {
  seriesId(node: string, name: string, labels: Label[]): number;
  append(batch: StoredBatch): Promise<{ duplicate: boolean }>;
  lastSequence(node: string, streamId: string): number;
}

export interface SessionCounters {
  batchesAcked: number;
  samplesAcked: number;
  duplicateBatches: number;
  protocolErrors: number;
  storeFailures: number;
}

export interface AgentSessionDeps {
  registry: AgentRegistry;
  metrics: SessionMetricStore;
  limits: Limits & { helloTimeoutMs: number; pingIntervalMs: number };
  counters: SessionCounters;
  log: Logger;
  now(): number;
  /** Told of every protocol violation, so the server can count it against the peer's address. */
  onProtocolViolation?(address: string): void;
}

export interface SessionIdentity {
  node: string;
  tokenId: string;
  tokenExpiresMs: number;
  address: string;
}

const CLOCK_SKEW_WARN_MS = 5_000;
const CLOCK_SKEW_WARN_EVERY_MS = 5 * 60_000;

/**
 * One agent connection after its upgrade was authenticated: waits for Hello, answers Welcome,
 * stores each MetricBatch and acknowledges it only once it is durable. Any protocol violation
 * closes this session alone, with the close code of the error.
 */
export class AgentSession implements LiveSession {
  readonly id = randomUUID();
  readonly node: string;
  readonly tokenId: string;
  readonly address: string;

  private hello: Hello | undefined;
  /** Stream-local series id -> collector series id, for this session only. */
  private readonly seriesMap = new Map<number, number>();
  private helloTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private cancelExpiry: CancelTimer | undefined;
  private alive = true;
  private closed = false;
  private lastSkewWarnMs = 0;
  /** The agent's count of batches its spool dropped, as last reported in this session. */
  private spoolDroppedTotal = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly identity: SessionIdentity,
    private readonly deps: AgentSessionDeps,
  ) {
    this.node = identity.node;
    this.tokenId = identity.tokenId;
    this.address = identity.address;
  }

  start(): void {
    const { ws, deps } = this;
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('pong', () => {
      this.alive = true;
      if (this.hello) deps.registry.heardFrom(this, deps.now());
    });
    ws.on('close', (code) => this.onClose(code));
    // ws reports only what the peer broke (an oversized frame, a bad opcode) as 'error' and closes.
    ws.on('error', (err) => {
      deps.onProtocolViolation?.(this.address);
      deps.log.warn({ node: this.node, remote: this.address, err: err.message }, 'agent socket error');
    });

    this.helloTimer = setTimeout(() => this.close(CloseCodes.HELLO_TIMEOUT, 'no hello in time'), deps.limits.helloTimeoutMs);
    // A peer that misses a ping period is suspect; one that missed the previous ping too is dead.
    this.pingTimer = setInterval(() => {
      if (!this.alive) {
        deps.log.warn({ node: this.node, remote: this.address }, 'agent missed pings, terminating session');
        ws.terminate();
        return;
      }
      this.alive = false;
      ws.ping();
    }, deps.limits.pingIntervalMs);
    if (this.identity.tokenExpiresMs > 0) {
      this.cancelExpiry = scheduleAt(this.identity.tokenExpiresMs, deps.now, () =>
        this.close(CloseCodes.TOKEN_EXPIRED, 'token expired'),
      );
    }
  }

  /** Ends the session with `code`; safe to call more than once. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimers();
    if (code >= 4000 && code !== CloseCodes.REPLACED) {
      this.send({ type: 'error', code, message: reason });
    }
    this.ws.close(code, reason);
    // A peer that never completes the closing handshake must not hold the socket.
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  private onClose(code: number): void {
    this.closed = true;
    this.clearTimers();
    if (this.hello) this.deps.registry.detach(this);
    this.deps.log.info({ node: this.node, remote: this.address, session: this.id, code }, 'agent disconnected');
  }

  private clearTimers(): void {
    if (this.helloTimer) clearTimeout(this.helloTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.cancelExpiry?.();
    this.helloTimer = this.pingTimer = this.cancelExpiry = undefined;
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    try {
      if (!isBinary) throw new ProtocolError(CloseCodes.MALFORMED, 'text frames are not part of the protocol');
      const frame = decodeAgentFrame(data, this.deps.limits);
      switch (frame.type) {
        case 'hello':
          return this.onHello(frame);
        case 'batch':
          return this.onBatch(frame);
        case 'error':
          this.deps.log.warn({ node: this.node, remote: this.address, code: frame.code, reason: frame.message }, 'agent reported an error');
          return;
      }
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.deps.counters.protocolErrors++;
      this.deps.onProtocolViolation?.(this.address);
      this.deps.log.warn(
        { node: this.node, remote: this.address, session: this.id, code: err.code, close_code: err.closeCode, reason: err.message },
        'agent broke the protocol, closing session',
      );
      this.close(err.closeCode, err.message.slice(0, 120));
    }
  }

  private onHello(hello: Hello): void {
    if (this.hello) throw new ProtocolError(CloseCodes.MALFORMED, 'second hello in one session', { code: ErrorCodes.PROTOCOL_UNEXPECTED });
    if (hello.node !== this.node) {
      throw new ProtocolError(CloseCodes.MALFORMED, 'hello.node differs from the node the token was presented for');
    }
    this.hello = hello;
    if (this.helloTimer) clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
    const { deps } = this;
    deps.registry.attach(this, {
      version: hello.agentVersion,
      intervalMs: hello.intervalMs,
      bootId: hello.bootId,
      host: hello.host,
    });
    const lastAcked = deps.metrics.lastSequence(this.node, hello.streamId);
    this.send({
      type: 'welcome',
      sessionId: this.id,
      protocolVersion: PROTOCOL_VERSION,
      limits: {
        maxFrameBytes: deps.limits.maxFrameBytes,
        maxSamplesPerBatch: deps.limits.maxSamplesPerBatch,
        maxLabelsPerSeries: deps.limits.maxLabelsPerSeries,
        maxSeriesPerSession: deps.limits.maxSeriesPerSession,
      },
      tokenExpiresUnixMs: this.identity.tokenExpiresMs,
      lastAckedSequence: lastAcked,
      pingIntervalMs: deps.limits.pingIntervalMs,
    });
    deps.log.info(
      {
        node: this.node,
        remote: this.address,
        session: this.id,
        version: hello.agentVersion,
        protocol_version: hello.protocolVersion,
        stream: hello.streamId,
        last_acked: lastAcked,
      },
      'agent connected',
    );
  }

  private onBatch(batch: MetricBatch): void {
    const hello = this.hello;
    if (!hello) throw new ProtocolError(CloseCodes.MALFORMED, 'metric batch before hello', { code: ErrorCodes.PROTOCOL_UNEXPECTED });
    const { deps } = this;
    for (const def of batch.definitions) {
      if (this.seriesMap.size >= deps.limits.maxSeriesPerSession && !this.seriesMap.has(def.id)) {
        throw new ProtocolError(CloseCodes.MALFORMED, `session defines more than ${deps.limits.maxSeriesPerSession} series`);
      }
      this.seriesMap.set(def.id, deps.metrics.seriesId(this.node, def.name, def.labels));
    }
    const n = batch.seriesIds.length;
    const seriesIds = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const global = this.seriesMap.get(batch.seriesIds[i]);
      if (global === undefined) {
        throw new ProtocolError(CloseCodes.MALFORMED, `batch ${batch.sequence} uses series id ${batch.seriesIds[i]} that this session never defined`);
      }
      seriesIds[i] = global;
    }
    const now = deps.now();
    this.checkClockSkew(batch.timestampUnixMs, now);
    this.checkSpoolDrops(batch.droppedBatchesTotal);
    deps.registry.batchReceived(this, now);
    const sequence = batch.sequence;
    deps.metrics
      .append({
        node: this.node,
        streamId: hello.streamId,
        sequence,
        timestampMs: batch.timestampUnixMs,
        seriesIds,
        values: Float64Array.from(batch.values),
      })
      .then(({ duplicate }) => {
        if (duplicate) deps.counters.duplicateBatches++;
        else {
          deps.counters.batchesAcked++;
          deps.counters.samplesAcked += n;
        }
        this.send({ type: 'ack', sequence });
      })
      .catch((err: unknown) => {
        // Not stored, so not acknowledged: the agent keeps the batch and replays it on reconnect.
        deps.counters.storeFailures++;
        deps.log.error({ node: this.node, sequence, err: (err as Error).message }, 'storing batch failed, closing session so the agent replays');
        this.close(1011, 'store failed');
      });
  }

  /** An agent whose spool overflowed lost data for good: say so once per increase, and count it. */
  private checkSpoolDrops(total: number): void {
    if (total <= this.spoolDroppedTotal) return;
    this.deps.log.warn({ node: this.node, dropped_batches_total: total }, 'agent spool dropped batches while the collector was unreachable');
    this.spoolDroppedTotal = total;
    this.deps.registry.spoolDropsReported(this, total);
  }

  private checkClockSkew(batchMs: number, now: number): void {
    const skew = batchMs - now;
    if (Math.abs(skew) <= CLOCK_SKEW_WARN_MS || now - this.lastSkewWarnMs < CLOCK_SKEW_WARN_EVERY_MS) return;
    this.lastSkewWarnMs = now;
    this.deps.log.warn({ node: this.node, skew_ms: skew }, 'agent clock skew above 5 s');
  }

  private send(frame: CollectorFrame): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(encodeCollectorFrame(frame), { binary: true }, (err) => {
      if (err) this.deps.log.debug({ node: this.node, err: err.message }, 'send to agent failed');
    });
  }
}
