import { PeriodicTask, type Logger } from '@ximp/shared';
import type { FaultReporter } from '../fault-reporter';

export interface RetentionTimerDeps {
  metrics: { applyRetention(now: number, retentionMs: number): number };
  /** The retention in force: an admin's setting, else the config's `store.retention`. */
  retentionMs(): number;
  log: Logger;
  /** Where a failed pass goes (counted, logged once a minute); without it, an error line per failure. */
  faults?: FaultReporter;
  now(): number;
  everyMs?: number;
}

/** Deletes stored batches older than the retention (and the series left unused), once at start and then every hour. */
export class RetentionTimer {
  private readonly task: PeriodicTask;

  constructor(private readonly deps: RetentionTimerDeps) {
    // runOnce reports its own failures; a pass runs at start, then every period.
    this.task = new PeriodicTask({ run: () => void this.runOnce(), everyMs: deps.everyMs ?? 3600_000, onError: () => undefined });
  }

  start(): void {
    this.task.start();
  }

  stop(): void {
    this.task.stop();
  }

  runOnce(): number {
    try {
      const retentionMs = this.deps.retentionMs();
      const deleted = this.deps.metrics.applyRetention(this.deps.now(), retentionMs);
      if (deleted > 0) this.deps.log.info({ deleted_batches: deleted, retention_ms: retentionMs }, 'retention applied');
      return deleted;
    } catch (err) {
      if (this.deps.faults) this.deps.faults.report('retention', err);
      else this.deps.log.error({ err: (err as Error).message }, 'applying retention failed');
      return 0;
    }
  }
}
