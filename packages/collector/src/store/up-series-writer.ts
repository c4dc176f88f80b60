import type { Label, Logger } from '@ximp/shared';
import type { FaultReporter } from '../fault-reporter';
import type { StoredBatch } from './metric-store';

/** The stream under which the collector stores series it derives itself, per node. */
export const COLLECTOR_STREAM_ID = 'ximp-collector';

export interface UpSeriesWriterDeps {
  registry: { upValues(): { node: string; up: number }[] };
  metrics: {
    seriesId(node: string, name: string, labels: readonly Label[]): number;
    append(batch: StoredBatch): Promise<{ duplicate: boolean }>;
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
 */
export class UpSeriesWriter {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: UpSeriesWriterDeps) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.writeOnce(), this.deps.intervalMs ?? 10_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  writeOnce(): void {
    const now = this.deps.now();
    let values: { node: string; up: number }[];
    try {
      values = this.deps.registry.upValues(); // reads the agent records: a storage error may come here too
    } catch (err) {
      this.failed('*', err);
      return;
    }
    for (const { node, up } of values) {
      try {
        const id = this.deps.metrics.seriesId(node, 'up', []);
        void this.deps.metrics
          .append({ node, streamId: COLLECTOR_STREAM_ID, sequence: now, timestampMs: now, seriesIds: Uint32Array.of(id), values: Float64Array.of(up) })
          .catch((err: unknown) => this.failed(node, err));
      } catch (err) {
        this.failed(node, err);
      }
    }
  }

  private failed(node: string, err: unknown): void {
    if (this.deps.faults) this.deps.faults.report('up_series', err, { node });
    else this.deps.log.warn({ node, err: (err as Error).message }, 'writing up series failed');
  }
}
