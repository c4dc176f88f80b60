import type { ScannedSeries } from '../store/series-query';
import { compare, type AlertRule } from './alert-rule';

/** A threshold rule's reading on one node. */
export interface ThresholdReading {
  /** The aggregate over the node's matched series. */
  value: number;
  /** True when `value op threshold`. */
  holds: boolean;
  /** The labels every matched series shares (with `instance` and `job`). */
  labels: Record<string, string>;
  /** How many series matched. */
  series: number;
}

/**
 * How far back a rule without `rate` looks for a series' latest sample: older samples are stale
 * (Prometheus' lookback delta), so a node that stopped sending reads as no data, not as its last value.
 */
export const LOOKBACK_MS = 5 * 60_000;

/** The window a rule reads from the store, ending now. */
export function readWindowMs(rule: AlertRule): number {
  return rule.rateMs ?? LOOKBACK_MS;
}

/**
 * The reading of `rule` on one node from the series the store returned for its metric over
 * `readWindowMs(rule)`, or null when no series matches or none has enough samples (no data:
 * the condition does not hold, as in Prometheus).
 */
export function thresholdReading(rule: AlertRule, series: readonly ScannedSeries[]): ThresholdReading | null {
  const matched = series.filter((s) => Object.entries(rule.matchers).every(([name, value]) => s.labels[name] === value));
  const values: number[] = [];
  const used: ScannedSeries[] = [];
  for (const s of matched) {
    const v = rule.rateMs === null ? latest(s) : perSecondRate(s);
    if (v === null || Number.isNaN(v)) continue;
    values.push(v);
    used.push(s);
  }
  if (values.length === 0) return null;
  const value = aggregate(rule.aggregate, values);
  return { value, holds: compare(value, rule.op, rule.value), labels: commonLabels(used), series: used.length };
}

function latest(s: ScannedSeries): number | null {
  return s.count === 0 ? null : s.data[2 * (s.count - 1) + 1];
}

/**
 * Per-second increase of a counter between its first and last sample in the window; a drop is a
 * counter reset (the agent restarted), counted as a restart from zero, as Prometheus' rate does.
 */
function perSecondRate(s: ScannedSeries): number | null {
  if (s.count < 2) return null;
  let increase = 0;
  let previous = s.data[1];
  for (let i = 1; i < s.count; i++) {
    const v = s.data[2 * i + 1];
    increase += v >= previous ? v - previous : v;
    previous = v;
  }
  const seconds = (s.data[2 * (s.count - 1)] - s.data[0]) / 1000;
  return seconds > 0 ? increase / seconds : null;
}

function aggregate(kind: AlertRule['aggregate'], values: readonly number[]): number {
  switch (kind) {
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length;
  }
}

function commonLabels(series: readonly ScannedSeries[]): Record<string, string> {
  const out: Record<string, string> = { ...series[0].labels };
  for (const s of series.slice(1)) {
    for (const name of Object.keys(out)) if (s.labels[name] !== out[name]) delete out[name];
  }
  return out;
}
