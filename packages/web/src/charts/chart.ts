import uPlot from 'uplot';
import { h } from '../dom';
import type { NamedSeries, TimeWindow, Unit } from './chart-spec';
import { alignForPlot } from './series-math';
import { formatValue } from './unit-format';

/** Line colours readable on both the light and the dark background. */
const PALETTE = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#ea580c', '#6b7280'];
const HEIGHT = 240;

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v === '' ? fallback : v;
}

/**
 * Draws `lines` into `plot` with uPlot (time axis in the browser's zone) and a text summary of
 * the latest values for screen readers; returns the function that removes the chart.
 */
export function drawChart(plot: HTMLElement, unit: Unit, lines: NamedSeries[], window: TimeWindow): () => void {
  const summary = h('p', { class: 'visually-hidden' });
  if (lines.length === 0 || lines.every((l) => l.points.length === 0)) {
    plot.append(h('p', { class: 'empty' }, 'No data in this range.'));
    return () => plot.replaceChildren();
  }
  summary.textContent = `Latest: ${lines
    .map((l) => `${l.name} ${formatValue(l.points.at(-1)?.[1], unit)}`)
    .join('; ')}.`;
  const fg = cssVar('--fg', '#111827');
  const grid = cssVar('--border', '#9ca3af');
  const axis = (values: uPlot.Axis['values']): uPlot.Axis => ({ stroke: fg, grid: { stroke: grid, width: 0.5 }, ticks: { stroke: grid, width: 0.5 }, values });
  const opts: uPlot.Options = {
    width: Math.max(280, plot.clientWidth || 560),
    height: HEIGHT,
    scales: {
      x: { time: true, range: [window.from / 1000, window.to / 1000] },
      y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.05 : 1] },
    },
    axes: [axis(undefined), { ...axis((_u, splits) => splits.map((v) => formatValue(v, unit))), size: 80 }],
    series: [
      { label: 'Time' },
      ...lines.map((l, i): uPlot.Series => ({
        label: l.name,
        stroke: PALETTE[i % PALETTE.length],
        width: 1.5,
        value: (_u, v) => formatValue(v, unit),
        spanGaps: false,
      })),
    ],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
  };
  const data = alignForPlot(lines, window.step) as uPlot.AlignedData;
  const chart = new uPlot(opts, data, plot);
  plot.append(summary);
  const resize = new ResizeObserver(() => {
    const width = Math.max(280, plot.clientWidth);
    if (width !== chart.width) chart.setSize({ width, height: HEIGHT });
  });
  resize.observe(plot);
  return () => {
    resize.disconnect();
    chart.destroy();
    plot.replaceChildren();
  };
}
