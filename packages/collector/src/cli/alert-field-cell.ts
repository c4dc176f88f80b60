import { formatTimeCell } from './relative-time';
import type { Cell } from './table';

/**
 * One field of a rule or channel as `show` and `create` print it: times with their relative form,
 * lists joined by commas, maps (matchers) as Prometheus writes labels, absent as "-".
 */
export function alertFieldCell(key: string, value: unknown, now: number): Cell {
  if (key === 'created' || key === 'updated') return formatTimeCell(typeof value === 'string' ? value : null, now);
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(',');
  if (value !== null && typeof value === 'object') {
    const pairs = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    return `{${pairs.join(', ')}}`;
  }
  if (typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') return String(value);
  return null;
}
