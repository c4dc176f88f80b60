import WebSocket from 'ws';
import type { ClientRequest, IncomingMessage } from 'node:http';
import {
  CloseCodes,
  DEFAULT_LIMITS,
  NODE_HEADER,
  ProtocolError,
  SUBPROTOCOL,
  ThrottledLog,
  UPGRADE_REFUSAL_CODES,
  clientTlsOptions,
  describeTrustFailure,
  ErrorCodes,
  peerCertificateDates,
  trustFailureKind,
  isAuthClose,
  isImmediateReconnectClose,
  readCollectorFrame,
  type Hello,
  type Logger,
  type SeriesDefinition,
  type Welcome,
} from '@ximp/shared';
import { Backoff } from './backoff';
import { encodeBatchFrame } from './batch-frame-encoder';
import { encodeHelloFrame } from './hello-frame-encoder';
import type { Spool } from './spool';

/** How the collector last turned this agent away; logged once per streak, not per retry. */
type Refusal = 'invalid_token' | 'revoked' | 'expired' | 'wrong_node' | 'rate_limited' | 'refused';

export interface ConnectionOptions {
  url: string;
  /** PEM of the CA that signed the collector's certificate, read at each connect (SIGHUP may change it). */
  ca: () => string | undefined;
  node: string;
  token: () => string;
  hello: () => Promise<Omit<Hello, 'type' | 'streamId'>>;
  spool: Spool;
  log: Logger;
  now(): number;
  /** Batches sent but not yet acknowledged, at most. */
  maxInFlight?: number;
  /**
   * Silence before the collector counts as gone while it has not said how often it pings (before
   * Welcome, or a collector that sends no ping interval): default 30 s, 3 of its default 10 s pings.
   */
  silenceTimeoutMs?: number;
  backoff?: Backoff;
  onWelcome?: (welcome: Welcome) => void;
}

/** The component marker the collector's agent-listener certificate carries. */
const COLLECTOR_COMPONENT = 'collector';
const DATES_PROBE_INTERVAL_MS = 60_000;
const TOKEN_EXPIRY_WARN_MS = 30 * 24 * 3600 * 1000;
const DEFAULT_SILENCE_TIMEOUT_MS = 30_000;
/** A dead collector is noticed within this many of its ping periods (SPEC §7). */
const SILENT_PING_PERIODS = 3;
/** The bounds collector.yaml puts on limits.ping_interval. */
const MIN_PING_INTERVAL_MS = 10;
const MAX_PING_INTERVAL_MS = 10 * 60_000;

/**
 * The agent's TLS 1.3 WebSocket to the collector. After Welcome it drops what the collector
 * already stored, replays every spooled batch in order, then sends new ones as they are spooled,
 * keeping at most `maxInFlight` unacknowledged. Reconnects with exponential backoff and full
 * jitter; after a refusal of its token it retries slowly and says so once.
 */
export class AgentConnection {
  private ws: WebSocket | undefined;
  private welcomed = false;
  private stopped = true;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private silenceTimer: NodeJS.Timeout | undefined;
  /** Highest sequence sent in this session. */
  private lastSent = 0;
  private readonly defined = new Set<number>();
  private readonly backoff: Backoff;
  private lastRefusal: Refusal | undefined;
  private pumping = false;
  private ackWaiters: (() => void)[] = [];
  /** Silence that ends the session; follows the collector's ping interval once Welcome tells it. */
  private silenceTimeoutMs: number;
  private readonly faults: ThrottledLog;
  /** A collector certificate without a component marker is accepted (issued before markers); said once. */
  private warnedUnmarked = false;
  private lastDatesProbeMs = -Infinity;

