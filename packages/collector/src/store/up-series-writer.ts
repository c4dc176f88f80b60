import { ErrorCodes, PeriodicTask, XimpError, type Label, type Logger } from '@ximp/shared';
import type { FaultReporter } from '../fault-reporter';
import type { AppendOptions, StoredBatch } from './metric-store';

/** The stream under which the collector stores series it derives itself, per node. */
export const COLLECTOR_STREAM_ID = 'ximp-collector';

export interface UpSeriesWriterDeps {
  registry: { upValues(): { node: string; up: number }[] };
  metrics: {
    seriesId(node: string, name: string, labels: readonly Label[]): number;
    append(batch: StoredBatch, options?: AppendOptions): Promise<{ duplicate: boolean }>;
  };
  log: Logger;
  /** Where a failed write goes (counted, logged once a minute); without it, a warning per failure. */
  faults?: FaultReporter;
  now(): number;
  intervalMs?: number;
}

/**
 * Writes `up` (1 when ACTIVE, else 0) for every known agent each interval, so node_exporter-style
 * alerts on `up{job="ximp",instance="<node>"}` keep working (SPEC §5). The stored series is
 * named `up` on the node; `job` and `instance` are added wherever series leave the store.
 *
 * A round is one batch per known agent: for a large fleet more than the store's queue bound for
 * agents, so its batches are the store's own (outside that bound; otherwise every round would
 * refuse the agents' batches arriving with it and close their sessions). What bounds them instead:
 * a round starts only when the one before is stored; a store that falls that far behind skips
 * rounds, each skip reported as a fault.
 */
export class UpSeriesWriter {
  private readonly task: PeriodicTask;
  private inFlight: Promise<void> | undefined;

  constructor(private readonly deps: UpSeriesWriterDeps) {
    // The task only paces the rounds; it does not wait for one (writeOnce skips and reports a
    // round while the one before is not stored), and writeOnce reports its own failures.
    this.task = new PeriodicTask({
      run: () => void this.writeOnce(),
      everyMs: deps.intervalMs ?? 10_000,
      runAtStart: false,
      onError: () => undefined,
    });
  }

  start(): void {
    this.task.start();
  }

  stop(): void {
    this.task.stop();
  }

  /** Writes one round; resolves once every batch of it is stored or failed (never rejects). */
  writeOnce(): Promise<void> {
    if (this.inFlight) {
      this.failed('*', new XimpError(ErrorCodes.STORE_BUSY, 'the previous round of up samples is not stored yet: this round is skipped'));
      return this.inFlight;
    }
    const now = this.deps.now();
    let values: { node: string; up: number }[];
    try {
      values = this.deps.registry.upValues(); // reads the agent records: a storage error may come here too
    } catch (err) {
      this.failed('*', err);
      return Promise.resolve();
    }
    const appends: Promise<unknown>[] = [];
    for (const { node, up } of values) {
      try {
        const id = this.deps.metrics.seriesId(node, 'up', []);
        const batch = { node, streamId: COLLECTOR_STREAM_ID, sequence: now, timestampMs: now, seriesIds: Uint32Array.of(id), values: Float64Array.of(up) };
        appends.push(this.deps.metrics.append(batch, { own: true }).catch((err: unknown) => this.failed(node, err)));
      } catch (err) {
        this.failed(node, err);
      }
    }
    if (appends.length === 0) return Promise.resolve();
    const round = Promise.all(appends).then(() => {
      this.inFlight = undefined;
    });
    this.inFlight = round;
    return round;
  }

  private failed(node: string, err: unknown): void {
    if (this.deps.faults) this.deps.faults.report('up_series', err, { node });
    else this.deps.log.warn({ node, err: (err as Error).message }, 'writing up series failed');
  }
}
