import { stepFor } from './series-math';
import type { TimeWindow } from './chart-spec';

export interface TimeRange {
  value: string;
  label: string;
  ms: number;
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** The range picker's choices, 15 minutes to 15 days (the store keeps 15 days by default). */
export const RANGES: readonly TimeRange[] = [
  { value: '15m', label: 'Last 15 minutes', ms: 15 * MIN },
  { value: '1h', label: 'Last hour', ms: HOUR },
  { value: '6h', label: 'Last 6 hours', ms: 6 * HOUR },
  { value: '24h', label: 'Last 24 hours', ms: DAY },
  { value: '7d', label: 'Last 7 days', ms: 7 * DAY },
  { value: '15d', label: 'Last 15 days', ms: 15 * DAY },
];

export const DEFAULT_RANGE = '1h';

/** The range named by `value` (from the URL), or the default one. */
export function rangeFor(value: string | null): TimeRange {
  return RANGES.find((r) => r.value === value) ?? (RANGES.find((r) => r.value === DEFAULT_RANGE) as TimeRange);
}

/** The window ending now with a step giving about 300 points; bounds aligned to the step. */
export function windowFor(range: TimeRange, now: number): TimeWindow {
  const step = stepFor(range.ms);
  const to = Math.ceil(now / step) * step;
  return { from: to - range.ms, to, step };
}
