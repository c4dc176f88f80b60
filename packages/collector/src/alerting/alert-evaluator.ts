import type { Logger } from '@ximp/shared';
import type { AgentTokenRecord } from '../auth/agent-token-store';
import type { NodeState } from '../registry/agent-state';
import { XIMP_JOB } from '../store/node-labels';
import type { ScannedSeries } from '../store/series-query';
import type { AlertHistory, NewHistoryEntry } from './alert-history';
import type { AlertInstanceStore, StoredAlert } from './alert-instances';
import type { AlertRule } from './alert-rule';
import { INACTIVE, stepAlert, type AlertTransition } from './alert-state';
import { readWindowMs, thresholdReading } from './threshold-value';

const DAY_MS = 86_400_000;

/** What rules are evaluated on. */
export interface AlertSources {
  /** Every agent the registry shows, with its state alone (AgentRegistry.states). */
  agentStates(): NodeState[];
  /** Every node with a token not revoked. */
  unrevokedNodes(): string[];
  /** Every token (read only by token_expiry rules). */
  tokens(): AgentTokenRecord[];
  certificates(): { component: string; notAfter: Date }[];
  /** A node's series of `metric` in [fromMs, toMs]; null when the store cannot answer now (busy). */
  readSeries(node: string, metric: string, fromMs: number, toMs: number): Promise<ScannedSeries[] | null>;
}

/** A rule's reading on one instance: whether its condition holds, and with what. */
interface Reading {
  instance: string;
  node: string | null;
  holds: boolean;
  value: number | null;
  labels: Record<string, string>;
}

/** One rule after an evaluation: what is firing, and what changed. */
export interface RuleOutcome {
  rule: AlertRule;
  firing: StoredAlert[];
  /** Alerts that fired or resolved in this evaluation (resolved ones with their last state). */
  changed: { alert: StoredAlert; transition: 'firing' | 'resolved' }[];
}

export interface AlertEvaluatorDeps {
  rules(): AlertRule[];
  instances: AlertInstanceStore;
  history: AlertHistory;
  sources: AlertSources;
  /** Called after every evaluation with every rule's outcome (the notifier). */
  onEvaluated(outcomes: RuleOutcome[], now: number): void;
  now(): number;
  log: Logger;
}

/**
 * Evaluates every rule on what the collector holds (SPEC §14), one alert per node (or per
 * certificate), moves each alert through inactive → pending → firing → resolved, writes every
 * transition to the history, and keeps pending and firing alerts in the database.
 */
export class AlertEvaluator {
  constructor(private readonly deps: AlertEvaluatorDeps) {}

  async evaluate(): Promise<RuleOutcome[]> {
    const { deps } = this;
    const now = deps.now();
    const rules = deps.rules();
    const stored = new Map<string, StoredAlert>(deps.instances.list().map((a) => [key(a.rule, a.instance), a]));
    const changes: StoredAlert[] = [];
    const transitions: NewHistoryEntry[] = [];
    const outcomes: RuleOutcome[] = [];
    const ruleNames = new Set(rules.map((r) => r.name));
    const sources = readOnce(deps.sources);
    for (const rule of rules) {
      const readings = rule.enabled ? await this.readings(rule, now, sources) : new Map<string, Reading | 'unknown'>();
      const outcome: RuleOutcome = { rule, firing: [], changed: [] };
      const instances = new Set([...readings.keys(), ...[...stored.values()].filter((a) => a.rule === rule.name).map((a) => a.instance)]);
      for (const instance of instances) {
        const reading = readings.get(instance);
        const current = stored.get(key(rule.name, instance));
        // The store could not answer for this node: the alert stays as it was until it can.
        if (reading === 'unknown') {
          if (current?.status === 'firing') outcome.firing.push(current);
          continue;
        }
        const holds = reading?.holds ?? false;
        const step = stepAlert(current ?? INACTIVE, holds, reading?.value ?? null, rule.forMs, now);
        const alert: StoredAlert = {
          ...step.next,
          rule: rule.name,
          instance,
          node: reading?.node ?? current?.node ?? null,
          labels: reading?.labels ?? current?.labels ?? {},
        };
        if (step.transition !== null) {
          changes.push(alert);
          transitions.push(transition(now, rule.name, alert, step.transition, reading?.value ?? current?.value ?? null));
          if (step.transition === 'firing') outcome.changed.push({ alert, transition: 'firing' });
          if (step.transition === 'resolved') outcome.changed.push({ alert: { ...current! }, transition: 'resolved' });
        } else if (alert.status !== 'inactive' && alert.value !== current?.value) {
          changes.push(alert);
        }
        if (alert.status === 'firing') outcome.firing.push(alert);
      }
      outcomes.push(outcome);
    }
    // Alerts of rules deleted since: resolved without a notification (the rule and its channels are gone).
    for (const alert of stored.values()) {
      if (ruleNames.has(alert.rule)) continue;
      changes.push({ ...alert, ...INACTIVE });
      transitions.push(transition(now, alert.rule, alert, alert.status === 'firing' ? 'resolved' : 'cleared', alert.value));
    }
    // One commit for the round's transitions: a fleet going down at once is not one fsync per node.
    deps.history.recordAll(transitions);
    deps.instances.save(changes);
    deps.onEvaluated(outcomes, now);
    return outcomes;
  }

