import {
  ConfigError,
  ConfigReader,
  LABEL_NAME,
  MAX_LABEL_VALUE_LENGTH,
  MAX_NAME_LENGTH,
  METRIC_NAME,
  NODE_GLOB_FORM,
  formatDuration,
  parseConfigYaml,
  parseNodeGlob,
  type AlertRuleJson,
  type AlertRuleKind,
  type NodeGlob,
} from '@ximp/shared';

export type RuleKind = AlertRuleKind;
export const RULE_KINDS = ['agent_down', 'threshold', 'token_expiry', 'certificate_expiry'] as const satisfies readonly RuleKind[];

export const AGGREGATES = ['avg', 'min', 'max', 'sum'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

export const COMPARISONS = ['<', '<=', '>', '>=', '==', '!='] as const;
export type Comparison = (typeof COMPARISONS)[number];

/** Rule and channel names: short, lowercase, safe in a URL path and an alert label. */
export const OBJECT_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const OBJECT_NAME_FORM = '[a-z0-9] then [a-z0-9-], at most 63 characters';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** The built-in rule every collector has from its first start (editable, never deleted). */
export const BUILT_IN_AGENT_DOWN = 'agent-down';

/** An alert rule (SPEC §14), validated; durations in milliseconds. */
export interface AlertRule {
  name: string;
  kind: RuleKind;
  /** threshold only: the metric and the labels its series must carry. */
  metric: string | null;
  matchers: Readonly<Record<string, string>>;
  aggregate: Aggregate;
  /** threshold only: per-second rate over this window (counters); null = the value itself. */
  rateMs: number | null;
  op: Comparison;
  value: number;
  /** How long the condition must hold before the alert fires. */
  forMs: number;
  /** token_expiry and certificate_expiry: fires when expiry is this close. */
  withinMs: number;
  /** Only nodes matching this glob; null = every node. */
  nodes: NodeGlob | null;
  channels: readonly string[];
  enabled: boolean;
}

const COMMON_KEYS = ['name', 'kind', 'for', 'channels', 'enabled'] as const;
// `nodes` limits rules about nodes; the collector's own certificates belong to no node.
const KIND_KEYS: Readonly<Record<RuleKind, readonly string[]>> = {
  agent_down: ['nodes'],
  threshold: ['metric', 'matchers', 'aggregate', 'rate', 'op', 'value', 'nodes'],
  token_expiry: ['within', 'nodes'],
  certificate_expiry: ['within'],
};
const ALL_KEYS = [...new Set([...COMMON_KEYS, ...Object.values(KIND_KEYS).flat()])];

const DEFAULT_FOR: Readonly<Record<RuleKind, number>> = { agent_down: 5 * MINUTE, threshold: 0, token_expiry: 0, certificate_expiry: 0 };
const DEFAULT_WITHIN = 14 * DAY;
export const MAX_MATCHERS = 16;
const MAX_CHANNELS = 16;

/** A metric name at `key` (rules, dashboard panels). */
export function readMetricName(r: ConfigReader, key: string, required: boolean): string | undefined {
  return r.string(key, {
    required,
    check: (v) => (v.length <= MAX_NAME_LENGTH && METRIC_NAME.test(v) ? null : 'a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)'),
  });
}

/** A label name is what `check` of a label list or map accepts; null when fine. */
export function labelNameProblem(k: string): string | null {
  return LABEL_NAME.test(k) && k.length <= MAX_NAME_LENGTH ? null : 'not a label name ([a-zA-Z_][a-zA-Z0-9_]*)';
}

/** Label matchers `{label: value}` at `key`: equality on the series' labels (rules, dashboard panels). */
export function readMatchers(r: ConfigReader, key: string): Record<string, string> | undefined {
  return r.stringMap(key, {
    what: 'label',
    maxEntries: MAX_MATCHERS,
    checkKey: labelNameProblem,
    checkValue: (v) => (v.length <= MAX_LABEL_VALUE_LENGTH ? null : `a label value of at most ${MAX_LABEL_VALUE_LENGTH} characters`),
  });
}

/**
 * Reads one rule from a mapping (a YAML file or an API body parsed as YAML, which JSON is), every
 * problem reported with its key path; undefined when any was found.
 */
export function readAlertRule(r: ConfigReader): AlertRule | undefined {
  const before = r.issues.length;
  const name = r.string('name', { required: true, check: (v) => (OBJECT_NAME.test(v) ? null : `a rule name (${OBJECT_NAME_FORM})`) });
  const kind = r.oneOf('kind', RULE_KINDS, { required: true });
  if (kind !== undefined) {
    const allowed = new Set<string>([...COMMON_KEYS, ...KIND_KEYS[kind]]);
    for (const key of ALL_KEYS) {
      if (r.has(key) && !allowed.has(key)) r.report(key, `not a setting of ${kind} rules (its settings: ${[...allowed].join(', ')})`);
    }
  }
  const threshold = kind === 'threshold';
  const metric = readMetricName(r, 'metric', threshold);
  const matchers = readMatchers(r, 'matchers');
  const aggregate = r.oneOf('aggregate', AGGREGATES);
  const rateMs = r.duration('rate', { min: 1000, max: DAY });
  const op = r.oneOf('op', COMPARISONS, { required: threshold });
  const value = r.number('value', { required: threshold });
  const forMs = r.duration('for', { min: 0, max: 7 * DAY });
  const withinMs = r.duration('within', { min: MINUTE, max: 3650 * DAY });
  const nodesText = r.string('nodes', { check: (v) => (parseNodeGlob(v) === null ? NODE_GLOB_FORM : null) });
  const channels = r.stringList('channels', {
    expected: `a channel name (${OBJECT_NAME_FORM})`,
    parse: (v) => (OBJECT_NAME.test(v) ? v : null),
    unique: true,
  });
  if (channels !== undefined && channels.length > MAX_CHANNELS) r.report('channels', `expected at most ${MAX_CHANNELS} channels (actual: ${channels.length})`);
  const enabled = r.boolean('enabled');
  if (r.issues.length > before || name === undefined || kind === undefined) return undefined;
  return {
    name,
    kind,
    metric: metric ?? null,
    matchers: { ...(matchers ?? {}) },
    aggregate: aggregate ?? 'avg',
    rateMs: rateMs ?? null,
    op: op ?? '>',
    value: value ?? 0,
    forMs: forMs ?? DEFAULT_FOR[kind],
    withinMs: withinMs ?? DEFAULT_WITHIN,
    nodes: nodesText === undefined ? null : parseNodeGlob(nodesText),
    channels: channels ?? [],
    enabled: enabled ?? true,
  };
}

/**
 * A rule from YAML or JSON text (a `--file`, or an API body). Throws ConfigError listing every
 * problem as `FILE:LINE:COL: PATH: message`.
 */
export function parseAlertRule(text: string, fileName: string): AlertRule {
  const reader = ConfigReader.root(parseConfigYaml(text, fileName), ALL_KEYS);
  const rule = readAlertRule(reader);
  reader.throwIfIssues();
  if (rule === undefined) throw new ConfigError(reader.issues);
  return rule;
}

/** The rule as the API answers it and as a file would hold it (the same keys, durations as text). */
export function alertRuleJson(rule: AlertRule): AlertRuleJson {
  // Keys in this order: the CLI prints them so.
  return {
    name: rule.name,
    kind: rule.kind,
    ...(rule.kind === 'threshold'
      ? {
          metric: rule.metric ?? undefined,
          matchers: { ...rule.matchers },
          aggregate: rule.aggregate,
          ...(rule.rateMs !== null ? { rate: formatDuration(rule.rateMs) } : {}),
          op: rule.op,
          value: rule.value,
        }
      : {}),
    ...(rule.kind === 'token_expiry' || rule.kind === 'certificate_expiry' ? { within: formatDuration(rule.withinMs) } : {}),
    for: formatDuration(rule.forMs),
    nodes: rule.nodes?.text ?? null,
    channels: [...rule.channels],
    enabled: rule.enabled,
  };
}

/** `value op threshold`. */
export function compare(value: number, op: Comparison, threshold: number): boolean {
  switch (op) {
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}
