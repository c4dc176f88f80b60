/** An agent as `/api/v1/agents` and its event stream show it (the fields the fleet table uses). */
export interface AgentJson {
  node: string;
  state: string;
  last_seen: string | null;
  address: string | null;
  version: string | null;
  token_id: string | null;
  runtime?: string | null;
  token_expires_at?: string | null;
  clock_skew_ms?: number | null;
  spool_backlog?: number | null;
}

export const AGENT_STATES = ['ACTIVE', 'STALE', 'DISCONNECTED', 'PENDING'] as const;

/**
 * The agents a search and a state filter leave, sorted by node name. The search matches node,
 * address, version and token ID, case-insensitively; an empty state means every state.
 */
export function filterAgents(agents: Iterable<AgentJson>, search: string, state: string): AgentJson[] {
  const q = search.trim().toLowerCase();
  const out: AgentJson[] = [];
  for (const a of agents) {
    if (state !== '' && a.state !== state) continue;
    if (q !== '' && ![a.node, a.address, a.version, a.token_id].some((v) => v !== null && v !== undefined && v.toLowerCase().includes(q))) continue;
    out.push(a);
  }
  return out.sort((x, y) => (x.node < y.node ? -1 : x.node > y.node ? 1 : 0));
}
