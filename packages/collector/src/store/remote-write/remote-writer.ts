import { ThrottledLog, type Logger } from '@ximp/shared';
import type { RemoteWriteConfig } from '../../config';
import type { ShardQueue } from './forward-queue';
import { RemoteWriteClient, type TlsReloadResult } from './remote-write-client';
import { RemoteWriteCounters, REQUEST_OUTCOMES, type RequestOutcome } from './remote-write-stats';
import { createRequestEncoder, type RequestEncoder } from './request-encoder';
import { ShardSender, type RemoteWriteTransport } from './shard-sender';

/** The queue figures a remote writer reports beside its own (ForwardQueue.stats()). */
export interface RemoteQueueStats {
  bytes: number;
  batches: number;
  samples: number;
  oldestAgeMs: number | null;
}

/** What a remote writer needs of its store's forward queue (a ForwardQueue). */
export interface RemoteWriterQueue {
  readonly shardCount: number;
  shard(i: number): ShardQueue;
  stats(): RemoteQueueStats;
  hasRoom(): boolean;
}

export interface RemoteWriterOptions {
  config: RemoteWriteConfig;
  /** Trusted besides config.caFile while it exists: the CA roll's bundle when caFile is the XIMP CA. */
  trustBundleFile?: string;
  /** The store's forward queue, opened (and later closed) by the caller, which also appends to it. */
  queue: RemoteWriterQueue;
  log: Logger;
  /** Repeated failures are logged through it (one line per store and kind per minute); default: its own. */
  throttledLog?: ThrottledLog;
  /** Latency of every request attempt, for the remote-write latency histogram. */
  onRequest?: (seconds: number, outcome: RequestOutcome) => void;
  /** Tests: a transport other than the HTTPS client, another encoder, a clock, sleep and randomness. */
  transport?: RemoteWriteTransport;
  encoder?: RequestEncoder;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

/** One store's figures for /metrics. */
export interface RemoteWriterStats {
  store: string;
  url: string;
  samplesForwarded: number;
  samplesAlreadyStored: number;
  retries: number;
  /** Request attempts by outcome (every outcome present, zeros included). */
  requests: Record<RequestOutcome, number>;
  /** Dropped samples by reason (`status_<code>`, `encode_error`). */
  samplesDropped: Record<string, number>;
  lastError: string | null;
  lastErrorAtMs: number | null;
  queue: RemoteQueueStats;
  /** True while the queue is full and the collector stops acknowledging agents. */
  backPressure: boolean;
}

/** How long stop() waits for requests under way by default. */
export const DEFAULT_STOP_DEADLINE_MS = 10_000;

/**
 * Forwards one store's queue: an HTTPS client, an encoder (a worker thread unless
 * `encode_in_worker: false`) and one ShardSender per queue shard, so a few requests are in flight
 * while each shard keeps its order. Stores are independent: each has its own writer.
 */
export class RemoteWriter {
  readonly name: string;
  private readonly counters = new RemoteWriteCounters();
  private readonly log: Logger;
  private readonly throttled: ThrottledLog;
  private client: RemoteWriteClient | null = null;
  private encoder: RequestEncoder | null = null;
  private senders: ShardSender[] = [];
  private state: 'new' | 'running' | 'stopped' = 'new';

  constructor(private readonly o: RemoteWriterOptions) {
    this.name = o.config.name;
    this.log = o.log.child({ store: o.config.name });
    // The senders' throttled lines name the store in their fields: not through the child logger too.
    this.throttled = o.throttledLog ?? new ThrottledLog({ log: o.log, now: o.now ?? Date.now });
  }

  /** Loads the TLS files (throws XIMP_ERR_PKI_INVALID when unusable) and starts sending. */
  async start(): Promise<void> {
    if (this.state !== 'new') return;
    const { config } = this.o;
    let transport = this.o.transport;
    if (transport === undefined) {
      this.client = new RemoteWriteClient({
        url: config.url,
        caFile: config.caFile,
        trustBundleFile: this.o.trustBundleFile,
        certFile: config.certFile,
        keyFile: config.keyFile,
        timeoutMs: config.timeoutMs,
        maxSockets: config.shards,
      });
      transport = this.client;
    }
    this.encoder = this.o.encoder ?? createRequestEncoder(config.encodeInWorker);
    for (let i = 0; i < this.o.queue.shardCount; i++) {
      this.senders.push(
        new ShardSender({
          store: this.name,
          shard: i,
          queue: this.o.queue.shard(i),
          encoder: this.encoder,
          transport,
          maxSamplesPerRequest: config.maxSamplesPerRequest,
          counters: this.counters,
          log: this.log,
          throttled: this.throttled,
          now: this.o.now,
          sleep: this.o.sleep,
          random: this.o.random,
          onRequest: this.o.onRequest,
        }),
      );
    }
    this.state = 'running';
    for (const s of this.senders) s.start();
    this.log.info({ url: config.url, shards: this.senders.length, encode_in_worker: config.encodeInWorker }, 'remote write started');
    await Promise.resolve();
  }

  /**
   * Stops sending: requests under way get up to `deadlineMs` to finish, then are aborted. Nothing
   * unconfirmed leaves the queue, so whatever was not accepted is sent after the next start.
   * The queue itself is left open (its owner closes it).
   */
  async stop(deadlineMs = DEFAULT_STOP_DEADLINE_MS): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    await Promise.all(this.senders.map((s) => s.stop(deadlineMs)));
    this.senders = [];
    this.client?.close();
    await this.encoder?.close();
  }

  /** Re-reads the store's CA and client certificate files (SIGHUP); the old ones stay on failure. */
  reloadTls(): TlsReloadResult {
    if (this.client === null) return { ok: true };
    const result = this.client.reloadTls();
    if (result.ok) this.log.info({ cert_file: this.o.config.certFile }, 'remote-write TLS files reloaded');
    else this.log.error({ err: result.error }, 'remote-write TLS reload failed; keeping the previous certificate');
    return result;
  }

  stats(): RemoteWriterStats {
    const c = this.counters;
    const requests = Object.fromEntries(REQUEST_OUTCOMES.map((o) => [o, c.requests.get(o) ?? 0])) as Record<RequestOutcome, number>;
    return {
      store: this.name,
      url: this.o.config.url,
      samplesForwarded: c.samplesForwarded,
      samplesAlreadyStored: c.samplesAlreadyStored,
      retries: c.retries,
      requests,
      samplesDropped: Object.fromEntries(c.samplesDropped),
      lastError: c.lastError,
      lastErrorAtMs: c.lastErrorAtMs,
      queue: this.o.queue.stats(),
      backPressure: !this.o.queue.hasRoom(),
    };
  }
}
