import { asObject, printList, str, type CommandContext } from './command-context';
import { formatTimeCell } from './relative-time';

const COLUMNS = ['ID', 'NAME', 'PANELS', 'BUILTIN', 'CREATED-BY', 'UPDATED'] as const;

/** `ximp dashboard list`: the saved dashboards, the built-in first (any role). */
export async function dashboardList(ctx: CommandContext): Promise<void> {
  const body = asObject(await ctx.api.call('GET', '/api/v1/dashboards'));
  const dashboards = Array.isArray(body.dashboards) ? (body.dashboards as Record<string, unknown>[]) : [];
  const rows = dashboards.map((d) => ({
    id: str(d, 'id'),
    name: str(d, 'name'),
    panels: Array.isArray(d.panels) ? d.panels.length : 0,
    builtin: d.builtin === true,
    created_by: str(d, 'created_by'),
    updated_at: str(d, 'updated_at'),
  }));
  printList(ctx, COLUMNS, rows, (r, now) => [r.id, r.name, String(r.panels), r.builtin ? 'yes' : 'no', r.created_by, formatTimeCell(r.updated_at, now)]);
}
