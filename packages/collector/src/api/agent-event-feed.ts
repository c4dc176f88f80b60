import type * as http from 'node:http';
import { PeriodicTask, type AgentJson, type ThrottledLog } from '@ximp/shared';
import { agentJson } from './agent-routes';
import type { ApiDeps } from './api-deps';
import { seesNode, type Principal } from './bearer-auth';
import { DEFAULT_MAX_BUFFERED_BYTES, EventStream } from './event-stream';

export interface AgentEventFeedOptions {
  /** Streams open at once (dashboard contract: 100); more are refused with 503. */
  maxStreams?: number;
  /** How often each stream gets a comment line and its caller's credential is checked again (15 s). */
  heartbeatMs?: number;
  /** How often the fleet is compared with what was sent, for changes that come from time passing (1 s). */
  pollMs?: number;
  /** Bytes waiting in one stream's socket before it is dropped as too slow. */
  maxBufferedBytes?: number;
}

export interface AgentEventFeedDeps {
  agents: ApiDeps['agents'];
  heldBackNodes?: ApiDeps['heldBackNodes'];
  /** Faults and dropped streams, one line per kind per minute, counted for /metrics. */
  refusals: ThrottledLog;
}

interface Subscriber {
  stream: EventStream;
  principal: Principal | null;
  stillValid: () => boolean;
}

/** What a change is: the row without the fields that move with every batch. */
function changeKey(row: AgentJson): string {
  return JSON.stringify({ ...row, last_seen: null, clock_skew_ms: null, spool_backlog: null });
}

/**
 * GET /api/v1/agents/events (dashboard contract, "Live fleet updates"): each stream gets a
 * snapshot of the fleet it may see, then `event: agent` with the row of every agent whose state
 * (or address, version, token, store) changed: at once on a connect or disconnect (the registry
 * tells), within `pollMs` for changes that come from time passing (ACTIVE to STALE, a token
 * expiring). `event: removed` `{node}` when an agent leaves the list (a PENDING node's token
 * revoked). A comment every `heartbeatMs`, when the caller's credential is checked again; a
 * stream whose credential no longer holds is ended. Streams are capped, and all end at stop().
 */
export class AgentEventFeed {
  private readonly subscribers = new Set<Subscriber>();
  private readonly maxStreams: number;
  private readonly maxBufferedBytes: number;
  private readonly poll: PeriodicTask;
  private readonly heartbeat: PeriodicTask;
  private last = new Map<string, string>();
  private unsubscribe: (() => void) | undefined;
  private pending: NodeJS.Immediate | undefined;

  constructor(
    private readonly deps: AgentEventFeedDeps,
    options: AgentEventFeedOptions = {},
  ) {
    this.maxStreams = options.maxStreams ?? 100;
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    const onError = (err: unknown): void => this.deps.refusals.report('error', 'agent_events_failed', { err }, 'agent event feed failed');
    this.poll = new PeriodicTask({ run: () => void this.publish(), everyMs: options.pollMs ?? 1000, onError, runAtStart: false });
    this.heartbeat = new PeriodicTask({ run: () => this.beat(), everyMs: options.heartbeatMs ?? 15_000, onError, runAtStart: false });
  }

  /** Streams open now. */
  get size(): number {
    return this.subscribers.size;
  }

  /** True when another stream would pass the cap. */
  get full(): boolean {
    return this.subscribers.size >= this.maxStreams;
  }

  /** Starts a stream on `res`: the snapshot now, changes after. The caller checked `full`. */
  open(res: http.ServerResponse, principal: Principal | null, stillValid: () => boolean): void {
    if (this.subscribers.size === 0) this.begin();
    // Changes up to now go to the streams already open; the new one starts from the same rows.
    let rows: AgentJson[];
    try {
      rows = this.publish();
    } catch (err) {
      // Nothing was sent yet: the caller answers the error; no timers stay behind for no stream.
      if (this.subscribers.size === 0) this.end();
      throw err;
    }
    const subscriber: Subscriber = {
      principal,
      stillValid,
      stream: new EventStream(res, this.maxBufferedBytes, (slow) => this.ended(subscriber, slow)),
    };
    this.subscribers.add(subscriber);
    subscriber.stream.send('snapshot', rows.filter((row) => seesNode(principal, row.node)));
  }

  /** Ends every stream and stops the timers; idempotent. */
  stop(): void {
    for (const s of [...this.subscribers]) s.stream.close();
    this.end();
  }

  private begin(): void {
    this.last = new Map();
    this.unsubscribe = this.deps.agents.onChange?.(() => this.soon());
    this.poll.start();
    this.heartbeat.start();
  }

  private end(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.poll.stop();
    this.heartbeat.stop();
    if (this.pending) clearImmediate(this.pending);
    this.pending = undefined;
  }

  private ended(subscriber: Subscriber, slow: boolean): void {
    this.subscribers.delete(subscriber);
    if (slow) {
      this.deps.refusals.report('warn', 'agent_events_slow_reader', { client: subscriber.principal?.clientId ?? null }, 'agent event stream dropped: reader too slow');
    }
    if (this.subscribers.size === 0) this.end();
  }

  /** Coalesces a burst of registry changes (a revocation closing many sessions) into one pass. */
  private soon(): void {
    if (this.pending || this.subscribers.size === 0) return;
    this.pending = setImmediate(() => {
      this.pending = undefined;
      try {
        this.publish();
      } catch (err) {
        this.deps.refusals.report('error', 'agent_events_failed', { err }, 'agent event feed failed');
      }
    });
  }

  /** Sends what changed since the last pass to every stream that may see it; returns the rows. */
  private publish(): AgentJson[] {
    const held = this.deps.heldBackNodes?.() ?? new Set<string>();
    const rows = this.deps.agents.list().map((view) => agentJson(view, held));
    for (const s of [...this.subscribers]) s.stream.dropIfBehind();
    const next = new Map<string, string>();
    for (const row of rows) {
      const key = changeKey(row);
      next.set(row.node, key);
      if (this.last.get(row.node) !== key) this.broadcast(row.node, 'agent', row);
    }
    for (const node of this.last.keys()) if (!next.has(node)) this.broadcast(node, 'removed', { node });
    this.last = next;
    return rows;
  }

  private broadcast(node: string, event: string, data: unknown): void {
    for (const s of [...this.subscribers]) if (seesNode(s.principal, node)) s.stream.send(event, data);
  }

  /** A comment to every stream, after checking its caller's credential still holds. */
  private beat(): void {
    for (const s of [...this.subscribers]) {
      if (s.stream.dropIfBehind()) continue;
      let valid = false;
      try {
        valid = s.stillValid();
      } catch (err) {
        this.deps.refusals.report('error', 'agent_events_failed', { err }, 'agent event feed failed');
      }
      if (valid) s.stream.comment('keep-alive');
      else s.stream.close();
    }
  }
}
