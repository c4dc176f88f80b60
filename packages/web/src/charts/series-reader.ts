import { api, ApiError } from '../api';
import type { TimeWindow } from './chart-spec';
import type { Series } from './series-math';

/**
 * The collector runs at most `api.max_concurrent_queries` (default 4) series reads at once, for
 * every caller together, and answers 503 beyond: a page sends two at a time and retries a 503.
 */
const MAX_IN_FLIGHT = 2;
const RETRIES = 4;
let inFlight = 0;
const waiting: (() => void)[] = [];

function acquire(): Promise<void> {
  if (inFlight < MAX_IN_FLIGHT) {
    inFlight++;
    return Promise.resolve();
  }
  return new Promise((resolve) => waiting.push(resolve));
}

/** Hands the slot to the next waiting read, if any. */
function release(): void {
  const next = waiting.shift();
  if (next) next();
  else inFlight--;
}

async function readGated<T>(path: string): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    await acquire();
    try {
      return await api.get<T>(path);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 503) || attempt > RETRIES) throw err;
    } finally {
      release();
    }
    await new Promise((r) => setTimeout(r, 300 * attempt));
  }
}

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
      p = readGated<Series[]>(`/api/v1/nodes/${encodeURIComponent(this.node)}/series?${q.toString()}`);
      this.cache.set(key, p);
    }
    return p;
  }
}
