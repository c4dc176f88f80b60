/** SPEC §5: what an operator sees for each agent. */
export type AgentState = 'ACTIVE' | 'STALE' | 'DISCONNECTED' | 'PENDING';

/** A node with its state alone: what readers of the whole fleet on timers need (AgentRegistry.states). */
export interface NodeState {
  node: string;
  state: AgentState;
}

export interface AgentView {
  node: string;
  state: AgentState;
  lastSeenMs: number | null;
  address: string | null;
  version: string | null;
  tokenId: string | null;
  /** What runs the agent (host facts, e.g. "node v24.22.3"): "" from agents older than the field, null before any Hello. */
  runtime: string | null;
  /** When the agent's token expires (the session's, else the last one it used); null when unknown. */
  tokenExpiresMs?: number | null;
  /**
   * The agent's clock minus the collector's (ms, positive = the agent is ahead), from the send
   * time of its latest batch; null when not connected or its agent tells no send time.
   */
  clockSkewMs?: number | null;
  /** Batches waiting in the agent's spool behind the latest one received (estimated); null when unknown. */
  spoolBacklog?: number | null;
  /** Host facts from the agent's latest Hello (HostFacts as sent); null before any Hello. */
  host?: unknown;
}

/** ACTIVE while a batch arrived within this many intervals; STALE after. */
export const STALE_AFTER_INTERVALS = 3;

/** The state of a connected agent, derived from when its last batch arrived. */
export function connectedState(lastBatchMs: number | null, intervalMs: number, now: number): AgentState {
  if (lastBatchMs === null) return 'STALE';
  return now - lastBatchMs <= STALE_AFTER_INTERVALS * intervalMs ? 'ACTIVE' : 'STALE';
}
