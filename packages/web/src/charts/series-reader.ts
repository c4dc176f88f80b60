import { api } from '../api';
import type { TimeWindow } from './chart-spec';
import type { Series } from './series-math';

/** Reads series of one node, each metric once per window however many charts use it. */
export class SeriesReader {
  private readonly cache = new Map<string, Promise<Series[]>>();

  constructor(
    private readonly node: string,
    private readonly window: TimeWindow,
  ) {}

  read(metric: string, needsRate: boolean): Promise<Series[]> {
    // A rate needs the point one step before the window to start at `from`.
    const from = needsRate ? this.window.from - this.window.step : this.window.from;
    const key = `${metric}|${from}`;
    let p = this.cache.get(key);
    if (!p) {
      const q = new URLSearchParams({ metric, from: String(from), to: String(this.window.to), step: String(this.window.step) });
      p = api.get<Series[]>(`/api/v1/nodes/${encodeURIComponent(this.node)}/series?${q.toString()}`);
      this.cache.set(key, p);
    }
    return p;
  }
}