  constructor(private readonly options: ConnectionOptions) {
    this.backoff = options.backoff ?? new Backoff({ initialMs: 1000, maxMs: 60_000 });
    this.silenceTimeoutMs = options.silenceTimeoutMs ?? DEFAULT_SILENCE_TIMEOUT_MS;
    this.faults = new ThrottledLog({ log: options.log, now: options.now });
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** True while a session is established (Welcome received). */
  isConnected(): boolean {
    return this.welcomed;
  }

  /** New batches were spooled: send them if a session is up. */
  notify(): void {
    void this.pump();
  }

  /** Drops the current session and reconnects now, e.g. with a new token after SIGHUP. */
  reconnectNow(): void {
    if (this.stopped) return;
    this.clearReconnect();
    if (this.ws) {
      this.ws.removeAllListeners('close');
      this.ws.on('close', () => undefined);
      this.ws.close(1000, 'reconnecting');
      this.onDisconnected();
    }
    this.connect();
  }

  /** Resolves once nothing is pending in the spool, or at the deadline. */
  async waitUntilDrained(deadlineMs: number): Promise<boolean> {
    while (this.options.spool.pendingCount() > 0) {
      const left = deadlineMs - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.ackWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  stop(reason = 'agent stopping'): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clearReconnect();
    const ws = this.ws;
    this.onDisconnected();
    if (ws) {
      ws.close(1000, reason);
      setTimeout(() => ws.terminate(), 1000).unref();
    }
  }

  private connect(): void {
    const { options } = this;
    let ws: WebSocket;
    try {
      ws = new WebSocket(options.url, SUBPROTOCOL, {
        // Only the agent listener's certificate will do: a leaked `api` key must not pass for the collector.
        ...clientTlsOptions({
          ca: options.ca(),
          component: { expected: COLLECTOR_COMPONENT, onUnmarked: (cert) => this.unmarkedCertificate(cert) },
        }),
        headers: { Authorization: `Bearer ${options.token()}`, [NODE_HEADER]: options.node },
        perMessageDeflate: false,
        handshakeTimeout: 10_000,
        maxPayload: DEFAULT_LIMITS.maxFrameBytes, // what readCollectorFrame accepts
      });
    } catch (err) {
      options.log.error({ err: (err as Error).message }, 'cannot open connection to collector');
      this.scheduleReconnect(this.backoff.next());
      return;
    }
    this.ws = ws;
    ws.on('unexpected-response', (req: ClientRequest, res: IncomingMessage) => this.onRefused(ws, req, res));
    ws.on('open', () => this.onOpen(ws));
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(ws, data, isBinary));
    ws.on('ping', () => this.armSilenceTimer(ws));
    ws.on('close', (code: number, reason: Buffer) => this.onClose(ws, code, reason.toString()));
    ws.on('error', (err: Error) => {
      if (trustFailureKind(err) !== null) this.trustFailure(err);
      else if (this.lastRefusal === undefined) options.log.warn({ url: options.url, err: err.message }, 'collector connection error');
    });
  }

  /** One line per kind of trust failure (throttled), naming the problem and what to check. */
  private trustFailure(err: Error): void {
    const kind = trustFailureKind(err);
    const report = (dates: { notBefore: string; notAfter: string } | null): void => {
      const failure = describeTrustFailure(err, {
        peer: 'the collector',
        urlSetting: 'server.url in agent.yaml',
        caSetting: 'server.ca_file in agent.yaml',
        notAfter: dates?.notAfter ?? null,
        notBefore: dates?.notBefore ?? null,
      });
      if (failure === null) return;
      this.faults.report('error', `tls_${failure.kind}`, { url: this.options.url, code: ErrorCodes.TLS_UNTRUSTED, kind: failure.kind }, `collector connection error: ${failure.message}`);
    };
    const now = this.options.now();
    if ((kind === 'expired' || kind === 'not_yet_valid') && now - this.lastDatesProbeMs >= DATES_PROBE_INTERVAL_MS) {
      // Node keeps no peer certificate after a failed verification: read its dates once more
      // (at most once per throttle window; the lines in between are folded into the count).
      this.lastDatesProbeMs = now;
      const url = new URL(this.options.url);
      peerCertificateDates({ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 443), servername: url.hostname })
        .then(report)
        .catch(() => report(null));
      return;
    }
    report(null);
  }

  private unmarkedCertificate(cert: { subject?: { CN?: string | string[] } }): void {
    if (this.warnedUnmarked) return;
    this.warnedUnmarked = true;
    this.options.log.warn(
      { url: this.options.url, subject: String(cert.subject?.CN ?? '') },
      'the collector presented a certificate without a component marker (issued before XIMP marked them); accepted for now: renew it (ximp tls renew --component collector)',
    );
  }

