import { DEFAULT_HISTORY_SINCE, MAX_LISTED, noteWhenCut } from './alert-commands';
import { asList, printList, queryString, str, type CommandContext } from './command-context';
import { formatTimeCell } from './relative-time';

const COLUMNS = ['TIME', 'ACTOR', 'ACTION', 'TARGET', 'SOURCE'] as const;

/** `ximp audit list [--since 24h]`: every change in the window, newest first (monitoring-admin). */
export async function auditList(ctx: CommandContext): Promise<void> {
  const query = queryString({ since: ctx.flags.since ?? DEFAULT_HISTORY_SINCE, limit: String(MAX_LISTED) });
  const entries = asList(await ctx.api.call('GET', `/api/v1/audit${query}`));
  const rows = entries.map((e) => ({
    time: str(e, 'time'),
    actor: str(e, 'actor'),
    action: str(e, 'action'),
    target: str(e, 'target'),
    source: str(e, 'source'),
  }));
  printList(ctx, COLUMNS, rows, (r, now) => [formatTimeCell(r.time, now), r.actor, r.action, r.target, r.source]);
  noteWhenCut(ctx, rows.length, 'audit entries');
}
