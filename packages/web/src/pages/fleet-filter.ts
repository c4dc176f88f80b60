import type { AgentJson } from '@ximp/shared';

export const AGENT_STATES = ['ACTIVE', 'STALE', 'DISCONNECTED', 'PENDING'] as const;

/**
 * The agents a search and a state filter leave, sorted by node name. The search matches node,
 * address, version and token ID, case-insensitively; an empty state means every state.
 */
export function filterAgents<A extends Pick<AgentJson, 'node' | 'state' | 'address' | 'version' | 'token_id'>>(agents: Iterable<A>, search: string, state: string): A[] {
  const q = search.trim().toLowerCase();
  const out: A[] = [];
  for (const a of agents) {
    if (state !== '' && a.state !== state) continue;
    if (q !== '' && ![a.node, a.address, a.version, a.token_id].some((v) => v !== null && v.toLowerCase().includes(q))) continue;
    out.push(a);
  }
  return out.sort((x, y) => (x.node < y.node ? -1 : x.node > y.node ? 1 : 0));
}
