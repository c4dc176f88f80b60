import type { HostFacts, Logger } from '@ximp/shared';
import { CloseCodes } from '@ximp/shared';
import { connectedState, type AgentView } from './agent-state';

/** What the registry needs of a live session: who it is and how to end it. */
export interface LiveSession {
  readonly id: string;
  readonly node: string;
  readonly tokenId: string;
  readonly address: string;
  close(code: number, reason: string): void;
}

export interface SessionInfo {
  version: string;
  intervalMs: number;
  bootId: string;
  host: HostFacts;
}

interface LiveAgent {
  session: LiveSession;
  info: SessionInfo;
  lastBatchMs: number | null;
  lastSeenMs: number;
  spoolDroppedTotal: number;
}

/** The persisted side: agent records and the tokens that make a node PENDING. */
export interface AgentRegistryDeps {
  records: {
    upsertConnected(
      rec: { node: string; address: string; version: string; tokenId: string; intervalMs: number; bootId: string; host: unknown },
      now: number,
    ): void;
    touch(node: string, now: number): void;
    markDisconnected(node: string, now: number): void;
    list(): { node: string; lastSeenMs: number | null; address: string | null; version: string | null; tokenId: string | null; host: unknown }[];
  };
  tokens: { list(node?: string): { node: string; expiresMs: number; revokedMs: number | null }[] };
  /** Runs `fn` in one database transaction, so a second of last-seen updates is one commit. */
  transaction(fn: () => void): void;
  log: Logger;
  now(): number;
  /** How often last-seen is written to the database. */
  flushIntervalMs?: number;
}

/**
 * Tracks every agent's live session and last-seen time. One session per node: a newer one
 * replaces the older, which is closed with 4003. Last-seen is kept in memory and written to the
 * database once per flush interval in one transaction, so it survives a restart without one
 * commit per batch.
 */
export class AgentRegistry {
  private readonly live = new Map<string, LiveAgent>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: AgentRegistryDeps) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.flush(), this.deps.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }

  /** Registers a session after its Hello; closes an older session of the same node. */
  attach(session: LiveSession, info: SessionInfo): void {
    const now = this.deps.now();
    const previous = this.live.get(session.node);
    if (previous && previous.session !== session) {
      this.deps.log.info(
        { node: session.node, old_session: previous.session.id, old_remote: previous.session.address, new_session: session.id, remote: session.address },
        'agent session replaced by a newer one',
      );
      previous.session.close(CloseCodes.REPLACED, 'replaced by a newer session');
    }
    this.live.set(session.node, { session, info, lastBatchMs: null, lastSeenMs: now, spoolDroppedTotal: 0 });
    this.guard('agent connect', () =>
      this.deps.records.upsertConnected(
        {
          node: session.node,
          address: session.address,
          version: info.version,
          tokenId: session.tokenId,
          intervalMs: info.intervalMs,
          bootId: info.bootId,
          host: info.host,
        },
        now,
      ),
    );
  }

  /** Forgets a session that ended; a replaced session's end changes nothing. */
  detach(session: LiveSession): void {
    const current = this.live.get(session.node);
    if (!current || current.session !== session) return;
    this.live.delete(session.node);
    this.dirty.delete(session.node);
    const lastSeen = current.lastSeenMs;
    this.guard('agent disconnect', () => this.deps.records.markDisconnected(session.node, lastSeen));
  }

  batchReceived(session: LiveSession, now: number): void {
    const agent = this.live.get(session.node);
    if (!agent || agent.session !== session) return;
    agent.lastBatchMs = now;
    agent.lastSeenMs = now;
    this.dirty.add(session.node);
  }

  /** The agent answered a ping: it is alive, though not necessarily sending. */
  heardFrom(session: LiveSession, now: number): void {
    const agent = this.live.get(session.node);
    if (!agent || agent.session !== session) return;
    agent.lastSeenMs = now;
    this.dirty.add(session.node);
  }

  /** The agent's spool dropped this many batches since its stream began (it reports the total). */
  spoolDropsReported(session: LiveSession, total: number): void {
    const agent = this.live.get(session.node);
    if (agent && agent.session === session) agent.spoolDroppedTotal = total;
  }

  /** Connected agents whose spool has dropped batches, for /metrics. */
  spoolDrops(): { node: string; droppedTotal: number }[] {
    return [...this.live.values()].filter((a) => a.spoolDroppedTotal > 0).map((a) => ({ node: a.session.node, droppedTotal: a.spoolDroppedTotal }));
  }

  /** Every live session authenticated with `tokenId`. */
  sessionsOfToken(tokenId: string): LiveSession[] {
    return [...this.live.values()].filter((a) => a.session.tokenId === tokenId).map((a) => a.session);
  }

  liveSessions(): LiveSession[] {
    return [...this.live.values()].map((a) => a.session);
  }

  /** All agents: connected ones, ones seen before, and nodes holding a valid token that never connected. */
  list(): AgentView[] {
    const now = this.deps.now();
    const views = new Map<string, AgentView>();
    for (const rec of this.deps.records.list()) {
      views.set(rec.node, {
        node: rec.node,
        state: 'DISCONNECTED',
        lastSeenMs: rec.lastSeenMs,
        address: rec.address,
        version: rec.version,
        tokenId: rec.tokenId,
        runtime: storedRuntime(rec.host),
      });
    }
    for (const [node, agent] of this.live) {
      views.set(node, {
        node,
        state: connectedState(agent.lastBatchMs, agent.info.intervalMs, now),
        lastSeenMs: agent.lastSeenMs,
        address: agent.session.address,
        version: agent.info.version,
        tokenId: agent.session.tokenId,
        runtime: agent.info.host.runtime ?? '',
      });
    }
    for (const token of this.deps.tokens.list()) {
      if (views.has(token.node) || token.revokedMs !== null || token.expiresMs <= now) continue;
      views.set(token.node, { node: token.node, state: 'PENDING', lastSeenMs: null, address: null, version: null, tokenId: null, runtime: null });
    }
    return [...views.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  get(node: string): AgentView | undefined {
    return this.list().find((v) => v.node === node);
  }

  /** 1 for each ACTIVE agent, else 0: the `up` series of node_exporter-style alerts. */
  upValues(): { node: string; up: number }[] {
    return this.list().map((v) => ({ node: v.node, up: v.state === 'ACTIVE' ? 1 : 0 }));
  }

  /** Writes pending last-seen times in one transaction. */
  flush(): void {
    if (this.dirty.size === 0) return;
    const updates: [string, number][] = [];
    for (const node of this.dirty) {
      const agent = this.live.get(node);
      if (agent) updates.push([node, agent.lastSeenMs]);
    }
    this.dirty.clear();
    this.guard('last-seen flush', () =>
      this.deps.transaction(() => {
        for (const [node, ms] of updates) this.deps.records.touch(node, ms);
      }),
    );
  }

  private guard(context: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.deps.log.error({ err, context }, 'agent registry write failed');
    }
  }
}

/** The runtime in stored host facts; "" when they predate the field or are unreadable. */
function storedRuntime(host: unknown): string {
  const runtime = host !== null && typeof host === 'object' ? (host as { runtime?: unknown }).runtime : undefined;
  return typeof runtime === 'string' ? runtime : '';
}
