import * as fs from 'node:fs';
import { PROTOCOL_VERSION, seriesProblem, type HostFacts, type Logger } from '@ximp/shared';
import { definitionBytesBound, splitIntoBatches, type SampleBatch } from './batch-split';
import type { AgentConfig } from './config';
import { AgentConnection } from './connection';
import { collectHostFacts, readBootId } from './host-facts';
import type { Point } from './point';
import { Scheduler } from './scheduler';
import { createSources, type SourceInstance } from './sources/index';
import { Spool } from './spool';
import { AGENT_VERSION } from './version';

export interface AgentDeps {
  log: Logger;
  now?: () => number;
  /** Metric sources; the built-in ones for `config.sources` when absent (tests pass fakes). */
  sources?: SourceInstance[];
  hostFacts?: () => Promise<HostFacts>;
  /** Series in the spool's table past which a drained agent starts a new stream (default 50,000). */
  newStreamAfterSeries?: number;
}

/** How long SIGTERM waits for the collector to acknowledge what is spooled, within systemd's 10 s. */
const STOP_DRAIN_MS = 5_000;

/**
 * A host whose series come and go (containers' interfaces, mounts) keeps defining new ones; the
 * table of a stream only grows. Past this many series, and four times what one cycle uses, a
 * drained agent starts a new stream and forgets the series it no longer has.
 */
const NEW_STREAM_AFTER_SERIES = 50_000;

/** Series refused before spooling are warned about once each, up to this many. */
const MAX_WARNED_SERIES = 1_000;

/**
 * The node agent: every interval it collects points from its sources, spools them as one batch
 * (durably, before anything is sent) and lets the connection stream the spool to the collector.
 */
export class Agent {
  private config: AgentConfig;
  private spool: Spool | undefined;
  private connection: AgentConnection | undefined;
  private scheduler: Scheduler;
  private timer: NodeJS.Timeout | undefined;
  private collecting: Promise<void> | undefined;
  private hostFacts: HostFacts | undefined;
  private readonly now: () => number;
  private readonly warnedSeries = new Set<string>();
  /** Series the last cycle used. */
  private cycleSeries = 0;

  constructor(config: AgentConfig, private readonly deps: AgentDeps) {
    this.config = config;
    this.now = deps.now ?? Date.now;
    this.scheduler = this.buildScheduler(config);
  }

  async start(): Promise<void> {
    if (this.spool) return;
    const { config, deps } = this;
    for (const warning of config.warnings) deps.log.warn({ file: config.file }, warning);
    const spool = new Spool({ dir: config.spool.dir, maxBytes: config.spool.maxBytes, log: deps.log });
    await spool.open();
    this.spool = spool;
    this.connection = new AgentConnection({
      url: config.server.url,
      ca: config.server.caFile ? fs.readFileSync(config.server.caFile, 'utf8') : undefined,
      node: config.node,
      token: () => this.config.server.authToken,
      hello: () => this.hello(),
      spool,
      log: deps.log,
      now: this.now,
    });
    deps.log.info(
      { node: config.node, url: config.server.url, interval_ms: config.intervalMs, stream: spool.streamId, pending: spool.pendingCount() },
      'agent starting',
    );
    this.connection.start();
    this.schedule();
  }

  /** Applies a re-read config (SIGHUP): token, interval, labels and sources; the spool stays. */
  reload(next: AgentConfig): void {
    const previous = this.config;
    if (next.server.url !== previous.server.url || next.spool.dir !== previous.spool.dir || next.node !== previous.node) {
      this.deps.log.warn({}, 'server.url, node and spool.dir take effect only after a restart');
    }
    this.config = { ...next, server: { ...next.server, url: previous.server.url }, node: previous.node, spool: previous.spool };
    this.scheduler = this.buildScheduler(this.config);
    if (next.intervalMs !== previous.intervalMs) this.schedule();
    if (next.server.authToken !== previous.server.authToken) this.connection?.reconnectNow();
    this.deps.log.info({ interval_ms: next.intervalMs }, 'agent configuration reloaded');
  }

  /** Runs one collection cycle now and spools its batch. */
  async collectOnce(): Promise<void> {
    if (!this.collecting) {
      this.collecting = this.collect().finally(() => {
        this.collecting = undefined;
      });
    }
    return this.collecting;
  }

