import type { Logger } from '@ximp/shared';

export interface RetentionTimerDeps {
  metrics: { applyRetention(now: number, retentionMs: number): number };
  /** The retention in force: an admin's setting, else the config's `store.retention`. */
  retentionMs(): number;
  log: Logger;
  now(): number;
  everyMs?: number;
}

/** Deletes stored batches older than the retention, once at start and then every hour. */
export class RetentionTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: RetentionTimerDeps) {}

  start(): void {
    if (this.timer) return;
    this.runOnce();
    this.timer = setInterval(() => this.runOnce(), this.deps.everyMs ?? 3600_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  runOnce(): number {
    const retentionMs = this.deps.retentionMs();
    try {
      const deleted = this.deps.metrics.applyRetention(this.deps.now(), retentionMs);
      if (deleted > 0) this.deps.log.info({ deleted_batches: deleted, retention_ms: retentionMs }, 'retention applied');
      return deleted;
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message }, 'applying retention failed');
      return 0;
    }
  }
}
