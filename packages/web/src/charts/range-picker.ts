import { field } from '../components';
import { h } from '../dom';
import { rangeFor, RANGES, type TimeRange } from './time-range';

/**
 * The time range select, kept in the URL's `range` parameter so a reload or a shared link shows
 * the same range; `onChange` runs with the new range.
 */
export function rangePicker(onChange: (range: TimeRange) => void): { element: HTMLElement; current: () => TimeRange } {
  const select = h('select', { name: 'range' }, RANGES.map((r) => h('option', { value: r.value }, r.label)));
  select.value = rangeFor(new URLSearchParams(location.search).get('range')).value;
  select.addEventListener('change', () => {
    const url = new URL(location.href);
    url.searchParams.set('range', select.value);
    history.replaceState(null, '', url.pathname + url.search);
    onChange(rangeFor(select.value));
  });
  return { element: field('Time range', select), current: () => rangeFor(select.value) };
}

/** How often charts over `range` are read again: short ranges often, long ranges rarely. */
export function refreshEvery(range: TimeRange): number {
  return range.ms <= 6 * 3_600_000 ? 30_000 : 300_000;
}
