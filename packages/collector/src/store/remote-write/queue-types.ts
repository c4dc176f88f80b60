import type { Label } from '@ximp/shared';

/** A series as the queue keeps it: self-contained, never looked up in SQLite again. */
export interface SeriesDescription {
  name: string;
  labels: readonly Label[];
}

/** One agent batch waiting for a store: one timestamp, one value per series. */
export interface QueuedBatch {
  node: string;
  timestampMs: number;
  series: readonly SeriesDescription[];
  values: Float64Array;
}

/** What a shard sender needs from one shard of a store's forward queue. */
export interface ShardQueue {
  /**
   * The next request's worth (whole batches, up to maxSamples; at least one batch even if bigger),
   * from the confirmed position. Calling again before confirm returns the same batches.
   */
  peek(maxSamples: number): { batches: QueuedBatch[]; samples: number; end: unknown } | undefined;
  /** Those batches are done (accepted or dropped): advance and persist the position. */
  confirm(end: unknown): void;
  /** Resolves when something is appended after the current end (or at once when data waits). */
  waitForData(signal?: AbortSignal): Promise<void>;
  /** True for the first peek after open when it may repeat a request the store already took before a crash. */
  readonly replaying: boolean;
}

/** The part of a store's forward queue a remote writer uses. */
export interface ShardedQueue {
  readonly shardCount: number;
  shard(i: number): ShardQueue;
}
