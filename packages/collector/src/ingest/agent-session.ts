import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import {
  CloseCodes,
  ErrorCodes,
  hasCode,
  PROTOCOL_VERSION,
  ProtocolError,
  RESERVED_METRIC_NAMES,
  type ThrottledLog,
  encodeAck,
  encodeCollectorFrame,
  readAgentFrame,
  type CollectorFrame,
  type Hello,
  type Label,
  type Limits,
  type Logger,
  type MetricBatch,
  type TypedMetricBatch,
} from '@ximp/shared';
import { DEFAULT_COLLECTOR_CONFIG } from '../config';
import type { AgentRegistry, BatchTiming, LiveSession } from '../registry/agent-registry';
import type { FaultReporter } from '../fault-reporter';
import type { StoredBatch } from '../store/metric-store';
import { SeriesHold } from '../store/series-hold';
import { COLLECTOR_STREAM_ID } from '../store/up-series-writer';
import type { BackPressure } from './back-pressure';
import { scheduleAt, type CancelTimer } from './schedule-at';
import { SeriesIdMap } from './series-id-map';
import { sharedDeadlineQueue, type DeadlineMember, type DeadlineQueue } from './deadline-queue';
import { sharedTimerWheel, type TimerWheel, type WheelMember } from './timer-wheel';

/** What a session needs of the metric store (MetricStore implements it). */
export interface SessionMetricStore {
  /** The id of a series the session defines, held by `holder`; throws XIMP_ERR_SERIES_LIMIT past a limit. */
  resolveSeries(node: string, name: string, labels: readonly Label[], holder: SeriesHold): number;
  /** The id of a known series, or undefined; never creates one. */
  findSeries(node: string, name: string, labels: readonly Label[]): number | undefined;
  releaseSeries(holder: SeriesHold): void;
  /** A hint: the session's first batch is about to define `count` series. */
  expectSeries?(node: string, count: number): void;
  append(batch: StoredBatch): Promise<{ duplicate: boolean }>;
  /** The stream's contiguous watermark: every batch up to it is stored. */
  lastSequence(node: string, streamId: string): number;
}

export interface SessionCounters {
  batchesReceived: number;
  samplesReceived: number;
  batchesAcked: number;
  samplesAcked: number;
  duplicateBatches: number;
  protocolErrors: number;
  storeFailures: number;
}

export interface AgentSessionDeps {
  registry: AgentRegistry;
  metrics: SessionMetricStore;
  limits: Limits & { helloTimeoutMs: number; pingIntervalMs: number; maxFutureSkewMs?: number };
  counters: SessionCounters;
  log: Logger;
  now(): number;
  /** Where a fault that is not the agent's doing goes (a storage error): counted, logged once a minute. */
  faults?: FaultReporter;
  /** Refusals of an agent's input that is well-formed but over a limit: counted by kind, logged once a minute per node. */
  refusals?: ThrottledLog;
  /** Where a session goes that stopped acknowledging because a remote store's queue is full. */
  backPressure?: BackPressure;
  /** Told of every protocol violation, so the server can count it against the peer's address. */
  onProtocolViolation?(address: string): void;
  /** Told, for every ack sent, how long after the batch's frame arrived (seconds). */
  observeAck?(seconds: number): void;
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
 * Batches still in the agent's spool behind `batch`, estimated: the protocol carries no spool
 * size, but the agent makes one batch per interval and sends its spool oldest first, so a batch
 * sent this long after it was made has about (sent − made) / interval batches behind it. Both
 * times are the agent's own clock, so skew does not enter. Null from agents that tell no send time.
 */
export function spoolBacklog(batch: Pick<MetricBatch, 'sentUnixMs' | 'timestampUnixMs'>, intervalMs: number): number | null {
  if (!batch.sentUnixMs || !(intervalMs > 0)) return null;
  return Math.max(0, Math.floor((batch.sentUnixMs - batch.timestampUnixMs) / intervalMs));
}

/**
 * One agent connection after its upgrade was authenticated: waits for Hello, answers Welcome,
 * stores each MetricBatch and acknowledges it only once it is durable. Any protocol violation
 * closes this session alone, with the close code of the error.
 */
export class AgentSession implements LiveSession, WheelMember, DeadlineMember {
  readonly id = randomUUID();
  readonly node: string;
  readonly tokenId: string;
  readonly address: string;

