import { ErrorCodes, PROTOCOL_VERSION, ThrottledLog, XimpError, seriesProblem, type HostFacts, type Logger } from '@ximp/shared';
import { definitionBytesBound, splitIntoBatches, type SampleBatch } from './batch-split';
import type { AgentConfig } from './config';
import { AgentConnection } from './connection';
import { collectHostFactsAside, readBootId } from './host-facts';
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

/** How long SIGTERM waits for the collector to acknowledge what is spooled. */
const STOP_DRAIN_MS = 5_000;
/**
 * Everything stop() does ends by then, so SIGTERM exits within systemd's 10 s (TimeoutStopSec)
 * in every case: a cycle still running at the deadline is abandoned (its batch is not spooled).
 */
const STOP_DEADLINE_MS = 8_000;
/** Of the deadline, what is kept for closing the spool after the cycle and the drain. */
const STOP_CLOSE_RESERVE_MS = 500;

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
  /** Set by stop(): nothing may schedule a cycle again (a reload, a stream renewal finishing late). */
  private stopping = false;
  private collecting: Promise<void> | undefined;
  /** Read once per process, begun at start() so the first Hello need not wait for it. */
  private hostFacts: Promise<HostFacts> | undefined;
  private readonly now: () => number;
  private readonly warnedSeries = new Set<string>();
  /**
   * The last cycle's points by position with their series ids: a cycle mostly repeats the last one
   * point for point, so the series key (sorted labels) is built only for what changed. Valid for
   * one series table and one set of extra labels, as are the definitions' byte bounds by id.
   */
  private lastCycle: {
    table: unknown;
    extra: Record<string, string> | undefined;
    series: { name: string; labels: Readonly<Record<string, string>>; id: number }[];
    definitionBytes: number[];
  } = { table: undefined, extra: undefined, series: [], definitionBytes: [] };
  /** Series the last cycle used. */
  private cycleSeries = 0;
  /** Repeated faults of a cycle (a full spool disk) log one line per kind a minute, with a count. */
  private readonly faults: ThrottledLog;

  constructor(config: AgentConfig, private readonly deps: AgentDeps) {
    this.config = config;
    this.now = deps.now ?? Date.now;
    this.scheduler = this.buildScheduler(config);
    this.faults = new ThrottledLog({ log: deps.log, now: Date.now });
  }

  async start(): Promise<void> {
    if (this.spool) return;
    const { config, deps } = this;
    for (const warning of config.warnings) deps.log.warn({ file: config.file }, warning);
    const spool = new Spool({ dir: config.spool.dir, maxBytes: config.spool.maxBytes, log: deps.log });
    await spool.open();
    if (this.stopping) {
      // Stopped while the spool was being read: start nothing, close what was opened.
      await spool.close();
      return;
    }
    this.spool = spool;
    this.connection = new AgentConnection({
      url: config.server.url,
      // Read at load (a config error if unreadable) and again on SIGHUP; each connect uses the latest.
      ca: () => this.config.server.ca ?? undefined,
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
    void this.readHostFacts().catch(() => undefined);
    this.connection.start();
    this.schedule();
  }

  /** Applies a re-read config (SIGHUP): token, CA, interval, labels and sources; the spool stays. */
  reload(next: AgentConfig): void {
    if (this.stopping) return; // a SIGHUP racing SIGTERM must not start the timer again
    const previous = this.config;
    for (const warning of next.warnings) this.deps.log.warn({ file: next.file }, warning);
    if (next.server.url !== previous.server.url || next.spool.dir !== previous.spool.dir || next.node !== previous.node) {
      this.deps.log.warn({}, 'server.url, node and spool.dir take effect only after a restart');
    }
    this.config = { ...next, server: { ...next.server, url: previous.server.url }, node: previous.node, spool: previous.spool };
    this.scheduler = this.buildScheduler(this.config);
    if (next.intervalMs !== previous.intervalMs) this.schedule();
    // A new token or CA takes effect at once, not at the next backoff.
    if (next.server.authToken !== previous.server.authToken || next.server.ca !== previous.server.ca) this.connection?.reconnectNow();
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

  /**
   * Stops collecting, lets the running cycle spool its batch and the collector acknowledge what
   * is spooled, then closes the spool; all of it by STOP_DEADLINE_MS. A cycle still running then
   * is abandoned: the spool is closed under it, so whatever it appends later is refused.
   */
  async stop(): Promise<void> {
    const deadline = Date.now() + STOP_DEADLINE_MS;
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.collecting && !(await settlesBy(this.collecting, deadline - STOP_CLOSE_RESERVE_MS))) {
      this.deps.log.warn({ deadline_ms: STOP_DEADLINE_MS }, 'collection cycle abandoned at the stop deadline');
    }
    const connection = this.connection;
    if (connection?.isConnected()) {
      await connection.waitUntilDrained(Math.min(Date.now() + STOP_DRAIN_MS, deadline - STOP_CLOSE_RESERVE_MS));
    }
    connection?.stop();
    this.connection = undefined;
    const spool = this.spool;
    this.spool = undefined;
    // A spool on a disk that stopped answering must not keep the process past systemd's limit.
    if (spool && !(await settlesBy(spool.close(), Math.max(deadline, Date.now() + STOP_CLOSE_RESERVE_MS)))) {
      this.deps.log.error({}, 'spool did not close by the stop deadline');
    }
  }

  pendingBatches(): number {
    return this.spool?.pendingCount() ?? 0;
  }

  private schedule(): void {
    if (this.stopping) return;
    if (this.timer) clearInterval(this.timer);
    // A fixed cadence, not a PeriodicTask's wait after each run: samples land on the interval's
    // grid however long a cycle took (collectOnce skips a cycle while one is still running).
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
      const batches = splitIntoBatches(samples, (id) => this.definitionBytesOf(spool, id));
      let spooled = 0;
      try {
        for (let i = 0; i < batches.length; i++) {
          const { seriesIds, values } = batches[i]!;
          await spool.append({ sequence: spool.nextSequence(), timestampUnixMs: timestamp, seriesIds, values });
          spooled++;
        }
      } catch (err) {
        this.spoolFailed(spool, err, batches.length - spooled);
      }
      // Also after a failed write: what is spooled keeps going out (and acks free the disk).
      this.connection?.notify();
    } catch (err) {
      this.faults.report('error', 'collect', { err: (err as Error).message, code: (err as { code?: unknown }).code }, 'collection cycle failed');
    }
  }

  /**
   * A full or failing spool disk costs this cycle's batches, never the agent: they are counted
   * as dropped (the collector sees it in the next batch's dropped total) and the next cycle tries
   * again, so the agent recovers by itself when space returns.
   */
  private spoolFailed(spool: Spool, err: unknown, lost: number): void {
    const code = (err as { code?: unknown }).code;
    // A closed spool means the agent is stopping: that batch was abandoned, not dropped by a fault.
    if (code === ErrorCodes.SPOOL_CLOSED) return;
    spool.countDropped(lost);
    const kind = err instanceof XimpError && code === ErrorCodes.SPOOL_IO ? 'spool_write' : 'spool_append';
    this.faults.report(
      'error',
      kind,
      { err: (err as Error).message, code, dropped: lost, dropped_total: spool.droppedTotal },
      'spool write failed, batch dropped',
    );
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
      if (!this.stopping) connection?.start();
    }
  }

  private toSamples(spool: Spool, points: Point[]): SampleBatch {
    const extra = this.config.labels;
    // Sized once and trimmed at the end: grown by push, they would leave their smaller copies behind.
    const seriesIds: number[] = new Array<number>(points.length);
    const values: number[] = new Array<number>(points.length);
    let kept = 0;
    if (this.lastCycle.table !== spool.seriesTable || this.lastCycle.extra !== extra) {
      this.lastCycle = { table: spool.seriesTable, extra, series: [], definitionBytes: [] };
    }
    const memo = this.lastCycle.series;
    for (let i = 0; i < points.length; i++) {
      const point = points[i]!;
      const last = memo[i];
      if (last !== undefined && last.name === point.name && sameLabels(last.labels, point.labels)) {
        if (last.id === 0) continue; // refused, and warned about, before
        seriesIds[kept] = last.id;
        values[kept++] = point.value;
        continue;
      }
      const id = this.seriesIdOf(spool, point, extra);
      // A copy: a source may hand out the same labels object again with other values.
      memo[i] = { name: point.name, labels: { ...point.labels }, id };
      if (id === 0) continue;
      seriesIds[kept] = id;
      values[kept++] = point.value;
    }
    memo.length = Math.min(memo.length, points.length);
    seriesIds.length = kept;
    values.length = kept;
    return { seriesIds, values };
  }

  /** definitionBytesBound of a series, computed once per series: a definition never changes. */
  private definitionBytesOf(spool: Spool, id: number): number {
    const known = this.lastCycle.definitionBytes;
    let bytes = known[id];
    if (bytes === undefined) {
      const def = spool.seriesTable.definition(id);
      bytes = known[id] = def ? definitionBytesBound(def) : 0;
    }
    return bytes;
  }

  /** The series id of a point, assigning a new one when need be; 0 when the collector would refuse it. */
  private seriesIdOf(spool: Spool, point: Point, extra: Record<string, string>): number {
    const labels = Object.keys(extra).length === 0 ? point.labels : { ...extra, ...point.labels };
    const known = spool.seriesTable.lookup(point.name, labels);
    if (known !== undefined) return known;
    // A series the collector would refuse must not reach the spool: it would block every batch
    // behind it. Only new series are checked; the table holds none that fail.
    const problem = seriesProblem(point.name, labels);
    if (problem !== null) {
      this.warnRefusedSeries(point.name, problem);
      return 0;
    }
    return spool.seriesTable.idFor(point.name, labels);
  }

  /** collectHostFactsAside never rejects; a reader that does is asked again at the next Hello. */
  private readHostFacts(): Promise<HostFacts> {
    this.hostFacts ??= (this.deps.hostFacts ?? collectHostFactsAside)().catch((err: unknown) => {
      this.hostFacts = undefined;
      throw err;
    });
    return this.hostFacts;
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
    const host = await this.readHostFacts();
    return {
      protocolVersion: PROTOCOL_VERSION,
      node: this.config.node,
      agentVersion: AGENT_VERSION,
      bootId: await readBootId(),
      host,
      labels: Object.entries(this.config.labels).map(([name, value]) => ({ name, value })),
      intervalMs: this.config.intervalMs,
    };
  }
}

/** True when two label sets hold the same names and values (without allocating). */
function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  let count = 0;
  for (const name in a) {
    if (a[name] !== b[name]) return false;
    count++;
  }
  for (const name in b) {
    if (count-- === 0 || !(name in a)) return false;
  }
  return count === 0;
}

/** Resolves true once `work` settles (either way), false if `deadlineMs` (epoch ms) comes first. */
function settlesBy(work: Promise<unknown>, deadlineMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, deadlineMs - Date.now()));
    const done = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    work.then(done, done);
  });
}
