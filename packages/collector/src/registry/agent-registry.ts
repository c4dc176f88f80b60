import type { HostFacts, Logger } from '@ximp/shared';
import { CloseCodes, PeriodicTask } from '@ximp/shared';
import type { AgentConnectInfo } from './agent-record-store';
import { connectedState, type AgentState, type AgentView, type NodeState } from './agent-state';

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

/** What a batch tells of the agent beyond its data (AgentSession measures it). */
export interface BatchTiming {
  /** The agent's send time minus the receive time, ms; null when the agent tells no send time. */
  clockSkewMs: number | null;
  /** Batches the agent still holds behind this one (estimated); null when unknown. */
  spoolBacklog: number | null;
}

interface LiveAgent {
  session: LiveSession;
  info: SessionInfo;
  lastBatchMs: number | null;
  lastSeenMs: number;
  spoolDroppedTotal: number;
  timing: BatchTiming;
}

/** Told the node whose agent connected, disconnected or changed state; must not throw. */
export type AgentChangeListener = (node: string) => void;

/** The persisted side: agent records and the tokens that make a node PENDING. */
export interface AgentRegistryDeps {
  records: {
    upsertConnected(rec: AgentConnectInfo, now: number): void;
    touch(node: string, now: number): void;
    markDisconnected(node: string, now: number): void;
    list(): { node: string; lastSeenMs: number | null; address: string | null; version: string | null; tokenId: string | null; host: unknown }[];
    /** Every recorded node's name, without the rest of its record. */
    nodes(): string[];
  };
  tokens: {
    list(node?: string): { id?: string; node: string; expiresMs: number; revokedMs: number | null }[];
    /** Every node with a token neither revoked nor expired at `now`. */
    validNodes(now: number): string[];
  };
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
  /**
   * Nodes whose session started in this turn of the event loop -> their record, and nodes whose
   * session ended -> last seen: written together in the next turn, connects first, so a fleet
   * connecting or a thousand sessions closed at once (a bulk revocation) are one commit per turn,
   * not one fsync on the loop each. Anything that reads the records writes them first.
   */
  private readonly connects = new Map<string, { record: AgentConnectInfo; now: number }>();
  private readonly disconnects = new Map<string, number>();
  private recordWriteScheduled = false;
  private readonly listeners = new Set<AgentChangeListener>();
  private readonly flushing: PeriodicTask;

  constructor(private readonly deps: AgentRegistryDeps) {
    // flush() guards its own writes; onError only sees what escapes it.
    this.flushing = new PeriodicTask({
      run: () => this.flush(),
      everyMs: deps.flushIntervalMs ?? 1000,
      runAtStart: false,
      onError: (err) => deps.log.error({ err }, 'agent registry flush failed'),
    });
  }

