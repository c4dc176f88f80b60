const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
];

/**
 * A short human distance between `thenMs` and `nowMs`: "12s ago", "5m ago", "in 364d", "now".
 * Uses the largest unit that fits (whole units, rounded down), like `kubectl get`'s AGE column.
 */
export function relativeTime(thenMs: number, nowMs: number): string {
  const delta = nowMs - thenMs;
  const abs = Math.abs(delta);
  if (abs < 1_000) return 'now';
  for (const [unit, size] of UNITS) {
    if (abs >= size) {
      const amount = Math.floor(abs / size);
      return delta > 0 ? `${amount}${unit} ago` : `in ${amount}${unit}`;
    }
  }
  return 'now';
}

/** ISO 8601 UTC to the second, e.g. "2026-11-23T19:31:05Z". */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A time cell for tables: "2026-11-23T19:31:05Z (12s ago)", or "-" for null. Accepts the ISO text
 * the API sends; text that is not a time is shown unchanged rather than hidden.
 */
export function formatTimeCell(iso: string | null | undefined, nowMs: number): string {
  if (iso === null || iso === undefined || iso === '') return '-';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${isoSeconds(ms)} (${relativeTime(ms, nowMs)})`;
}
