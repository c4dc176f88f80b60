import type { Label } from '@ximp/shared';

/** A series as it leaves the collector: its name and labels (without `instance` and `job`). */
export interface SeriesDescription {
  name: string;
  labels: readonly Label[];
}

/** A committed batch handed to a remote store's queue. */
export interface ForwardedBatch {
  node: string;
  timestampMs: number;
  seriesIds: Uint32Array;
  values: Float64Array;
}

/**
 * What the metric store needs of a remote store's durable queue (ForwardQueue). `append` runs
 * inside the store's commit transaction (a queue that cannot take a batch fails the commit);
 * `syncAsync` runs with the WAL's sync after it, and no append runs until it settles: a batch is
 * acknowledged only once it is durably in every queue.
 */
export interface ForwardTarget {
  readonly name: string;
  /** False while the queue is at its `max_bytes`: the store then refuses new batches. */
  hasRoom(): boolean;
  append(batches: readonly ForwardedBatch[], describe: (id: number) => SeriesDescription): void;
  syncAsync(): Promise<void>;
}