  /**
   * Calls `listener` with the node on every connect, disconnect and change to ACTIVE (the live
   * fleet view); a change to STALE comes from time passing, which the listener's owner checks.
   * Returns the unsubscribe function.
   */
  onChange(listener: AgentChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(node: string): void {
    for (const listener of this.listeners) {
      try {
        listener(node);
      } catch (err) {
        this.deps.log.error({ err, node }, 'agent change listener failed');
      }
    }
  }

  start(): void {
    this.flushing.start();
  }

  stop(): void {
    this.flushing.stop();
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
    // The connect supersedes a disconnect of the node not yet written.
    this.disconnects.delete(session.node);
    this.live.set(session.node, { session, info, lastBatchMs: null, lastSeenMs: now, spoolDroppedTotal: 0, timing: { clockSkewMs: null, spoolBacklog: null } });
    this.connects.set(session.node, {
      record: {
        node: session.node,
        address: session.address,
        version: info.version,
        tokenId: session.tokenId,
        intervalMs: info.intervalMs,
        bootId: info.bootId,
        host: info.host,
      },
      now,
    });
    this.scheduleRecordWrite();
    this.changed(session.node);
  }

  /** Forgets a session that ended; a replaced session's end changes nothing. */
  detach(session: LiveSession): void {
    const current = this.live.get(session.node);
    if (!current || current.session !== session) return;
    this.live.delete(session.node);
    this.dirty.delete(session.node);
    this.disconnects.set(session.node, current.lastSeenMs);
    this.scheduleRecordWrite();
    this.changed(session.node);
  }

  batchReceived(session: LiveSession, now: number, timing?: BatchTiming): void {
    const agent = this.live.get(session.node);
    if (!agent || agent.session !== session) return;
    const wasActive = connectedState(agent.lastBatchMs, agent.info.intervalMs, now) === 'ACTIVE';
    agent.lastBatchMs = now;
    agent.lastSeenMs = now;
    // Copied field by field into the agent's own object: the caller reuses its object per batch.
    if (timing) {
      agent.timing.clockSkewMs = timing.clockSkewMs;
      agent.timing.spoolBacklog = timing.spoolBacklog;
    }
    this.dirty.add(session.node);
    if (!wasActive) this.changed(session.node);
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
    this.writeRecordChanges();
    const now = this.deps.now();
    const views = new Map<string, AgentView>();
    const tokens = this.deps.tokens.list();
    const expiry = new Map<string, number>();
    for (const token of tokens) if (token.id !== undefined) expiry.set(token.id, token.expiresMs);
    const expiresOf = (tokenId: string | null): number | null => (tokenId === null ? null : (expiry.get(tokenId) ?? null));
    for (const rec of this.deps.records.list()) {
      views.set(rec.node, {
        node: rec.node,
        state: 'DISCONNECTED',
        lastSeenMs: rec.lastSeenMs,
        address: rec.address,
        version: rec.version,
        tokenId: rec.tokenId,
        runtime: storedRuntime(rec.host),
        tokenExpiresMs: expiresOf(rec.tokenId),
        clockSkewMs: null,
        spoolBacklog: null,
        host: rec.host ?? null,
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
        tokenExpiresMs: expiresOf(agent.session.tokenId),
        clockSkewMs: agent.timing.clockSkewMs,
        spoolBacklog: agent.timing.spoolBacklog,
        host: agent.info.host,
      });
    }
    for (const token of tokens) {
      if (views.has(token.node) || token.revokedMs !== null || token.expiresMs <= now) continue;
      views.set(token.node, {
        node: token.node,
        state: 'PENDING',
        lastSeenMs: null,
        address: null,
        version: null,
        tokenId: null,
        runtime: null,
        tokenExpiresMs: token.expiresMs,
        clockSkewMs: null,
        spoolBacklog: null,
        host: null,
      });
    }
    return [...views.values()].sort((a, b) => byName(a.node, b.node));
  }

  get(node: string): AgentView | undefined {
    return this.list().find((v) => v.node === node);
  }

  /**
   * Every agent `list` shows, with its state alone. Read for the whole fleet every few seconds
   * (the `up` writer, alert rules), so it reads node names only, not whole records and tokens
   * (for 10,000 agents those held the event loop for 60-100 ms each time).
   */
  states(): NodeState[] {
    this.writeRecordChanges();
    const now = this.deps.now();
    const states = new Map<string, AgentState>();
    for (const node of this.deps.records.nodes()) states.set(node, 'DISCONNECTED');
    for (const [node, agent] of this.live) states.set(node, connectedState(agent.lastBatchMs, agent.info.intervalMs, now));
    for (const node of this.deps.tokens.validNodes(now)) if (!states.has(node)) states.set(node, 'PENDING');
    return [...states.keys()].sort(byName).map((node) => ({ node, state: states.get(node)! }));
  }

  /** 1 for each ACTIVE agent, else 0, for every agent `list` shows: the `up` series of node_exporter-style alerts. */
  upValues(): { node: string; up: number }[] {
    return this.states().map(({ node, state }) => ({ node, up: state === 'ACTIVE' ? 1 : 0 }));
  }

  private scheduleRecordWrite(): void {
    if (this.recordWriteScheduled) return;
    this.recordWriteScheduled = true;
    setImmediate(() => this.writeRecordChanges());
  }

  /** Writes the connects and disconnects not yet written in one transaction. */
  private writeRecordChanges(): void {
    this.recordWriteScheduled = false;
    if (this.connects.size === 0 && this.disconnects.size === 0) return;
    const connects = [...this.connects.values()];
    const disconnects = [...this.disconnects];
    this.connects.clear();
    this.disconnects.clear();
    this.guard('agent connect and disconnect', () =>
      this.deps.transaction(() => {
        for (const c of connects) this.deps.records.upsertConnected(c.record, c.now);
        for (const [node, ms] of disconnects) this.deps.records.markDisconnected(node, ms);
      }),
    );
  }

  /** Writes pending last-seen times in one transaction. */
  flush(): void {
    // A touch of a node whose first record is not written yet would change nothing.
    this.writeRecordChanges();
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

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
