import { asList, printList, queryString, str, type CommandContext } from './command-context';
import { formatTimeCell } from './relative-time';

const COLUMNS = ['NODE', 'STATE', 'LAST-SEEN', 'ADDRESS', 'VERSION', 'TOKEN'] as const;

/** `ximp agent list [--node NODE]`. */
export async function agentList(ctx: CommandContext): Promise<void> {
  const agents = asList(await ctx.api.call('GET', `/api/v1/agents${queryString({ node: ctx.flags.node })}`));
  const rows = agents.map((a) => ({
    node: str(a, 'node'),
    state: str(a, 'state'),
    last_seen: str(a, 'last_seen'),
    address: str(a, 'address'),
    version: str(a, 'version'),
    token: str(a, 'token_id'),
  }));
  printList(ctx, COLUMNS, rows, (r, now) => [r.node, r.state, formatTimeCell(r.last_seen, now), r.address, r.version, r.token]);
}
