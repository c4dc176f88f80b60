import { asList, num, printList, queryString, str, type CommandContext } from './command-context';
import { durationProblem } from './duration-argument';
import { formatTimeCell } from './relative-time';

/** What `alert history` and `audit list` read without `--since`. */
export const DEFAULT_HISTORY_SINCE = '24h';
/** The collector's most entries per answer; the CLI asks for all of them and says when it got that many. */
export const MAX_LISTED = 10_000;

const ACTIVE_COLUMNS = ['RULE', 'INSTANCE', 'STATUS', 'SINCE', 'VALUE'] as const;
const HISTORY_COLUMNS = ['TIME', 'RULE', 'INSTANCE', 'EVENT', 'VALUE', 'CHANNEL', 'OUTCOME'] as const;

/** `--since`: a duration back from now (`24h`) or an ISO 8601 time, as the collector reads it. */
export function sinceProblem(text: string | undefined): string | null {
  if (text === undefined || /^\d{4}-\d{2}-\d{2}T/.test(text)) return null;
  return durationProblem(text, '--since');
}

/** A note on stderr when an answer holds as many entries as the collector gives at most. */
export function noteWhenCut(ctx: CommandContext, count: number, what: string): void {
  if (count >= MAX_LISTED) ctx.err(`note: the collector answers at most ${MAX_LISTED} ${what}; give a shorter --since to see the rest\n`);
}

/** `ximp alert list`: the alerts pending or firing now. */
export async function alertList(ctx: CommandContext): Promise<void> {
  const alerts = asList(await ctx.api.call('GET', '/api/v1/alerts'));
  const rows = alerts.map((a) => ({
    rule: str(a, 'rule'),
    instance: str(a, 'instance'),
    status: str(a, 'status'),
    since: str(a, 'active_since'),
    value: num(a, 'value'),
  }));
  printList(ctx, ACTIVE_COLUMNS, rows, (r, now) => [r.rule, r.instance, r.status, formatTimeCell(r.since, now), r.value]);
}

/**
 * `ximp alert history [--since 24h] [--node NODE] [--rule NAME]`: transitions and delivery
 * attempts, oldest first. A failed delivery shows what the channel answered after its OUTCOME;
 * JSON keeps that answer in `detail`.
 */
export async function alertHistory(ctx: CommandContext): Promise<void> {
  const query = queryString({
    since: ctx.flags.since ?? DEFAULT_HISTORY_SINCE,
    node: ctx.flags.node,
    rule: ctx.flags.rule,
    limit: String(MAX_LISTED),
  });
  const entries = asList(await ctx.api.call('GET', `/api/v1/alerts/history${query}`));
  const rows = entries.map((e) => ({
    time: str(e, 'time'),
    rule: str(e, 'rule'),
    instance: str(e, 'instance'),
    event: str(e, 'event'),
    value: num(e, 'value'),
    channel: str(e, 'channel'),
    outcome: str(e, 'outcome'),
    detail: str(e, 'detail'),
  }));
  printList(ctx, HISTORY_COLUMNS, rows, (r, now) => [
    formatTimeCell(r.time, now),
    r.rule,
    r.instance,
    r.event,
    r.value,
    r.channel,
    r.outcome === 'failed' && r.detail !== null ? `failed: ${r.detail}` : r.outcome,
  ]);
  noteWhenCut(ctx, rows.length, 'history entries');
}
