import { bytes, duration } from '../format';
import type { Unit } from './chart-spec';

/** A compact number: 1234567 → "1.23M". */
export function compact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${Number((v / 1e9).toPrecision(3))}G`;
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e3) return `${Number((v / 1e3).toPrecision(3))}k`;
  if (a === 0) return '0';
  return String(Number(v.toPrecision(3)));
}

/** A value as its panel's unit says. */
export function formatValue(v: number | null | undefined, unit: Unit): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  switch (unit) {
    case 'bytes':
      return bytes(v);
    case 'bytes/s':
      return `${bytes(v)}/s`;
    case 'percent':
      return `${Number(v.toFixed(1))}%`;
    case 'seconds':
      return duration(v * 1000);
    case 'none':
      return compact(v);
  }
}
