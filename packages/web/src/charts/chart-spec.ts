import type { DashboardPanelJson } from '@ximp/shared';
import { evaluate, seriesName, type Aggregation, type Labels, type PanelFunction, type Series } from './series-math';

export type Unit = DashboardPanelJson['unit'];

/** A saved dashboard's panel. */
export type Panel = DashboardPanelJson;

/** One query of a chart: a metric shaped like a panel, its lines named and scaled. */
export interface LineQuery {
  metric: string;
  matchers?: Labels;
  function: PanelFunction;
  aggregation: Aggregation;
  by?: string[];
  /** Legend name of each resulting series (default: its telling labels). */
  name?: (labels: Labels) => string;
  /** Multiplies every value (e.g. 100 for a fraction shown in percent). */
  scale?: number;
}

/** A chart: one or more queries drawn together, or a `derive` that builds its lines from them. */
export interface ChartSpec {
  title: string;
  unit: Unit;
  queries: LineQuery[];
  derive?: (results: Series[][]) => NamedSeries[];
}

export interface NamedSeries extends Series {
  name: string;
}

export interface TimeWindow {
  from: number;
  to: number;
  step: number;
}

/**
 * A panel as a chart. Shown in percent, the rate of a `_seconds_total` counter is a fraction of
 * each second (CPU time, I/O time), so it is scaled by 100.
 */
export function panelChart(panel: Panel): ChartSpec {
  const fraction = panel.unit === 'percent' && panel.function === 'rate' && panel.metric.endsWith('_seconds_total');
  return {
    title: panel.title,
    unit: panel.unit,
    queries: [{ metric: panel.metric, matchers: panel.matchers, function: panel.function, aggregation: panel.aggregation, by: panel.by, scale: fraction ? 100 : 1 }],
  };
}

/** The lines of a chart for the window the reader covers. */
export async function chartLines(spec: ChartSpec, reader: { read(metric: string, needsRate: boolean): Promise<Series[]> }): Promise<NamedSeries[]> {
  const results = await Promise.all(
    spec.queries.map(async (q) => {
      const raw = await reader.read(q.metric, q.function === 'rate');
      const scale = q.scale ?? 1;
      return evaluate(raw, q).map((s) => ({ labels: s.labels, points: scale === 1 ? s.points : s.points.map(([t, v]): [number, number] => [t, v * scale]) }));
    }),
  );
  if (spec.derive) return spec.derive(results);
  return results.flatMap((series, i) => series.map((s) => ({ ...s, name: spec.queries[i].name?.(s.labels) ?? seriesName(s.labels, spec.queries[i].metric) })));
}
