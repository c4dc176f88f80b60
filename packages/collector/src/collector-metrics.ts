import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One remote store's figures, read when /metrics is scraped (the remote writer's `stats()`). */
export interface RemoteStoreStats {
  name: string;
  queue: { bytes: number; samples: number; oldestAgeMs: number | null; full: boolean };
  samplesForwarded: number;
  /** Samples of a repeated request (a retry, a replay after a restart) the store already held. */
  samplesAlreadyStored?: number;
  /** Requests sent, by outcome (`success`, `retry`, `dropped`, ...). */
  requests: Record<string, number>;
  retries: number;
  /** Samples given up on, by reason. */
  droppedSamples: Record<string, number>;
}

/** Where the collector's own metrics come from; each is read at scrape time. */
export interface CollectorMetricsSources {
  agentServer: {
    /** Ingest and listener counters by camelCase name: each is `ximp_collector_ingest_<snake>_total`. */
    counters: object;
    sessionCount(): number;
    /** Live sessions by state (`awaiting_hello`, `streaming`, ...). */
    sessionStates?(): ReadonlyMap<string, number>;
    /** Refusals of the agent listener by kind; the `agent_refused_<reason>` kinds are auth refusals. */
    refusalTotals?(): ReadonlyMap<string, number>;
  };
  /** The embedded store: its `counters` become `ximp_collector_store_<snake>_total`. */
  metricStore: object;
  registry: { list(): { state: string }[]; spoolDrops(): { node: string; droppedTotal: number }[] };
  /** Faults the collector carried on after (storage errors and the like), by kind. */
  faults?: { totals(): ReadonlyMap<string, number> };
  /** Agent input refused for a limit (series, future batches), by kind. */
  refusals?: { totalsByKey(): ReadonlyMap<string, number> };
  /** What the API listener and the series queries refused, by kind. */
  apiRefusals?: () => ReadonlyMap<string, number>;
  /** Every configured remote store. */
  stores?: () => RemoteStoreStats[];
  /** The managed certificates (CertificateManager.metrics): expiry in unix seconds and renewal failures, per component. */
  certificates?: () => { expiry: ReadonlyMap<string, number>; renewalFailures: ReadonlyMap<string, number> };
}

const PREFIX = 'ximp_collector_';
const AGENT_STATES = ['ACTIVE', 'STALE', 'DISCONNECTED', 'PENDING'];
const SESSION_STATES = ['awaiting_hello', 'streaming'];
/** Refusal kinds of the agent listener that are upgrade (authentication) refusals. */
const AUTH_REFUSAL_KIND = 'agent_refused_';
/** The token refusals shown at 0 before the first, so rate() works from the start. */
const AUTH_REFUSAL_REASONS = ['invalid_token', 'revoked', 'expired', 'wrong_node', 'rate_limited'];
/** From a batch received to its ack: bounded below by the group commit interval. */
const ACK_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** A remote-write request, up to the default 30 s timeout. */
const REMOTE_WRITE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function numbers(source: object | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(source ?? {})) if (typeof value === 'number') out[key] = value;
  return out;
}

/**
 * The collector's own metrics for GET /metrics, on a prom-client Registry of its own (never the
 * global one, so two collectors in one process never clash). Counters kept elsewhere are read at
 * scrape time; ack and remote-write latencies are observed here as they happen.
 */
export class CollectorMetrics {
  readonly registry = new Registry();
  private readonly ackLatency: Histogram;
  private readonly remoteWriteLatency: Histogram<'store' | 'outcome'>;

