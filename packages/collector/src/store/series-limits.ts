import { ErrorCodes, XimpError } from '@ximp/shared';

export interface SeriesLimitOptions {
  /** Series rows one node may hold, over all its sessions and reconnects (default 100 000). */
  maxSeriesPerNode?: number;
  /** New series one node may define per minute (default 20 000: a large host defines ~10k at its first connection). */
  maxNewSeriesPerMinute?: number;
  now(): number;
}

export const DEFAULT_MAX_SERIES_PER_NODE = 100_000;
export const DEFAULT_MAX_NEW_SERIES_PER_MINUTE = 20_000;
const MINUTE_MS = 60_000;

/**
 * Admission of new series per node (SPEC §16). The count per node is the number of series rows
 * the node holds (read once from the table, then kept in memory), so reconnecting does not reset
 * it; the rate is a fixed one-minute window per node. Refusals throw XIMP_ERR_SERIES_LIMIT,
 * which the session turns into a 4400 close.
 */
export class SeriesLimits {
  readonly maxSeriesPerNode: number;
  readonly maxNewSeriesPerMinute: number;
  private readonly counts = new Map<string, number>();
  private readonly windows = new Map<string, { startMs: number; n: number }>();

  constructor(private readonly options: SeriesLimitOptions) {
    this.maxSeriesPerNode = options.maxSeriesPerNode ?? DEFAULT_MAX_SERIES_PER_NODE;
    this.maxNewSeriesPerMinute = options.maxNewSeriesPerMinute ?? DEFAULT_MAX_NEW_SERIES_PER_MINUTE;
  }

  /** Counts one new series of `node`, or throws when that would break a limit. `stored` reads the node's rows. */
  admit(node: string, stored: () => number): void {
    let count = this.counts.get(node);
    if (count === undefined) count = stored();
    if (count >= this.maxSeriesPerNode) {
      this.counts.set(node, count);
      throw new XimpError(ErrorCodes.SERIES_LIMIT, `node holds ${count} series, the limit is ${this.maxSeriesPerNode} (limits.max_series_per_node)`);
    }
    const now = this.options.now();
    let w = this.windows.get(node);
    if (!w || now - w.startMs >= MINUTE_MS) {
      w = { startMs: now, n: 0 };
      this.windows.set(node, w);
    }
    if (w.n >= this.maxNewSeriesPerMinute) {
      throw new XimpError(
        ErrorCodes.SERIES_LIMIT,
        `node defined more than ${this.maxNewSeriesPerMinute} new series within a minute (limits.max_new_series_per_minute)`,
      );
    }
    w.n++;
    this.counts.set(node, count + 1);
  }

  /** `n` series rows of `node` were removed. */
  removed(node: string, n: number): void {
    const count = this.counts.get(node);
    if (count !== undefined) this.counts.set(node, Math.max(0, count - n));
  }
}