  private hello: Hello | undefined;
  /** Stream-local series id -> collector series id, for this session only. */
  private readonly seriesMap = new SeriesIdMap();
  /** What the latest batch told of the agent, handed to the registry (which copies it): one object per session, not per batch. */
  private readonly timing: BatchTiming = { clockSkewMs: null, spoolBacklog: null };
  /** The collector series this session holds (retention keeps them while it lives). */
  private readonly heldSeries = new SeriesHold();
  /** The sequence of the last batch received (the Welcome's watermark before the first). */
  private lastReceived = 0;
  /** A batch of this session was not stored: nothing later may be acknowledged. */
  private storeFailed = false;
  /** A remote store's queue was full: nothing more of this session is stored or acknowledged. */
  private heldBack = false;
  /** Hello timeouts and pings come from timers shared by every session, not two timers each. */
  private helloQueue: DeadlineQueue | undefined;
  private pingWheel: TimerWheel | undefined;
  wheelSlot = -1;
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

    this.helloQueue = sharedDeadlineQueue(deps.limits.helloTimeoutMs);
    this.helloQueue.add(this);
    this.pingWheel = sharedTimerWheel(deps.limits.pingIntervalMs);
    this.pingWheel.add(this);
    if (this.identity.tokenExpiresMs > 0) {
      this.cancelExpiry = scheduleAt(this.identity.tokenExpiresMs, deps.now, () =>
        this.close(CloseCodes.TOKEN_EXPIRED, 'token expired'),
      );
    }
  }

  /** No Hello within the limit (the shared deadline queue calls this). */
  onDeadline(): void {
    this.helloQueue = undefined;
    if (!this.hello) this.close(CloseCodes.HELLO_TIMEOUT, 'no hello in time');
  }

  /** Once per ping period (the shared wheel calls this): a peer that missed the previous ping too is dead. */
  onWheelTick(): void {
    try {
      if (!this.alive) {
        this.deps.log.warn({ node: this.node, remote: this.address }, 'agent missed pings, terminating session');
        this.ws.terminate();
        return;
      }
      this.alive = false;
      this.ws.ping();
    } catch (err) {
      this.deps.log.warn({ node: this.node, remote: this.address, err: (err as Error).message }, 'agent ping failed');
    }
  }

  /** For /metrics: waiting for Hello, streaming batches, or closing. */
  get state(): 'awaiting_hello' | 'streaming' | 'held' | 'closing' {
    return this.closed ? 'closing' : this.heldBack ? 'held' : this.hello ? 'streaming' : 'awaiting_hello';
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
    this.deps.metrics.releaseSeries(this.heldSeries);
    if (this.heldBack) this.deps.backPressure?.release(this);
    if (this.hello) this.deps.registry.detach(this);
    this.deps.log.info({ node: this.node, remote: this.address, session: this.id, code }, 'agent disconnected');
  }

  private clearTimers(): void {
    this.helloQueue?.remove(this);
    this.pingWheel?.remove(this);
    this.cancelExpiry?.();
    this.helloQueue = this.pingWheel = this.cancelExpiry = undefined;
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    const receivedAt = performance.now();
    try {
      if (!isBinary) throw new ProtocolError(CloseCodes.MALFORMED, 'text frames are not part of the protocol');
      const frame = readAgentFrame(data, this.deps.limits);
      switch (frame.type) {
        case 'hello':
          return this.onHello(frame);
        case 'batch':
          return this.onBatch(frame, receivedAt);
        case 'error':
          this.deps.log.warn({ node: this.node, remote: this.address, code: frame.code, reason: frame.message }, 'agent reported an error');
          return;
      }
    } catch (err) {
      if (hasCode(err, ErrorCodes.SERIES_LIMIT)) return this.refuse('series_limit', (err as Error).message);
      if (!(err instanceof ProtocolError)) return this.fault('session_message', err);
      this.deps.counters.protocolErrors++;
      this.deps.onProtocolViolation?.(this.address);
      this.deps.log.warn(
        { node: this.node, remote: this.address, session: this.id, code: err.code, close_code: err.closeCode, reason: err.message },
        'agent broke the protocol, closing session',
      );
      this.close(err.closeCode, err.message.slice(0, 120));
    }
  }

