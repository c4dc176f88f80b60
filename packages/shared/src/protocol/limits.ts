import type { Limits } from './frames';

/**
 * The protocol limits a collector announces in Welcome unless collector.yaml's `limits:` says
 * otherwise, and what a peer assumes when a Welcome leaves one out (SPEC §7: frames 1 MiB).
 */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxFrameBytes: 1024 * 1024,
  maxSamplesPerBatch: 50_000,
  maxLabelsPerSeries: 32,
  maxSeriesPerSession: 200_000,
});
