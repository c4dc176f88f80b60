import { CloseCodes, PeriodicTask, type ThrottledLog } from '@ximp/shared';

/** A session that stopped acknowledging because a remote store's queue was full. */
export interface HeldSession {
  readonly node: string;
  close(code: number, reason: string): void;
}

export interface BackPressureDeps {
  /** The remote stores' queues; held sessions are let go once every one has room again. */
  targets: readonly { name: string; hasRoom(): boolean }[];
  /** Where "queue full" goes: one line a minute, counted as `queue_full`. */
  log: ThrottledLog;
  /** How often a full queue is checked for room while sessions are held (default 1 s). */
  pollMs?: number;
}

/**
 * Back-pressure from the remote stores to the agents. While a store's queue is at its max_bytes,
 * the metric store refuses new batches; the session that got the refusal stops acknowledging
 * (it stores nothing more, so no later batch of its stream can overtake the refused one) and is
 * held here. The agent keeps every unacknowledged batch in its spool. Once every queue has room,
 * the held sessions are closed with 1013 (try again later): the agent reconnects at once and
 * replays from the last acknowledged batch, in order.
 */
export class BackPressure {
  private readonly held = new Set<HeldSession>();
  private readonly polling: PeriodicTask;

  constructor(private readonly deps: BackPressureDeps) {
    this.polling = new PeriodicTask({
      run: () => this.poll(),
      everyMs: deps.pollMs ?? 1000,
      runAtStart: false,
      onError: (err) => deps.log.report('error', 'back_pressure_poll', { err: (err as Error).message }, 'checking remote store queues failed'),
    });
  }

  hold(session: HeldSession, reason: string): void {
    this.held.add(session);
    this.deps.log.report(
      'warn',
      'queue_full',
      { node: session.node, reason, held_sessions: this.held.size },
      'remote store queue full: not acknowledging agents (their spools keep the data)',
    );
    this.polling.start();
  }

  /** A held session ended on its own. */
  release(session: HeldSession): void {
    this.held.delete(session);
    if (this.held.size === 0) this.polling.stop();
  }

  /** Nodes whose session is held now, for `ximp agent list`. */
  heldNodes(): ReadonlySet<string> {
    return new Set([...this.held].map((s) => s.node));
  }

  /** 1 while any queue is full, for /metrics. */
  full(): boolean {
    return this.deps.targets.some((t) => !t.hasRoom());
  }

  stop(): void {
    this.polling.stop();
    this.held.clear();
  }

  private poll(): void {
    if (this.full()) return;
    const sessions = [...this.held];
    this.held.clear();
    this.polling.stop();
    for (const s of sessions) s.close(CloseCodes.TRY_AGAIN_LATER, 'remote store queue has room again: replay');
  }
}
