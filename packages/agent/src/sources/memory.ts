import type { Point } from '../point';
import { boundedMemo } from './memo';
import { sourceParseError } from './parse-error';
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
 * other shapes); a file with no readable line at all is an error. Scanned by character, not split
 * into lines and fields: it runs every cycle, and the only string a line costs is its key.
 */
export function parseMeminfo(text: string): MeminfoEntry[] {
  const entries: MeminfoEntry[] = [];
  const seen = new Set<string>();
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const entry = parseMeminfoLine(text, start, end);
    start = end + 1;
    if (entry === null || seen.has(entry.key)) continue;
    seen.add(entry.key);
    entries.push(entry);
  }
  if (entries.length === 0) throw sourceParseError(FILE, 'no "Key: value" lines (empty or not a meminfo file)');
  return entries;
}

/** Token bounds of the line being read: [start, end) pairs, at most 3 tokens plus "more". */
const tokens = new Int32Array(8);

/** The blank-separated tokens of text[start, end) into `tokens`; returns their count, capped at 4. */
function tokenize(text: string, start: number, end: number): number {
  let count = 0;
  let at = start;
  while (count < 4) {
    while (at < end && isBlank(text.charCodeAt(at))) at++;
    if (at >= end) break;
    const from = at;
    while (at < end && !isBlank(text.charCodeAt(at))) at++;
    if (count < 3) {
      tokens[2 * count] = from;
      tokens[2 * count + 1] = at;
    }
    count++;
  }
  return count;
}

/** Space, tab, line feed, vertical tab, form feed, carriage return. */
function isBlank(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13);
}

/** One "Key: value" or "Key: value kB" line, or null for any other shape. */
function parseMeminfoLine(text: string, start: number, end: number): MeminfoEntry | null {
  const count = tokenize(text, start, end);
  if (count < 2 || count > 3) return null;
  const keyEnd = tokens[1]! - 1;
  if (text.charCodeAt(keyEnd) !== 58 /* : */) return null;
  let unit: 'kB' | null = null;
  if (count === 3) {
    if (tokens[5]! - tokens[4]! !== 2 || !text.startsWith('kB', tokens[4]!)) return null;
    unit = 'kB';
  }
  const value = digitsValue(text, tokens[2]!, tokens[3]!);
  if (value === null) return null;
  return { key: text.slice(tokens[0]!, keyEnd), value, unit };
}

/** The value of text[from, to) when it is digits only; read as Number() reads them. */
function digitsValue(text: string, from: number, to: number): number | null {
  let value = 0;
  for (let i = from; i < to; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return null;
    value = value * 10 + digit;
  }
  // Up to 15 digits the sum above is exact; beyond, Number() rounds the way the parse always did.
  return to - from > 15 ? Number(text.slice(from, to)) : value;
}

/**
 * node_memory_<Key>_bytes (kB * 1024) and node_memory_<Key> for unitless counts, with
 * "Active(anon)" written "Active_anon" exactly as node_exporter does.
 */
export function mapMeminfo(entries: MeminfoEntry[]): Point[] {
  const points: Point[] = [];
  for (let i = 0; i < entries.length; i++) {
    const { key, value, unit } = entries[i]!;
    const name = unit === 'kB' ? bytesName(key) : countName(key);
    if (name === null) continue;
    points.push({ name, labels: NO_LABELS, value: unit === 'kB' ? value * 1024 : value });
  }
  return points;
}

/** The metric name of a meminfo key with `suffix`, or null when the key makes no valid name. */
function meminfoMetricName(key: string, suffix: string): string | null {
  const name = `node_memory_${key.replace(/\((.*)\)/, '_$1')}${suffix}`;
  return METRIC_NAME.test(name) ? name : null;
}

/** One empty label set for every meminfo point: the agent reads points' labels, never writes them. */
const NO_LABELS: Record<string, string> = Object.freeze({});

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
