// Units in the order they must appear, largest first (as Prometheus does: "1h30m", never "30m1h").
const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
];

const TERM = /(\d+)(ms|d|h|m|s)/y;

/**
 * Parses a duration such as `500ms`, `10s`, `5m`, `12h`, `365d` or `1h30m` into milliseconds.
 * Terms are whole numbers, each unit at most once and largest first; `0` alone means zero.
 * Returns null for anything else (no fractions, no spaces, no bare numbers).
 */
export function parseDuration(text: string): number | null {
  if (text === '0') return 0;
  if (text.length === 0 || text.length > 64) return null;
  let total = 0;
  let pos = 0;
  let nextUnit = 0; // index into UNITS the next term may use at the earliest
  while (pos < text.length) {
    TERM.lastIndex = pos;
    const m = TERM.exec(text);
    if (!m) return null;
    const unitIndex = UNITS.findIndex(([u]) => u === m[2]);
    if (unitIndex < nextUnit) return null;
    nextUnit = unitIndex + 1;
    total += Number(m[1]) * UNITS[unitIndex][1];
    pos = TERM.lastIndex;
  }
  return Number.isSafeInteger(total) ? total : null;
}

/** Formats milliseconds the way parseDuration reads them: `1h30m`, `500ms`, `0s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`not a duration: ${ms}`);
  let rest = Math.round(ms);
  if (rest === 0) return '0s';
  let out = '';
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
