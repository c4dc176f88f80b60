import { Backoff, type Logger } from '@ximp/shared';
import type { RuleOutcome } from './alert-evaluator';
import type { AlertHistory } from './alert-history';
import { notifiedAlert, type Notification } from './notification';

/** What a channel answered: delivered, or failed (and whether trying again may help). */
export type DeliveryResult = { ok: true; detail: string } | { ok: false; retry: boolean; detail: string };

/** Sends notifications through one channel (webhook, email, alertmanager). */
export interface Deliverer {
  deliver(n: Notification): Promise<DeliveryResult>;
}

export interface NotifierDeps {
  /** The channel's repeat interval (null = the default), or undefined when no such channel exists. */
  repeatIntervalOf(channel: string): number | null | undefined;
  /** A deliverer for the channel as stored now; throws when it cannot be built (e.g. its secrets do not open). */
  delivererFor(channel: string): Deliverer;
  history: AlertHistory;
  /** `alerting.repeat_interval`. */
  repeatIntervalMs: number;
  now(): number;
  log: Logger;
  /** Retry delays and how many attempts a notification gets (default 1 s doubling to 5 min, 10 attempts). */
  retry?: { initialMs?: number; maxMs?: number; attempts?: number };
  random?: () => number;
  /** Notifications waiting per channel; the oldest is dropped beyond it (default 100). */
  queueLimit?: number;
}

interface GroupState {
  lastSentMs: number;
  /** Instances the channel was last told are firing. */
  firing: Set<string>;
}

/**
 * Turns each evaluation into notifications (SPEC §14): per rule and channel, on a new firing
 * alert, on a resolved one the channel was told about, and again every repeat interval while any
 * fires. Each channel has its own queue and retry loop, so a failing channel never delays
 * another. Every attempt and its outcome goes to the alert history.
 */
export class Notifier {
  private readonly groups = new Map<string, GroupState>();
  private readonly queues = new Map<string, ChannelQueue>();
  private stopped = false;

  constructor(private readonly deps: NotifierDeps) {}

  onEvaluated(outcomes: readonly RuleOutcome[], now: number): void {
    if (this.stopped) return;
    for (const { rule, firing, changed } of outcomes) {
      for (const channel of rule.channels) {
        const repeat = this.deps.repeatIntervalOf(channel);
        if (repeat === undefined) continue; // a channel deleted since the rule named it
        const key = `${rule.name}\u0000${channel}`;
        const group = this.groups.get(key) ?? { lastSentMs: -Infinity, firing: new Set<string>() };
        const resolved = changed.filter((c) => c.transition === 'resolved' && group.firing.has(c.alert.instance));
        const fresh = firing.some((a) => !group.firing.has(a.instance));
        const repeatDue = firing.length > 0 && now - group.lastSentMs >= (repeat ?? this.deps.repeatIntervalMs);
        if (!fresh && resolved.length === 0 && !repeatDue) continue;
        this.enqueue({
          rule: rule.name,
          channel,
          status: firing.length > 0 ? 'firing' : 'resolved',
          test: false,
          alerts: [...firing.map((a) => notifiedAlert(rule, a, 'firing', now)), ...resolved.map((c) => notifiedAlert(rule, c.alert, 'resolved', now))],
        });
        this.groups.set(key, { lastSentMs: now, firing: new Set(firing.map((a) => a.instance)) });
      }
    }
  }

  /** Sends `n` once, now, outside the queues (a channel test); the attempt is in the history. */
  async sendNow(n: Notification): Promise<DeliveryResult> {
    const result = await attempt(this.deps, n);
    record(this.deps, n, result);
    return result;
  }

  /** Stops retrying; queued notifications are abandoned (the next evaluation after a start re-sends what fires). */
  stop(): void {
    this.stopped = true;
    for (const q of this.queues.values()) q.stop();
  }