  /**
   * A fault of the collector's own (a storage error, say): the session closes with 1011 so the
   * agent keeps its batches and retries with backoff; the collector carries on.
   */
  private fault(kind: string, err: unknown): void {
    this.storeFailed = true;
    this.deps.counters.storeFailures++;
    this.deps.faults?.report(kind, err, { node: this.node });
    if (!this.deps.faults) this.deps.log.error({ node: this.node, err: (err as Error).message }, 'collector fault in agent session');
    this.close(1011, 'collector fault');
  }

  /**
   * A remote store's queue is full: stop acknowledging (and storing) but keep the session, so the
   * agent stays connected and spools; the back-pressure closes it with 1013 once there is room.
   */
  private holdBack(backPressure: BackPressure, err: unknown): void {
    if (this.heldBack || this.closed) return;
    this.heldBack = true;
    backPressure.hold(this, (err as Error).message);
  }

  /** Well-formed input over a limit: closed with 4400 and the reason, counted by kind, logged once a minute per node. */
  private refuse(kind: string, reason: string): void {
    this.deps.refusals?.report('warn', kind, { node: this.node, remote: this.address, session: this.id, kind, reason }, 'agent session refused', this.node);
    if (!this.deps.refusals) this.deps.log.warn({ node: this.node, kind, reason }, 'agent session refused');
    this.close(CloseCodes.MALFORMED, reason.slice(0, 120));
  }

  private onHello(hello: Hello): void {
    if (this.hello) throw new ProtocolError(CloseCodes.MALFORMED, 'second hello in one session', { code: ErrorCodes.PROTOCOL_UNEXPECTED });
    if (hello.node !== this.node) {
      throw new ProtocolError(CloseCodes.MALFORMED, 'hello.node differs from the node the token was presented for');
    }
    if (hello.streamId === COLLECTOR_STREAM_ID) throw new ProtocolError(CloseCodes.MALFORMED, 'hello.stream_id is reserved for the collector');
    this.hello = hello;
    this.helloQueue?.remove(this);
    this.helloQueue = undefined;
    const { deps } = this;
    deps.registry.attach(this, {
      version: hello.agentVersion,
      intervalMs: hello.intervalMs,
      bootId: hello.bootId,
      host: hello.host,
    });
    const lastAcked = deps.metrics.lastSequence(this.node, hello.streamId);
    this.lastReceived = lastAcked;
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

  private onBatch(batch: TypedMetricBatch, receivedAt: number): void {
    const hello = this.hello;
    if (!hello) throw new ProtocolError(CloseCodes.MALFORMED, 'metric batch before hello', { code: ErrorCodes.PROTOCOL_UNEXPECTED });
    const { deps } = this;
    const now = deps.now();
    if (batch.sequence <= this.lastReceived) {
      throw new ProtocolError(CloseCodes.MALFORMED, `batch ${batch.sequence} does not follow ${this.lastReceived}`);
    }
    const maxFutureSkewMs = deps.limits.maxFutureSkewMs ?? DEFAULT_COLLECTOR_CONFIG.limits.maxFutureSkewMs;
    if (batch.timestampUnixMs - now > maxFutureSkewMs) {
      return this.refuse('future_batch', `batch ${batch.sequence} is stamped ${batch.timestampUnixMs - now} ms ahead of the collector's clock (limits.max_future_skew)`);
    }
    if (this.seriesMap.size === 0 && batch.definitions.length > 0) deps.metrics.expectSeries?.(this.node, batch.definitions.length);
    for (const def of batch.definitions) {
      if (RESERVED_METRIC_NAMES.has(def.name)) throw new ProtocolError(CloseCodes.MALFORMED, `series name "${def.name}" is reserved for the collector`);
      const known = this.seriesMap.get(def.id);
      if (known === undefined && this.seriesMap.size >= deps.limits.maxSeriesPerSession) {
        throw new ProtocolError(CloseCodes.MALFORMED, `session defines more than ${deps.limits.maxSeriesPerSession} series`);
      }
      // Defining a live id again is fine only as the same series (already held): its batches may still be queued.
      if (known !== undefined) {
        if (deps.metrics.findSeries(this.node, def.name, def.labels) !== known) {
          return this.refuse('series_redefined', `series id ${def.id} defined again as a different series`);
        }
        continue;
      }
      this.seriesMap.set(def.id, deps.metrics.resolveSeries(this.node, def.name, def.labels, this.heldSeries));
    }
    // The decoded ids are this batch's own array: mapped in place to collector ids.
    const seriesIds = batch.seriesIds;
    const n = seriesIds.length;
    const unknown = this.seriesMap.mapInPlace(seriesIds);
    if (unknown >= 0) {
      throw new ProtocolError(CloseCodes.MALFORMED, `batch ${batch.sequence} uses series id ${seriesIds[unknown]} that this session never defined`);
    }
    const clockSkewMs = this.checkClockSkew(batch, now);
    this.checkSpoolDrops(batch.droppedBatchesTotal);
    this.timing.clockSkewMs = batch.sentUnixMs ? clockSkewMs : null;
    this.timing.spoolBacklog = spoolBacklog(batch, hello.intervalMs);
    deps.registry.batchReceived(this, now, this.timing);
    deps.counters.batchesReceived++;
    deps.counters.samplesReceived += n;
    const sequence = batch.sequence;
    const previousSequence = this.lastReceived;
    this.lastReceived = sequence;
    // Held back: nothing more of this session is stored, so no batch overtakes the refused one.
    if (this.heldBack) return;
    deps.metrics
      .append({
        node: this.node,
        streamId: hello.streamId,
        sequence,
        previousSequence,
        timestampMs: batch.timestampUnixMs,
        seriesIds,
        values: batch.values,
      })
      .then(
        ({ duplicate }) => this.stored(sequence, n, duplicate, receivedAt),
        (err: unknown) => this.notStored(err),
      );
  }

  /** A batch is durable: acknowledge it, unless an earlier one of this session was not. */
  private stored(sequence: number, samples: number, duplicate: boolean, receivedAt: number): void {
    const { deps } = this;
    try {
      if (duplicate) deps.counters.duplicateBatches++;
      else {
        deps.counters.batchesAcked++;
        deps.counters.samplesAcked += samples;
      }
      // The agent takes an Ack as cumulative (it deletes every batch up to it): after a batch of
      // this session was not stored, nothing later is acknowledged, and an Ack never passes the
      // stream's contiguous watermark.
      if (this.storeFailed || this.closed || this.heldBack) return;
      if (deps.metrics.lastSequence(this.node, this.hello!.streamId) < sequence) {
        this.fault('store_gap', new Error(`batch ${sequence} stored behind a batch that is not`));
        return;
      }
      if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeAck(sequence));
      deps.observeAck?.((performance.now() - receivedAt) / 1000);
    } catch (err) {
      this.notStored(err);
    }
  }

