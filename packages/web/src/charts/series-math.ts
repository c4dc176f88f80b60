import type { DashboardPanelJson } from '@ximp/shared';

/**
 * What the browser computes from stored series before drawing (the server only reads): counter
 * rates, label matching, aggregation across series, and the arrays uPlot draws.
 */
export type Labels = Record<string, string>;
export type Point = [number, number];
export interface Series {
  labels: Labels;
  points: Point[];
}

export type PanelFunction = DashboardPanelJson['function'];
export type Aggregation = DashboardPanelJson['aggregation'];

/** Labels the store adds to every series; never worth a place in a legend. */
const NOISE_LABELS = new Set(['__name__', 'instance', 'job', 'node']);

/**
 * Per-second rate of a counter between consecutive points, stamped at the later point. A value
 * lower than the one before is a counter reset (agent or host restart): the increase is then the
 * new value itself, as Prometheus counts it.
 */
export function rate(points: readonly Point[]): Point[] {
  const out: Point[] = [];
  for (let i = 1; i < points.length; i++) {
    const [t0, v0] = points[i - 1];
    const [t1, v1] = points[i];
    const dt = (t1 - t0) / 1000;
    if (dt <= 0) continue;
    const increase = v1 >= v0 ? v1 - v0 : v1;
    out.push([t1, increase / dt]);
  }
  return out;
}

/** The series whose labels equal every matcher. */
export function applyMatchers(series: readonly Series[], matchers: Labels): Series[] {
  const entries = Object.entries(matchers);
  return series.filter((s) => entries.every(([k, v]) => s.labels[k] === v));
}

function combine(values: number[], how: Exclude<Aggregation, 'none'>): number {
  switch (how) {
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'max':
      return Math.max(...values);
    case 'min':
      return Math.min(...values);
  }
}

/**
 * Series combined per group of the `by` labels (all into one when `by` is empty), point by point
 * at equal timestamps; 'none' leaves them apart. The result's labels are the group's labels.
 */
export function aggregate(series: readonly Series[], how: Aggregation, by: readonly string[] = []): Series[] {
  if (how === 'none') return series.map((s) => ({ labels: s.labels, points: s.points }));
  const groups = new Map<string, { labels: Labels; byTime: Map<number, number[]> }>();
  for (const s of series) {
    const labels: Labels = {};
    for (const name of by) if (s.labels[name] !== undefined) labels[name] = s.labels[name];
    const key = JSON.stringify(by.map((name) => labels[name] ?? null));
    let group = groups.get(key);
    if (!group) {
      group = { labels, byTime: new Map() };
      groups.set(key, group);
    }
    for (const [t, v] of s.points) {
      const list = group.byTime.get(t);
      if (list) list.push(v);
      else group.byTime.set(t, [v]);
    }
  }
  const out: Series[] = [];
  for (const group of groups.values()) {
    const points: Point[] = [...group.byTime.entries()].sort((a, b) => a[0] - b[0]).map(([t, vs]) => [t, combine(vs, how)]);
    out.push({ labels: group.labels, points });
  }
  return out.sort((a, b) => seriesName(a.labels).localeCompare(seriesName(b.labels)));
}

/** A panel's query applied to what the store answered: matchers, then rate, then aggregation. */
export function evaluate(series: readonly Series[], query: { matchers?: Labels; function: PanelFunction; aggregation: Aggregation; by?: string[] }): Series[] {
  const matched = applyMatchers(series, query.matchers ?? {});
  const shaped = query.function === 'rate' ? matched.map((s) => ({ labels: s.labels, points: rate(s.points) })) : matched;
  return aggregate(shaped, query.aggregation, query.by ?? []);
}

/** A legend name from labels: the values that tell series apart, without the store's own labels. */
export function seriesName(labels: Labels, fallback = 'value'): string {
  const parts = Object.entries(labels)
    .filter(([k]) => !NOISE_LABELS.has(k))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  return parts.length === 0 ? fallback : parts.join(', ');
}

/** A step giving about `points` points over `rangeMs`, in whole seconds, at least 1 s. */
export function stepFor(rangeMs: number, points = 300): number {
  return Math.max(1000, Math.ceil(rangeMs / points / 1000) * 1000);
}

/**
 * uPlot's columns: x in seconds (union of every series' times) and one y column per series, null
 * where a series has no point. A hole longer than two steps gets a null row so the line breaks
 * instead of bridging time without data.
 */
export function alignForPlot(series: readonly Series[], stepMs: number): [number[], ...(number | null)[][]] {
  const times = new Set<number>();
  for (const s of series) for (const [t] of s.points) times.add(t);
  const sorted = [...times].sort((a, b) => a - b);
  const xs: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0 && sorted[i] - sorted[i - 1] > 2 * stepMs) xs.push(sorted[i - 1] + stepMs);
    xs.push(sorted[i]);
  }
  const index = new Map(xs.map((t, i) => [t, i]));
  const ys = series.map((s) => {
    const col: (number | null)[] = new Array<number | null>(xs.length).fill(null);
    for (const [t, v] of s.points) col[index.get(t) as number] = Number.isFinite(v) ? v : null;
    return col;
  });
  return [xs.map((t) => t / 1000), ...ys];
}
