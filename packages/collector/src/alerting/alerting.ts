import * as fs from 'node:fs';
import * as path from 'node:path';
import { PeriodicTask, type Logger } from '@ximp/shared';
import type { AgentTokenRecord } from '../auth/agent-token-store';
import type { NodeState } from '../registry/agent-state';
import type { Database } from '../store/database';
import type { SeriesQuery } from '../store/series-query';
import { AlertEvaluator } from './alert-evaluator';
import { AlertHistory } from './alert-history';
import { AlertInstanceStore } from './alert-instances';
import { AlertRuleStore } from './alert-rule-store';
import { ALERTMANAGER_RESEND_MS, alertmanagerDeliverer } from './alertmanager-deliverer';
import type { StoredChannel } from './channel-store';
import { ChannelStore } from './channel-store';
import { emailDeliverer } from './email-deliverer';
import { testNotification } from './notification';
import { Notifier, type Deliverer, type DeliveryResult } from './notifier';
import { SecretBox } from './secret-box';
import { webhookDeliverer } from './webhook-deliverer';

/** The key that seals channel secrets (SPEC §14). */
export const SECRETS_KEY_FILE = 'secrets.key';

const DELIVERY_TIMEOUT_MS = 10_000;
const HISTORY_PRUNE_MS = 3_600_000;

export interface AlertingOptions {
  db: Database;
  dataDir: string;
  evaluationIntervalMs: number;
  repeatIntervalMs: number;
  historyRetentionMs: number;
  agents: { states(): NodeState[] };
  tokens: { list(): AgentTokenRecord[]; unrevokedNodes(): string[] };
  certificates: { status(): { component: string; notAfter: Date }[] };
  series: Pick<SeriesQuery, 'read'>;
  /** Where notifications link to (the API listener). */
  externalUrl: () => string;
  log: Logger;
  now: () => number;
  /** Errors of the evaluation loop. */
  onError: (err: unknown, context: string) => void;
  /** Retry delays of deliveries (tests shorten them). */
  retry?: { initialMs?: number; maxMs?: number; attempts?: number };
}

/**
 * How often a channel is sent a firing group again: its `repeat_interval`, else the default; an
 * Alertmanager at least every minute, since it forgets an alert not posted within its
 * resolve_timeout (and deduplicates the repeats itself).
 */
export function repeatIntervalOf(channel: Pick<StoredChannel, 'type' | 'repeatIntervalMs'>, defaultMs: number): number {
  const configured = channel.repeatIntervalMs ?? defaultMs;
  return channel.type === 'alertmanager' ? Math.min(configured, ALERTMANAGER_RESEND_MS) : configured;
}

/**
 * Alert rules, channels and history (SPEC §14) put together: the stores, the evaluator run every
 * `alerting.evaluation_interval`, the notifier and its deliverers, and the history's pruning.
 */
export class Alerting {
  readonly rules: AlertRuleStore;
  readonly channels: ChannelStore;
  readonly instances: AlertInstanceStore;
  readonly history: AlertHistory;
  readonly notifier: Notifier;
  private readonly evaluator: AlertEvaluator;
  private readonly evaluation: PeriodicTask;
  private readonly pruning: PeriodicTask;

  constructor(private readonly o: AlertingOptions) {
    const box = SecretBox.openOrCreate(path.join(o.dataDir, SECRETS_KEY_FILE));
    this.rules = new AlertRuleStore(o.db);
    this.channels = new ChannelStore(o.db, box);
    this.instances = new AlertInstanceStore(o.db);
    this.history = new AlertHistory(o.db);
    this.notifier = new Notifier({
      repeatIntervalOf: (name) => {
        const c = this.channels.get(name);
        return c === null ? undefined : repeatIntervalOf(c, o.repeatIntervalMs);
      },
      delivererFor: (name) => this.delivererFor(name),
      history: this.history,
      repeatIntervalMs: o.repeatIntervalMs,
      now: o.now,
      log: o.log,
      retry: o.retry,
    });
    this.evaluator = new AlertEvaluator({
      rules: () => this.rules.list().map((r) => r.rule),
      instances: this.instances,
      history: this.history,
      sources: {
        agentStates: () => o.agents.states(),
        unrevokedNodes: () => o.tokens.unrevokedNodes(),
        tokens: () => o.tokens.list(),
        certificates: () => o.certificates.status(),
        readSeries: async (node, metric, from, to) => {
          const result = await o.series.read(node, metric, from, to);
          if (result.kind !== 'ok') return null;
          result.release();
          return result.series;
        },
      },
      onEvaluated: (outcomes, now) => this.notifier.onEvaluated(outcomes, now),
      now: o.now,
      log: o.log,
    });
    this.evaluation = new PeriodicTask({
      run: async () => {
        await this.evaluator.evaluate();
      },
      everyMs: o.evaluationIntervalMs,
      runAtStart: false,
      onError: (err) => o.onError(err, 'alert_evaluation'),
    });
    this.pruning = new PeriodicTask({
      run: () => void this.history.prune(o.now() - o.historyRetentionMs),
      everyMs: HISTORY_PRUNE_MS,
      onError: (err) => o.onError(err, 'alert_history_prune'),
    });
  }

  start(): void {
    this.rules.ensureBuiltIns(this.o.now());
    this.evaluation.start();
    this.pruning.start();
  }

  async stop(): Promise<void> {
    this.evaluation.stop();
    this.pruning.stop();
    this.notifier.stop();
    await this.evaluation.idle();
  }

  /** One evaluation now (tests, and the first one after start). */
  evaluateNow(): Promise<void> {
    return this.evaluation.runNow();
  }

  /** Sends a test notification through `name` now. */
  testChannel(name: string): Promise<DeliveryResult> {
    return this.notifier.sendNow(testNotification(name, this.o.now()));
  }

  /** What the API serves. */
  api(): { rules: AlertRuleStore; channels: ChannelStore; active(): ReturnType<AlertInstanceStore['list']>; history: AlertHistory; testChannel(name: string): Promise<DeliveryResult> } {
    return {
      rules: this.rules,
      channels: this.channels,
      active: () => this.instances.list(),
      history: this.history,
      testChannel: (name) => this.testChannel(name),
    };
  }

  /** A deliverer for the channel as stored now, with its secrets opened and its CA file read. */
  private delivererFor(name: string): Deliverer {
    const channel: StoredChannel | null = this.channels.get(name);
    if (channel === null) throw new Error(`channel ${name} no longer exists`);
    const secrets = this.channels.secrets(name);
    const caFile = (channel.settings as { ca_file: string | null }).ca_file;
    let ca: Buffer | null = null;
    if (caFile !== null) {
      try {
        ca = fs.readFileSync(caFile);
      } catch (err) {
        throw new Error(`cannot read ca_file ${caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
      }
    }
    const o = { ca, timeoutMs: DELIVERY_TIMEOUT_MS, externalUrl: this.o.externalUrl(), now: this.o.now };
    switch (channel.type) {
      case 'webhook':
        return webhookDeliverer(channel.settings as Parameters<typeof webhookDeliverer>[0], secrets, o);
      case 'alertmanager':
        return alertmanagerDeliverer(channel.settings as Parameters<typeof alertmanagerDeliverer>[0], secrets, o);
      case 'email':
        return emailDeliverer(channel.settings as Parameters<typeof emailDeliverer>[0], secrets, o);
    }
  }
}