  /** Not stored, so not acknowledged: the agent keeps the batch and replays it on reconnect. */
  private notStored(err: unknown): void {
    const { deps } = this;
    if (hasCode(err, ErrorCodes.STORE_QUEUE_FULL) && deps.backPressure) return this.holdBack(deps.backPressure, err);
    this.fault(hasCode(err, ErrorCodes.STORE_BUSY) ? 'store_busy' : hasCode(err, ErrorCodes.STORE_STOPPED) ? 'store_stopped' : 'store_commit', err);
  }

  /** An agent whose spool overflowed lost data for good: say so once per increase, and count it. */
  private checkSpoolDrops(total: number): void {
    if (total <= this.spoolDroppedTotal) return;
    this.deps.log.warn({ node: this.node, dropped_batches_total: total }, 'agent spool dropped batches while the collector was unreachable');
    this.spoolDroppedTotal = total;
    this.deps.registry.spoolDropsReported(this, total);
  }

  /**
   * Skew is the agent's send time minus now: a replayed batch's own timestamp is old, its send
   * time is not. An older agent tells no send time; then only its timestamp can serve.
   */
  private checkClockSkew(batch: Pick<MetricBatch, 'sentUnixMs' | 'timestampUnixMs'>, now: number): number {
    const skew = (batch.sentUnixMs ? batch.sentUnixMs : batch.timestampUnixMs) - now;
    if (Math.abs(skew) <= CLOCK_SKEW_WARN_MS || now - this.lastSkewWarnMs < CLOCK_SKEW_WARN_EVERY_MS) return skew;
    this.lastSkewWarnMs = now;
    this.deps.log.warn({ node: this.node, skew_ms: skew }, 'agent clock skew above 5 s');
    return skew;
  }

  private send(frame: CollectorFrame): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(encodeCollectorFrame(frame), { binary: true }, (err) => {
      if (err) this.deps.log.debug({ node: this.node, err: err.message }, 'send to agent failed');
    });
  }
}
