import { CliError } from './cli-error';
import { asList, jsonText, queryString, type CommandContext } from './command-context';
import { DEFAULT_SINCE } from './command-spec';
import { checkedDuration } from './duration-argument';
import { ExitCodes } from './exit-codes';
import { formatTimeCell } from './relative-time';
import { formatTable } from './table';

const COLUMNS = ['SERIES', 'LAST-VALUE', 'LAST-TIME', 'POINTS'] as const;

/** One series as `ximp metrics query --output json` prints it. */
interface SeriesJson {
  metric: string;
  labels: Record<string, string>;
  /** `[ISO 8601 UTC time, value]`, oldest first; a NaN or infinite value is null. */
  points: [string, number | null][];
}

function unexpected(what: string): CliError {
  return new CliError(ExitCodes.FAILED, `unexpected answer from the collector: ${what}`);
}

function seriesOf(metric: string, raw: Record<string, unknown>): SeriesJson {
  const labels = raw.labels;
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) throw unexpected('a series without labels');
  const entries = Object.entries(labels as Record<string, unknown>);
  if (!entries.every(([, value]) => typeof value === 'string')) throw unexpected('a label value that is not a string');
  if (!Array.isArray(raw.points)) throw unexpected('a series without points');
  const points = (raw.points as unknown[]).map((p): [string, number | null] => {
    const [time, value] = Array.isArray(p) ? (p as unknown[]) : [];
    if (typeof time !== 'number' || !Number.isFinite(time) || (typeof value !== 'number' && value !== null)) {
      throw unexpected('a point that is not [time, value]');
    }
    return [new Date(time).toISOString(), value];
  });
  // Object.fromEntries defines own properties: a `__proto__` label stays a label.
  return { metric, labels: Object.fromEntries(entries) as Record<string, string>, points };
}

/** `name{a="1",b="2"}` as Prometheus writes a series: labels sorted by name, values escaped. */
export function seriesText(metric: string, labels: Record<string, string>): string {
  const names = Object.keys(labels).sort();
  const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return `${metric}{${names.map((n) => `${n}="${escape(labels[n])}"`).join(',')}}`;
}

/**
 * `ximp metrics query --node NODE --metric NAME [--since 1h]`: the node's series of one metric
 * from `--since` ago until now. The table shows a row per series (its name and labels, the last
 * value, its time, the points in range); `--output json` prints every point.
 */
export async function metricsQuery(ctx: CommandContext): Promise<void> {
  const node = ctx.flags.node;
  const metric = ctx.flags.metric;
  // parseArgs checked --since; the collector checks it against its api.max_query_range.
  const sinceMs = checkedDuration(ctx.flags.since ?? DEFAULT_SINCE);
  const to = ctx.now();
  const query = queryString({ metric, from: String(to - sinceMs), to: String(to) });
  const answer = asList(await ctx.api.call('GET', `/api/v1/nodes/${encodeURIComponent(node)}/series${query}`));
  const series = answer.map((raw) => seriesOf(metric, raw));
  if (ctx.output === 'json') {
    ctx.out(jsonText(series));
    return;
  }
  const now = ctx.now();
  const rows = series.map((s) => {
    const last = s.points[s.points.length - 1];
    return [seriesText(s.metric, s.labels), last ? last[1] : null, last ? formatTimeCell(last[0], now) : null, s.points.length];
  });
  ctx.out(formatTable(COLUMNS, rows));
}
