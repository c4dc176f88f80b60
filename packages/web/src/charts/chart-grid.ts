import { errorText } from '../api';
import { notice } from '../components';
import { h } from '../dom';
import { drawChart } from './chart';
import { chartLines, type ChartSpec, type TimeWindow } from './chart-spec';
import { SeriesReader } from './series-reader';

/**
 * Draws every chart of one node for one window into `container` (one figure per chart, each
 * failing on its own); returns the function that removes them.
 */
export function drawChartGrid(container: HTMLElement, node: string, specs: readonly ChartSpec[], window: TimeWindow): () => void {
  const reader = new SeriesReader(node, window);
  const removers: (() => void)[] = [];
  let gone = false;
  const grid = h('div', { class: 'charts' });
  container.replaceChildren(grid);
  specs.forEach((spec, i) => {
    const titleId = `chart-${i}-title`;
    const plot = h('div', { class: 'plot' }, h('p', { class: 'muted' }, 'Loading…'));
    grid.append(h('section', { class: 'chart', 'aria-labelledby': titleId }, h('h3', { id: titleId }, spec.title), plot));
    chartLines(spec, reader).then(
      (lines) => {
        if (gone) return;
        plot.replaceChildren();
        removers.push(drawChart(plot, spec.unit, lines, window));
      },
      (err: unknown) => {
        if (gone) return;
        plot.replaceChildren(notice('error', `Could not read the data: ${errorText(err)}`));
      },
    );
  });
  return () => {
    gone = true;
    for (const remove of removers) remove();
    grid.remove();
  };
}