  private onRefused(ws: WebSocket, req: ClientRequest, res: IncomingMessage): void {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => {
      if (chunks.length < 8) chunks.push(c);
    });
    res.on('end', () => {
      let reason: Refusal = 'refused';
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: string };
        if (body.error && ['invalid_token', 'revoked', 'expired', 'wrong_node', 'rate_limited'].includes(body.error)) {
          reason = body.error as Refusal;
        }
      } catch {
        // a refusal without a JSON body keeps the generic reason
      }
      this.refused(reason, res.statusCode ?? 0);
      req.destroy();
      ws.terminate();
    });
    res.on('error', () => undefined);
  }

  /** Logs a refusal once per streak and backs off slowly: retrying fast would not help. */
  private refused(reason: Refusal, status: number): void {
    if (this.lastRefusal !== reason) {
      const code = UPGRADE_REFUSAL_CODES[reason];
      this.options.log.error({ status, reason, code, node: this.options.node }, 'collector refused this agent, retrying slowly');
    }
    this.lastRefusal = reason;
  }

  private onOpen(ws: WebSocket): void {
    this.silenceTimeoutMs = this.options.silenceTimeoutMs ?? DEFAULT_SILENCE_TIMEOUT_MS;
    this.armSilenceTimer(ws);
    this.options
      .hello()
      .then((hello) => {
        if (ws !== this.ws || ws.readyState !== WebSocket.OPEN) return;
        ws.send(encodeHelloFrame({ ...hello, streamId: this.options.spool.streamId }));
      })
      .catch((err: unknown) => {
        this.options.log.error({ err: (err as Error).message }, 'cannot build hello');
        ws.terminate();
      });
  }

  private onMessage(ws: WebSocket, data: Buffer, isBinary: boolean): void {
    if (ws !== this.ws) return;
    this.armSilenceTimer(ws);
    try {
      if (!isBinary) throw new ProtocolError(CloseCodes.MALFORMED, 'text frame from collector');
      const frame = readCollectorFrame(data);
      if (frame.type === 'welcome') this.onWelcome(frame);
      else if (frame.type === 'ack') this.onAck(frame.sequence);
      else this.options.log.warn({ code: frame.code, reason: frame.message }, 'collector reported an error');
    } catch (err) {
      const code = err instanceof ProtocolError ? err.closeCode : CloseCodes.MALFORMED;
      this.options.log.error({ err: (err as Error).message }, 'collector broke the protocol');
      ws.close(code, 'malformed frame');
    }
  }

  private onWelcome(welcome: Welcome): void {
    const { options } = this;
    if (this.welcomed) throw new ProtocolError(CloseCodes.MALFORMED, 'a second welcome in one session');
    // The collector cannot have stored what this agent never spooled: believing it would make the
    // spool delete batches that were never stored. The spool stays as it is, but later batches are
    // numbered above the collector's figure (a spool restored from an old snapshot would otherwise
    // reuse sequences the collector holds, and stall until it caught up).
    const highest = options.spool.nextSequence() - 1;
    if (welcome.lastAckedSequence > highest) {
      options.spool.skipSequencesThrough(welcome.lastAckedSequence);
      throw new ProtocolError(
        CloseCodes.MALFORMED,
        `welcome acknowledges sequence ${welcome.lastAckedSequence}, above the highest this stream has spooled (${highest})`,
      );
    }
    if (this.lastRefusal !== undefined) options.log.info({ node: options.node }, 'collector accepts this agent again');
    this.lastRefusal = undefined;
    this.backoff.reset();
    this.welcomed = true;
    this.defined.clear();
    this.lastSent = welcome.lastAckedSequence;
    if (welcome.pingIntervalMs > 0) {
      // Clamped as the collector's own config is: a wild value must not make the timer fire at once.
      const pingMs = Math.min(Math.max(welcome.pingIntervalMs, MIN_PING_INTERVAL_MS), MAX_PING_INTERVAL_MS);
      this.silenceTimeoutMs = SILENT_PING_PERIODS * pingMs;
      if (this.ws) this.armSilenceTimer(this.ws);
    }
    const now = options.now();
    if (welcome.tokenExpiresUnixMs > 0 && welcome.tokenExpiresUnixMs - now < TOKEN_EXPIRY_WARN_MS) {
      options.log.warn(
        { expires: new Date(welcome.tokenExpiresUnixMs).toISOString(), days_left: Math.floor((welcome.tokenExpiresUnixMs - now) / 86_400_000) },
        'agent token expires within 30 days, rotate it',
      );
    }
    options.log.info({ session: welcome.sessionId, last_acked: welcome.lastAckedSequence, pending: options.spool.pendingCount() }, 'connected to collector');
    options.onWelcome?.(welcome);
    options.spool
      .ack(welcome.lastAckedSequence)
      .then(() => this.pump())
      .catch((err: unknown) => this.ackFailed(err));
  }

  private onAck(sequence: number): void {
    if (!this.welcomed) throw new ProtocolError(CloseCodes.MALFORMED, 'an ack before welcome');
    // An ack of a batch not yet sent in this session would delete it unsent.
    if (sequence > this.lastSent) {
      throw new ProtocolError(CloseCodes.MALFORMED, `ack of sequence ${sequence}, above the highest sent (${this.lastSent})`);
    }
    this.options.spool
      .ack(sequence)
      .then(() => {
        const waiters = this.ackWaiters;
        this.ackWaiters = [];
        for (const w of waiters) w();
        return this.pump();
      })
      .catch((err: unknown) => this.ackFailed(err));
  }

  /** The batches stay spooled and are resent; a full disk must not write a line per ack. */
  private ackFailed(err: unknown): void {
    this.faults.report('error', 'spool_ack', { err: (err as Error).message, code: (err as { code?: unknown }).code }, 'spool ack failed');
    // Whatever the spool could not record, the pump must not stall on it.
    void this.pump();
  }

  /** Sends spooled batches after `lastSent` while the in-flight window has room. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      const { spool } = this.options;
      const maxInFlight = this.options.maxInFlight ?? 32;
      while (this.welcomed && this.ws && this.ws.readyState === WebSocket.OPEN) {
        const acked = spool.ackedSequence();
        if (this.lastSent - acked >= maxInFlight) break;
        const next = spool.pending(this.lastSent, 1)[0];
        if (!next) break;
        const definitions: SeriesDefinition[] = [];
        for (let i = 0; i < next.seriesIds.length; i++) {
          const id = next.seriesIds[i]!;
          if (this.defined.has(id)) continue;
          const def = spool.seriesTable.definition(id);
          if (def) definitions.push(def);
          this.defined.add(id);
        }
        this.ws.send(
          encodeBatchFrame({
            sequence: next.sequence,
            timestampUnixMs: next.timestampUnixMs,
            definitions,
            seriesIds: next.seriesIds,
            values: next.values,
            droppedBatchesTotal: spool.droppedTotal,
            sentUnixMs: this.options.now(),
          }),
        );
        this.lastSent = next.sequence;
      }
    } finally {
      this.pumping = false;
    }
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return;
    const wasWelcomed = this.welcomed;
    this.onDisconnected();
    if (this.stopped) return;
    const { log } = this.options;
    if (isAuthClose(code)) {
      this.refused(code === CloseCodes.TOKEN_REVOKED ? 'revoked' : 'expired', 0);
      this.scheduleReconnect(this.backoff.nextSlow());
    } else if (this.lastRefusal !== undefined) {
      this.scheduleReconnect(this.backoff.nextSlow());
    } else if (isImmediateReconnectClose(code)) {
      log.info({ code, reason }, 'collector closed the session, reconnecting now');
      this.scheduleReconnect(Math.floor(Math.random() * 1000));
    } else {
      if (wasWelcomed) log.warn({ code, reason }, 'disconnected from collector');
      this.scheduleReconnect(this.backoff.next());
    }
  }

  private onDisconnected(): void {
    this.welcomed = false;
    this.ws = undefined;
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    this.silenceTimer = undefined;
  }

  private armSilenceTimer(ws: WebSocket): void {
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => {
      this.options.log.warn({ silence_ms: this.silenceTimeoutMs }, 'collector silent for too long, reconnecting');
      ws.terminate();
    }, this.silenceTimeoutMs);
    this.silenceTimer.unref();
  }

  private scheduleReconnect(delayMs: number): void {
    this.clearReconnect();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopped) this.connect();
    }, delayMs);
  }

  private clearReconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }
}
