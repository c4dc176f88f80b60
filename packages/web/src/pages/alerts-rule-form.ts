import type { AlertRuleJson, AlertRuleKind } from '@ximp/shared';
/**
 * The alert rule editor's values and the JSON body it sends (SPEC §14). The form holds text; the
 * body holds only the keys the rule's kind takes, so switching kinds never sends a stray setting
 * the collector would refuse. Everything else (names, durations, metric names) is checked by the
 * collector, whose message is shown next to the form.
 */

export type RuleKind = AlertRuleKind;
export const RULE_KINDS = ['agent_down', 'threshold', 'token_expiry', 'certificate_expiry'] as const satisfies readonly RuleKind[];

export const RULE_AGGREGATES = ['avg', 'min', 'max', 'sum'] as const;
export const RULE_COMPARISONS = ['>', '>=', '<', '<=', '==', '!='] as const;

/** The settings of each kind besides name, kind, for, channels and enabled (as the collector reads them). */
export const RULE_KIND_FIELDS: Readonly<Record<RuleKind, readonly RuleField[]>> = {
  agent_down: ['nodes'],
  threshold: ['metric', 'matchers', 'aggregate', 'rate', 'op', 'value', 'nodes'],
  token_expiry: ['within', 'nodes'],
  certificate_expiry: ['within'],
};

export type RuleField = 'metric' | 'matchers' | 'aggregate' | 'rate' | 'op' | 'value' | 'within' | 'nodes';

/** The editor's fields, all as typed. */
export interface RuleFormValues {
  name: string;
  kind: RuleKind;
  metric: string;
  /** `label=value` pairs separated by commas or new lines. */
  matchers: string;
  aggregate: string;
  /** Empty: the value itself; a duration: the per-second rate over that window. */
  rate: string;
  op: string;
  value: string;
  within: string;
  for: string;
  nodes: string;
  /** Channel names separated by commas. */
  channels: string;
  enabled: boolean;
}

export function isRuleKind(x: string): x is RuleKind {
  return (RULE_KINDS as readonly string[]).includes(x);
}

/** The form for a new rule (empty) or for an existing one. */
export function ruleFormValues(rule: AlertRuleJson | null): RuleFormValues {
  if (rule === null) {
    return { name: '', kind: 'threshold', metric: '', matchers: '', aggregate: 'avg', rate: '', op: '>', value: '', within: '', for: '', nodes: '', channels: '', enabled: true };
  }
  return {
    name: rule.name,
    kind: rule.kind,
    metric: rule.metric ?? '',
    matchers: formatMatchers(rule.matchers ?? {}),
    aggregate: rule.aggregate ?? 'avg',
    rate: rule.rate ?? '',
    op: rule.op ?? '>',
    value: rule.value === undefined ? '' : String(rule.value),
    within: rule.within ?? '',
    for: rule.for,
    nodes: rule.nodes ?? '',
    channels: rule.channels.join(', '),
    enabled: rule.enabled,
  };
}

export function formatMatchers(matchers: Readonly<Record<string, string>>): string {
  return Object.entries(matchers)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/** `a=b, c=d` (or one pair a line) as a map; the problem as text when a pair is not `label=value`. */
export function parseMatchers(text: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const part of text.split(/[,\n]/)) {
    const pair = part.trim();
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) return `"${pair}" is not label=value`;
    const key = pair.slice(0, eq).trim();
    if (key in out) return `label ${key} is given twice`;
    out[key] = pair.slice(eq + 1).trim();
  }
  return out;
}

/** A comma-separated list without empty items or repeats. */
export function splitList(text: string): string[] {
  return [...new Set(text.split(/[,\n]/).map((s) => s.trim()).filter((s) => s !== ''))];
}

export type BodyResult = { body: Record<string, unknown> } | { field: string; message: string };

/** The JSON body for POST or PUT; optional settings left empty are left out (the collector's defaults). */
export function ruleBody(v: RuleFormValues): BodyResult {
  const body: Record<string, unknown> = { name: v.name.trim(), kind: v.kind };
  for (const field of RULE_KIND_FIELDS[v.kind]) {
    const text = v[field].trim();
    if (field === 'matchers') {
      const matchers = parseMatchers(v.matchers);
      if (typeof matchers === 'string') return { field, message: matchers };
      if (Object.keys(matchers).length > 0) body.matchers = matchers;
    } else if (field === 'value') {
      const n = text === '' ? NaN : Number(text);
      if (!Number.isFinite(n)) return { field, message: 'expected a number' };
      body.value = n;
    } else if (text !== '') {
      body[field] = text;
    }
  }
  if (v.for.trim() !== '') body.for = v.for.trim();
  body.channels = splitList(v.channels);
  body.enabled = v.enabled;
  return { body };
}

/** The rule's condition in one line, as the rules table shows it. */
export function ruleCondition(rule: AlertRuleJson): string {
  switch (rule.kind) {
    case 'agent_down':
      return 'agent disconnected';
    case 'token_expiry':
      return `agent token expires within ${rule.within ?? '14d'}`;
    case 'certificate_expiry':
      return `certificate expires within ${rule.within ?? '14d'}`;
    case 'threshold': {
      const matchers = Object.entries(rule.matchers ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
      const selector = `${rule.metric ?? '?'}${matchers.length > 0 ? `{${matchers.join(', ')}}` : ''}`;
      const series = rule.rate === undefined ? selector : `rate(${selector}[${rule.rate}])`;
      return `${rule.aggregate ?? 'avg'}(${series}) ${rule.op ?? '>'} ${rule.value ?? '?'}`;
    }
  }
}
