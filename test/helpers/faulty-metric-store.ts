import type { Label } from '@ximp/shared';
import type { Database } from '../../packages/collector/src/store/database';
import { MetricStore, type MetricStoreOptions, type StoredBatch } from '../../packages/collector/src/store/metric-store';
import type { SeriesHold } from '../../packages/collector/src/store/series-hold';

/**
 * The real metric store told to fail: chosen commits throw inside their transaction (rolled back
 * like a real SQLite error), chosen syncs fail after their commit (like a failed fdatasync),
 * chosen series resolutions throw, appends can be held at a gate so a test decides which batches
 * share a commit, and syncs can be held so a test sees what a committed, not yet durable batch shows.
 */
export class FaultyMetricStore extends MetricStore {
  /** Commit numbers (1-based, counting every commit attempt) that fail. */
  readonly failCommits = new Set<number>();
  /** Series resolution calls (1-based) that throw. */
  readonly failResolutions = new Set<number>();
  commitAttempts = 0;
  resolutions = 0;
  injected = 0;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  gated = 0;

  constructor(db: Database, options: MetricStoreOptions) {
    super(db, options);
  }

  /** Sync numbers (1-based, counting every sync) that fail. */
  readonly failSyncs = new Set<number>();
  syncAttempts = 0;
  syncsHeld = 0;
  private syncGate: Promise<void> | undefined;
  private openSyncGate: (() => void) | undefined;

  /** Fails the next `n` syncs. */
  failNextSyncs(n: number): void {
    for (let i = 1; i <= n; i++) this.failSyncs.add(this.syncAttempts + i);
  }

  holdSyncs(): void {
    this.syncGate = new Promise((resolve) => (this.openSyncGate = resolve));
  }

  releaseSyncs(): void {
    this.syncGate = undefined;
    this.openSyncGate?.();
  }

  /** Fails the next `n` commits. */
  failNextCommits(n: number): void {
    for (let i = 1; i <= n; i++) this.failCommits.add(this.commitAttempts + i);
  }

  holdAppends(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  releaseAppends(): void {
    this.gate = undefined;
    this.openGate?.();
  }

  override append(batch: StoredBatch): Promise<{ duplicate: boolean }> {
    if (!this.gate) return super.append(batch);
    this.gated++;
    return this.gate.then(() => super.append(batch));
  }

  /** Streams whose watermark this store under-reports (a store that lost track of what it committed). */
  readonly lagging = new Set<string>();

  override lastSequence(node: string, streamId: string): number {
    return this.lagging.has(streamId) ? 0 : super.lastSequence(node, streamId);
  }

  override resolveSeries(node: string, name: string, labels: readonly Label[], holder: SeriesHold): number {
    if (this.failResolutions.has(++this.resolutions)) {
      this.injected++;
      throw new Error('injected fault: series resolution failed');
    }
    return super.resolveSeries(node, name, labels, holder);
  }

  protected override async beforeSync(): Promise<void> {
    const n = ++this.syncAttempts;
    if (this.syncGate) {
      this.syncsHeld++;
      await this.syncGate;
    }
    if (this.failSyncs.has(n)) {
      this.injected++;
      throw new Error('injected fault: fdatasync EIO');
    }
  }

  protected override beforeCommit(): void {
    if (this.failCommits.has(++this.commitAttempts)) {
      this.injected++;
      throw new Error('injected fault: disk I/O error');
    }
  }
}