  constructor(private readonly sources: CollectorMetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
    this.ackLatency = new Histogram({
      name: `${PREFIX}ack_latency_seconds`,
      help: 'From an agent batch received to its ack sent (stored durably), in seconds.',
      buckets: ACK_BUCKETS,
      registers,
    });
    this.remoteWriteLatency = new Histogram({
      name: `${PREFIX}remote_write_request_duration_seconds`,
      help: 'Remote-write requests from sent to answered (or failed), by store and outcome, in seconds.',
      labelNames: ['store', 'outcome'],
      buckets: REMOTE_WRITE_BUCKETS,
      registers,
    });
    this.ensureSourceCounters();
    this.byKind('faults_total', 'Faults the collector carried on after (storage errors and the like), by kind.', () => sources.faults?.totals());
    this.byKind('ingest_refusals_total', 'Agent sessions closed for input over a limit, by kind.', () => sources.refusals?.totalsByKey());
    this.byKind(
      'api_refusals_total',
      'API connections and requests refused (allowlist, per-address cap, capacity, grants, queries), by kind.',
      () => sources.apiRefusals?.(),
    );
    new Counter({
      name: `${PREFIX}agent_auth_refusals_total`,
      help: 'Agent connection upgrades refused (bad, revoked or expired token, another node, rate limited, ...), by reason.',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const reason of AUTH_REFUSAL_REASONS) this.inc({ reason }, 0);
        for (const [kind, n] of sources.agentServer.refusalTotals?.() ?? []) {
          if (kind.startsWith(AUTH_REFUSAL_KIND)) this.inc({ reason: kind.slice(AUTH_REFUSAL_KIND.length) }, n);
        }
      },
    });
    new Gauge({
      name: `${PREFIX}agent_sessions`,
      help: 'Live agent sessions.',
      registers,
      collect() {
        this.set(sources.agentServer.sessionCount());
      },
    });
    new Gauge({
      name: `${PREFIX}agent_sessions_by_state`,
      help: 'Live agent sessions by state (awaiting_hello, streaming, ...).',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const state of SESSION_STATES) this.set({ state }, 0);
        for (const [state, n] of sources.agentServer.sessionStates?.() ?? []) this.set({ state }, n);
      },
    });
    new Gauge({
      name: `${PREFIX}agents`,
      help: 'Agents by state.',
      labelNames: ['state'],
      registers,
      collect() {
        const byState = new Map<string, number>(AGENT_STATES.map((s) => [s, 0]));
        for (const agent of sources.registry.list()) byState.set(agent.state, (byState.get(agent.state) ?? 0) + 1);
        this.reset();
        for (const [state, n] of byState) this.set({ state }, n);
      },
    });
    new Gauge({
      name: `${PREFIX}agent_spool_dropped_batches`,
      help: 'Batches an agent dropped from its full spool since its stream began, as it reports.',
      labelNames: ['node'],
      registers,
      collect() {
        this.reset();
        for (const d of sources.registry.spoolDrops()) this.set({ node: d.node }, d.droppedTotal);
      },
    });
    this.remoteStoreMetrics();
    this.certificateMetrics();
  }

  /** The content type of `metrics()` (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text of every metric, read from the sources now. */
  async metrics(): Promise<string> {
    this.ensureSourceCounters();
    return this.registry.metrics();
  }

  /** A batch was acknowledged `seconds` after it was received. */
  observeAck(seconds: number): void {
    this.ackLatency.observe(seconds);
  }

  /** A remote-write request to `store` ended with `outcome` after `seconds`. */
  observeRemoteWrite(store: string, seconds: number, outcome: string): void {
    this.remoteWriteLatency.observe({ store, outcome }, seconds);
  }

  /** One counter per numeric field of the ingest and store counters; new fields join at the next scrape. */
  private ensureSourceCounters(): void {
    const { sources } = this;
    const ingest = (): Record<string, number> => numbers(sources.agentServer.counters);
    const store = (): Record<string, number> => numbers((sources.metricStore as { counters?: object }).counters);
    for (const key of Object.keys(ingest())) this.sourceCounter(`ingest_${snake(key)}_total`, `Agent ingest: ${snake(key).replace(/_/g, ' ')}.`, () => ingest()[key]);
    for (const key of Object.keys(store())) this.sourceCounter(`store_${snake(key)}_total`, `Embedded store: ${snake(key).replace(/_/g, ' ')}.`, () => store()[key]);
  }

  private sourceCounter(name: string, help: string, read: () => number | undefined): void {
    if (this.registry.getSingleMetric(PREFIX + name)) return;
    new Counter({
      name: PREFIX + name,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read() ?? 0);
      },
    });
  }

  private byKind(name: string, help: string, totals: () => ReadonlyMap<string, number> | undefined): void {
    new Counter({
      name: PREFIX + name,
      help,
      labelNames: ['kind'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [kind, n] of totals() ?? []) this.inc({ kind }, n);
      },
    });
  }

  /** Expiry and renewal failures per managed certificate (no collector prefix: they are about the certificates). */
  private certificateMetrics(): void {
    const registers = [this.registry];
    const read = (): ReturnType<NonNullable<CollectorMetricsSources['certificates']>> | undefined => this.sources.certificates?.();
    new Gauge({
      name: 'ximp_tls_certificate_expiry_timestamp_seconds',
      help: 'When each managed certificate (ca, collector, api, store-client) expires, as a unix timestamp.',
      labelNames: ['component'],
      registers,
      collect() {
        this.reset();
        for (const [component, seconds] of read()?.expiry ?? []) this.set({ component }, seconds);
      },
    });
    new Counter({
      name: 'ximp_tls_renewal_failures_total',
      help: 'Failed renewals of each managed certificate (the old one kept serving), automatic or on demand.',
      labelNames: ['component'],
      registers,
      collect() {
        this.reset();
        for (const [component, n] of read()?.renewalFailures ?? []) this.inc({ component }, n);
      },
    });
  }

  /** Per-store gauges and counters, all filled from one read of the stores' stats per scrape. */
  private remoteStoreMetrics(): void {
    const registers = [this.registry];
    const read = (): RemoteStoreStats[] => this.sources.stores?.() ?? [];
    // Each metric's collect() reads the stores again: cheap (in-memory figures), and always current.
    const perStore = (
      kind: 'gauge' | 'counter',
      name: string,
      help: string,
      value: (s: RemoteStoreStats) => number,
    ): void => {
      const config = {
        name: `${PREFIX}remote_write_${name}`,
        help,
        labelNames: ['store'] as const,
        registers,
      };
      if (kind === 'gauge') {
        new Gauge({
          ...config,
          collect() {
            this.reset();
            for (const s of read()) this.set({ store: s.name }, value(s));
          },
        });
      } else {
        new Counter({
          ...config,
          collect() {
            this.reset();
            for (const s of read()) this.inc({ store: s.name }, value(s));
          },
        });
      }
    };
    perStore('gauge', 'queue_bytes', 'Bytes in the store\'s on-disk forward queue.', (s) => s.queue.bytes);
    perStore('gauge', 'queue_samples', 'Samples waiting in the store\'s forward queue.', (s) => s.queue.samples);
    perStore(
      'gauge',
      'queue_oldest_age_seconds',
      'Age of the oldest batch waiting in the store\'s forward queue, in seconds (0 when empty).',
      (s) => (s.queue.oldestAgeMs ?? 0) / 1000,
    );
    perStore(
      'gauge',
      'queue_full',
      '1 while the store\'s forward queue is full: agents are not acknowledged until it has room (back-pressure).',
      (s) => (s.queue.full ? 1 : 0),
    );
    perStore('counter', 'samples_forwarded_total', 'Samples the store accepted.', (s) => s.samplesForwarded);
    perStore('counter', 'samples_already_stored_total', 'Samples of a repeated request (a retry, a replay after a restart) the store already held: not sent twice, not lost.', (s) => s.samplesAlreadyStored ?? 0);
    perStore('counter', 'retries_total', 'Remote-write requests sent again after a retryable failure.', (s) => s.retries);
    const byLabel = (name: string, help: string, label: string, values: (s: RemoteStoreStats) => Record<string, number>): void => {
      new Counter({
        name: `${PREFIX}remote_write_${name}`,
        help,
        labelNames: ['store', label],
        registers,
        collect() {
          this.reset();
          for (const s of read()) for (const [key, n] of Object.entries(values(s))) this.inc({ store: s.name, [label]: key }, n);
        },
      });
    };
    byLabel('requests_total', 'Remote-write requests by outcome.', 'outcome', (s) => s.requests);
    byLabel('dropped_samples_total', 'Samples given up on (the store refused them for good), by reason.', 'reason', (s) => s.droppedSamples);
  }
}