  /** Notifications waiting per channel (for /metrics and tests). */
  backlog(): Map<string, number> {
    return new Map([...this.queues].map(([name, q]) => [name, q.size]));
  }

  private enqueue(n: Notification): void {
    let q = this.queues.get(n.channel);
    if (!q) {
      q = new ChannelQueue(n.channel, this.deps);
      this.queues.set(n.channel, q);
    }
    q.push(n);
  }
}

/** One channel's notifications, sent one at a time, retried with backoff. */
class ChannelQueue {
  private readonly pending: Notification[] = [];
  private readonly backoff: Backoff;
  private readonly attempts: number;
  private readonly limit: number;
  private sending = false;
  private timer: NodeJS.Timeout | undefined;
  private tries = 0;
  private stopped = false;

  constructor(
    private readonly channel: string,
    private readonly deps: NotifierDeps,
  ) {
    this.backoff = new Backoff({ initialMs: deps.retry?.initialMs ?? 1000, maxMs: deps.retry?.maxMs ?? 300_000, random: deps.random });
    this.attempts = deps.retry?.attempts ?? 10;
    this.limit = deps.queueLimit ?? 100;
  }

  get size(): number {
    return this.pending.length;
  }

  push(n: Notification): void {
    // A newer notification of the same rule replaces a waiting one (it holds the current firing
    // set), keeping the older one's resolved alerts that it does not list.
    const waiting = this.pending.findIndex((p, i) => p.rule === n.rule && !(i === 0 && this.sending));
    if (waiting >= 0) {
      const listed = new Set(n.alerts.map((a) => a.instance));
      const kept = this.pending[waiting].alerts.filter((a) => a.status === 'resolved' && !listed.has(a.instance));
      this.pending[waiting] = { ...n, alerts: [...n.alerts, ...kept] };
    } else {
      this.pending.push(n);
      if (this.pending.length > this.limit) {
        const dropped = this.pending.splice(this.sending ? 1 : 0, 1)[0];
        record(this.deps, dropped, { ok: false, retry: false, detail: `dropped: more than ${this.limit} notifications waiting for this channel` });
      }
    }
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private kick(): void {
    if (this.sending || this.timer || this.stopped || this.pending.length === 0) return;
    this.sending = true;
    const n = this.pending[0];
    void attempt(this.deps, n).then((result) => {
      this.sending = false;
      if (this.stopped) return;
      this.tries++;
      const giveUp = !result.ok && (!result.retry || this.tries >= this.attempts);
      record(this.deps, n, result.ok || giveUp ? result : { ...result, detail: `${result.detail}; retrying` });
      if (result.ok || giveUp) {
        if (giveUp) this.deps.log.warn({ channel: this.channel, rule: n.rule, attempts: this.tries, err: result.ok ? undefined : result.detail }, 'notification not delivered, giving up');
        if (this.pending[0] === n) this.pending.shift();
        else this.pending.splice(this.pending.indexOf(n), 1);
        this.tries = 0;
        this.backoff.reset();
        this.kick();
        return;
      }
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.kick();
      }, this.backoff.next());
      this.timer.unref();
    });
  }
}

async function attempt(deps: NotifierDeps, n: Notification): Promise<DeliveryResult> {
  try {
    return await deps.delivererFor(n.channel).deliver(n);
  } catch (err) {
    return { ok: false, retry: false, detail: (err as Error).message };
  }
}

/** One history entry per alert of the notification, so node-scoped readers see theirs. */
function record(deps: NotifierDeps, n: Notification, result: DeliveryResult): void {
  const now = deps.now();
  for (const a of n.alerts) {
    deps.history.record({
      timeMs: now,
      rule: n.rule,
      instance: a.instance,
      node: a.node,
      event: 'delivery',
      value: null,
      channel: n.channel,
      outcome: result.ok ? 'ok' : 'failed',
      detail: `${a.status}: ${result.detail}`,
    });
  }
}