  /** Stops collecting, gives the collector a few seconds to acknowledge what is spooled, then closes. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.collecting;
    const connection = this.connection;
    if (connection?.isConnected()) await connection.waitUntilDrained(Date.now() + STOP_DRAIN_MS);
    connection?.stop();
    this.connection = undefined;
    await this.spool?.close();
    this.spool = undefined;
  }

  pendingBatches(): number {
    return this.spool?.pendingCount() ?? 0;
  }

  private schedule(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => void this.collectOnce(), this.config.intervalMs);
    void this.collectOnce();
  }

  private buildScheduler(config: AgentConfig): Scheduler {
    const sources = this.deps.sources ?? createSources(config.sources);
    return new Scheduler({ sources, timeoutMs: Math.min(config.intervalMs / 2, 5000), log: this.deps.log });
  }

  private async collect(): Promise<void> {
    const spool = this.spool;
    if (!spool) return;
    try {
      if (this.tableMostlyUnused(spool)) await this.startNewStream(spool);
      const timestamp = this.now();
      const points = await this.scheduler.collectOnce(timestamp);
      // Split so that every batch fits any collector, even when all its series are new to a session.
      const samples = this.toSamples(spool, points);
      this.cycleSeries = samples.seriesIds.length;
      const batches = splitIntoBatches(samples, (id) => {
        const def = spool.seriesTable.definition(id);
        return def ? definitionBytesBound(def) : 0;
      });
      for (const { seriesIds, values } of batches) {
        await spool.append({ sequence: spool.nextSequence(), timestampUnixMs: timestamp, seriesIds, values });
      }
      this.connection?.notify();
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message }, 'collection cycle failed');
    }
  }

  private tableMostlyUnused(spool: Spool): boolean {
    const limit = Math.max(this.deps.newStreamAfterSeries ?? NEW_STREAM_AFTER_SERIES, 4 * this.cycleSeries);
    return spool.seriesTable.count > limit && spool.pendingCount() === 0 && this.connection?.isConnected() === true;
  }

  /** The session ends first: no batch of the new stream may go out under the old stream's Hello. */
  private async startNewStream(spool: Spool): Promise<void> {
    const connection = this.connection;
    connection?.stop('starting a new stream');
    try {
      await spool.startNewStream();
    } finally {
      connection?.start();
    }
  }

  private toSamples(spool: Spool, points: Point[]): SampleBatch {
    const extra = this.config.labels;
    const seriesIds: number[] = [];
    const values: number[] = [];
    for (const point of points) {
      const labels = Object.keys(extra).length === 0 ? point.labels : { ...extra, ...point.labels };
      const known = spool.seriesTable.lookup(point.name, labels);
      if (known === undefined) {
        // A series the collector would refuse must not reach the spool: it would block every batch
        // behind it. Only new series are checked; the table holds none that fail.
        const problem = seriesProblem(point.name, labels);
        if (problem !== null) {
          this.warnRefusedSeries(point.name, problem);
          continue;
        }
      }
      seriesIds.push(known ?? spool.seriesTable.idFor(point.name, labels));
      values.push(point.value);
    }
    return { seriesIds, values };
  }

  private warnRefusedSeries(name: string, problem: string): void {
    const key = `${name}\n${problem}`;
    if (this.warnedSeries.has(key) || this.warnedSeries.size >= MAX_WARNED_SERIES) return;
    this.warnedSeries.add(key);
    this.deps.log.warn({ metric: name.slice(0, 256), problem }, 'series left out: the collector would refuse it');
  }

  private async hello(): Promise<{
    protocolVersion: number;
    node: string;
    agentVersion: string;
    bootId: string;
    host: HostFacts;
    labels: { name: string; value: string }[];
    intervalMs: number;
  }> {
    this.hostFacts ??= await (this.deps.hostFacts ?? collectHostFacts)();
    return {
      protocolVersion: PROTOCOL_VERSION,
      node: this.config.node,
      agentVersion: AGENT_VERSION,
      bootId: await readBootId(),
      host: this.hostFacts,
      labels: Object.entries(this.config.labels).map(([name, value]) => ({ name, value })),
      intervalMs: this.config.intervalMs,
    };
  }
}
