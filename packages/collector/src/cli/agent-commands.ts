import type { AgentJson } from '@ximp/shared';
import { asList, printList, queryString, str, type CommandContext } from './command-context';
import { formatTimeCell } from './relative-time';

const COLUMNS = ['NODE', 'STATE', 'LAST-SEEN', 'ADDRESS', 'VERSION', 'TOKEN'] as const;
/** `--wide`: SPEC §6's columns first, as they are, and the added ones after them. */
const WIDE_COLUMNS = [...COLUMNS, 'RUNTIME'] as const;

/** `ximp agent list [--node NODE] [--wide]`. */
export async function agentList(ctx: CommandContext): Promise<void> {
  const agents = asList<AgentJson>(await ctx.api.call('GET', `/api/v1/agents${queryString({ node: ctx.flags.node })}`));
  const rows = agents.map((a) => ({
    node: str(a, 'node'),
    state: str(a, 'state'),
    last_seen: str(a, 'last_seen'),
    address: str(a, 'address'),
    version: str(a, 'version'),
    token: str(a, 'token_id'),
  }));
  if (ctx.flags.wide !== undefined) {
    const wide = rows.map((r, i) => ({ ...r, runtime: str(agents[i], 'runtime') }));
    printList(ctx, WIDE_COLUMNS, wide, (r, now) => [r.node, r.state, formatTimeCell(r.last_seen, now), r.address, r.version, r.token, r.runtime]);
  } else {
    printList(ctx, COLUMNS, rows, (r, now) => [r.node, r.state, formatTimeCell(r.last_seen, now), r.address, r.version, r.token]);
  }
  // Not a column (SPEC §6 fixes them): a warning on stderr, which leaves --output json as it is.
  const held = agents.filter((a) => a.store === 'held').map((a) => str(a, 'node'));
  if (held.length > 0) {
    const names = held.length <= 5 ? held.join(', ') : `${held.slice(0, 5).join(', ')} and ${held.length - 5} more`;
    ctx.err(`warning: a remote store's queue is full: ${held.length} agent(s) not acknowledged (${names}); their spools keep the data until it drains\n`);
  }
}