  /** The rule's reading on each instance it concerns; 'unknown' where the store could not answer. */
  private async readings(rule: AlertRule, now: number, sources: AlertSources): Promise<Map<string, Reading | 'unknown'>> {
    const out = new Map<string, Reading | 'unknown'>();
    const inScope = (node: string): boolean => rule.nodes === null || rule.nodes.matches(node);
    const nodeLabels = (node: string): Record<string, string> => ({ instance: node, job: XIMP_JOB });
    switch (rule.kind) {
      case 'agent_down': {
        // A node counts once it has connected, and stops counting when every token of it is revoked.
        const held = new Set(sources.unrevokedNodes());
        for (const agent of sources.agentStates()) {
          if (agent.state === 'PENDING' || !inScope(agent.node) || !held.has(agent.node)) continue;
          out.set(agent.node, { instance: agent.node, node: agent.node, holds: agent.state !== 'ACTIVE', value: null, labels: nodeLabels(agent.node) });
        }
        break;
      }
      case 'threshold': {
        const windowMs = readWindowMs(rule);
        for (const agent of sources.agentStates()) {
          if (agent.state === 'PENDING' || !inScope(agent.node)) continue;
          const series = await sources.readSeries(agent.node, rule.metric!, now - windowMs, now);
          if (series === null) {
            out.set(agent.node, 'unknown');
            continue;
          }
          const reading = thresholdReading(rule, series);
          if (reading !== null) out.set(agent.node, { instance: agent.node, node: agent.node, holds: reading.holds, value: reading.value, labels: reading.labels });
        }
        break;
      }
      case 'token_expiry': {
        // The node's longest-lived token decides: a rotated node with a fresh token is fine.
        const latest = new Map<string, number>();
        for (const t of sources.tokens()) {
          if (t.revokedMs !== null || !inScope(t.node)) continue;
          latest.set(t.node, Math.max(latest.get(t.node) ?? -Infinity, t.expiresMs));
        }
        for (const [node, expiresMs] of latest) {
          const daysLeft = round((expiresMs - now) / DAY_MS);
          out.set(node, { instance: node, node, holds: expiresMs - now <= rule.withinMs, value: daysLeft, labels: nodeLabels(node) });
        }
        break;
      }
      case 'certificate_expiry': {
        for (const c of sources.certificates()) {
          const left = c.notAfter.getTime() - now;
          out.set(c.component, {
            instance: c.component,
            node: null,
            holds: left <= rule.withinMs,
            value: round(left / DAY_MS),
            labels: { instance: c.component, job: XIMP_JOB, component: c.component },
          });
        }
        break;
      }
    }
    return out;
  }
}

function key(rule: string, instance: string): string {
  return `${rule}\u0000${instance}`;
}

function round(days: number): number {
  return Math.round(days * 10) / 10;
}

/** A history entry for an alert's transition. */
function transition(now: number, rule: string, alert: StoredAlert, event: AlertTransition, value: number | null): NewHistoryEntry {
  return { timeMs: now, rule, instance: alert.instance, node: alert.node, event, value, channel: null, outcome: null, detail: null };
}

/**
 * The sources with each fleet-wide listing read at most once per evaluation, however many rules
 * need it. Agents are read by state alone and held nodes by name: for 10,000 agents the full
 * listings (records with host facts, every token) held the event loop for about a tenth of a
 * second each evaluation.
 */
function readOnce(sources: AlertSources): AlertSources {
  let agentStates: NodeState[] | undefined;
  let unrevokedNodes: string[] | undefined;
  let tokens: AgentTokenRecord[] | undefined;
  return {
    agentStates: () => (agentStates ??= sources.agentStates()),
    unrevokedNodes: () => (unrevokedNodes ??= sources.unrevokedNodes()),
    tokens: () => (tokens ??= sources.tokens()),
    certificates: () => sources.certificates(),
    readSeries: (node, metric, fromMs, toMs) => sources.readSeries(node, metric, fromMs, toMs),
  };
}
