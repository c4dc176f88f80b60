import type { Point } from '../point';
import { boundedMemo } from './memo';
import { sourceParseError, splitFields } from './parse-error';
import type { MetricSource } from './source';

/** One /proc/meminfo line: the key as printed and its value, with its unit when it has one. */
export interface MeminfoEntry {
  key: string;
  value: number;
  /** "kB" for sizes; null for counts such as HugePages_Total. */
  unit: 'kB' | null;
}

const FILE = '/proc/meminfo';
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Parses /proc/meminfo. Lines that are not "Key: value [kB]" are skipped (a future kernel may add
 * other shapes); a file with no readable line at all is an error.
 */
export function parseMeminfo(text: string): MeminfoEntry[] {
  const entries: MeminfoEntry[] = [];
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    const fields = splitFields(line);
    if (fields.length < 2 || fields.length > 3) continue;
    const [rawKey, rawValue, unit] = fields as [string, string, string | undefined];
    if (!rawKey.endsWith(':') || (unit !== undefined && unit !== 'kB')) continue;
    if (!/^\d+$/.test(rawValue)) continue;
    const key = rawKey.slice(0, -1);
    if (seen.has(key)) continue;
    seen.add(key);
    // Digits only (checked above): Number reads them exactly as the kernel printed them.
    entries.push({ key, value: Number(rawValue), unit: unit === 'kB' ? 'kB' : null });
  }
  if (entries.length === 0) throw sourceParseError(FILE, 'no "Key: value" lines (empty or not a meminfo file)');
  return entries;
}

/**
 * node_memory_<Key>_bytes (kB * 1024) and node_memory_<Key> for unitless counts, with
 * "Active(anon)" written "Active_anon" exactly as node_exporter does.
 */
export function mapMeminfo(entries: MeminfoEntry[]): Point[] {
  const points: Point[] = [];
  for (const { key, value, unit } of entries) {
    const name = unit === 'kB' ? bytesName(key) : countName(key);
    if (name === null) continue;
    points.push({ name, labels: {}, value: unit === 'kB' ? value * 1024 : value });
  }
  return points;
}

/** The metric name of a meminfo key with `suffix`, or null when the key makes no valid name. */
function meminfoMetricName(key: string, suffix: string): string | null {
  const name = `node_memory_${key.replace(/\((.*)\)/, '_$1')}${suffix}`;
  return METRIC_NAME.test(name) ? name : null;
}

/** Names by key, built once: the kernel prints the same few dozen keys every time. */
const bytesName = boundedMemo((key) => meminfoMetricName(key, '_bytes'), 256);
const countName = boundedMemo((key) => meminfoMetricName(key, ''), 256);

export const memorySource: MetricSource = {
  name: 'memory',
  defaultEnabled: true,
  create(_options, deps) {
    return {
      async collect(ctx) {
        if (deps.platform !== 'linux') {
          return [
            { name: 'node_memory_MemTotal_bytes', labels: {}, value: deps.os.totalmem() },
            { name: 'node_memory_MemFree_bytes', labels: {}, value: deps.os.freemem() },
          ];
        }
        return mapMeminfo(parseMeminfo(await deps.readFile(FILE, ctx.signal)));
      },
    };
  },
};
