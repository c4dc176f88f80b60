// Binary units (KiB = 1024) are what memory and disk budgets are usually written in;
// the decimal ones (KB = 1000) are accepted because operators write them too.
const UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
  TB: 1000 ** 4,
};

const SIZE = /^(\d+)(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)$/;

/**
 * Parses a size such as `64MiB`, `1GiB`, `512KiB`, `100B` (binary) or `10MB` (decimal) into bytes.
 * A unit is required, so a bare number is never silently taken as bytes. Returns null otherwise.
 */
export function parseSize(text: string): number | null {
  if (text.length > 32) return null;
  const m = SIZE.exec(text);
  if (!m) return null;
  const bytes = Number(m[1]) * UNITS[m[2]];
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/** Formats bytes with the largest binary unit that divides them exactly: `64MiB`, `1536B`. */
export function formatSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`not a size: ${bytes}`);
  for (const unit of ['TiB', 'GiB', 'MiB', 'KiB'] as const) {
    const size = UNITS[unit];
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}
