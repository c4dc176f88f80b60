import t from 'tap';
import { ConfigError, ErrorCodes, formatConfigIssue } from '@ximp/shared';
import { alertRuleJson, compare, parseAlertRule, type AlertRule } from '../src/alerting/alert-rule';

const SPEC_EXAMPLE = `name: root-fs-low
kind: threshold
metric: node_filesystem_avail_bytes
matchers: { mountpoint: "/" }
aggregate: min
rate: 5m
op: "<"
value: 1e9
for: 10m
nodes: "web-*"
channels: [ops-hook]
enabled: true
`;

function problems(text: string, file = 'rule.yaml'): string[] {
  try {
    parseAlertRule(text, file);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map(formatConfigIssue);
    throw err;
  }
  throw new Error('expected the rule to be refused');
}

t.test("SPEC §14's example reads as written", async (t) => {
  const rule = parseAlertRule(SPEC_EXAMPLE, 'rule.yaml');
  t.match(rule, {
    name: 'root-fs-low',
    kind: 'threshold',
    metric: 'node_filesystem_avail_bytes',
    matchers: { mountpoint: '/' },
    aggregate: 'min',
    rateMs: 300_000,
    op: '<',
    value: 1e9,
    forMs: 600_000,
    channels: ['ops-hook'],
    enabled: true,
  });
  t.ok(rule.nodes?.matches('web-3'));
  t.notOk(rule.nodes?.matches('db-1'));
});

t.test('the API body is the same object as JSON; its JSON form reads back to the same rule', async (t) => {
  const fromJson = parseAlertRule(JSON.stringify({ name: 'cpu-hot', kind: 'threshold', metric: 'node_load1', op: '>', value: 4 }), 'request body');
  t.match(fromJson, { aggregate: 'avg', rateMs: null, forMs: 0, nodes: null, channels: [], enabled: true }, 'defaults');
  for (const rule of [fromJson, parseAlertRule(SPEC_EXAMPLE, 'rule.yaml')]) {
    const again = parseAlertRule(JSON.stringify(alertRuleJson(rule)), 'again');
    const plain = (r: AlertRule) => ({ ...r, nodes: r.nodes?.text ?? null });
    t.same(plain(again), plain(rule), `${rule.name} round-trips`);
  }
});

t.test('kind defaults: agent_down waits 5m, the expiry kinds look 14 days ahead', async (t) => {
  t.equal(parseAlertRule('name: agent-down\nkind: agent_down\n', 'r.yaml').forMs, 300_000);
  t.equal(parseAlertRule('name: tokens\nkind: token_expiry\n', 'r.yaml').withinMs, 14 * 86_400_000);
  t.equal(parseAlertRule('name: certs\nkind: certificate_expiry\nwithin: 30d\n', 'r.yaml').withinMs, 30 * 86_400_000);
});

t.test('every problem is reported with file, line, column and key path', async (t) => {
  const lines = problems(`name: Root FS
kind: threshold
metric: 9bad
matchers: { "1x": "/" , device: 7 }
aggregate: median
rate: soon
op: "=<"
value: lots
for: -1m
nodes: "web/*"
channels: [ops-hook, ops-hook, "Bad Name"]
enabled: yes
colour: red
`);
  const expected = [
    /^rule\.yaml:1:7: name: expected a rule name/,
    /^rule\.yaml:3:9: metric: expected a metric name/,
    /^rule\.yaml:4:13: matchers\.1x: not a label name/,
    /^rule\.yaml:4:33: matchers\.device: expected a string; quote it/,
    /^rule\.yaml:5:12: aggregate: expected one of avg, min, max, sum/,
    /^rule\.yaml:6:7: rate: expected a duration/,
    /^rule\.yaml:7:5: op: expected one of <, <=, >, >=, ==, !=/,
    /^rule\.yaml:8:8: value: expected a finite number/,
    /^rule\.yaml:9:6: for: expected a duration/,
    /^rule\.yaml:10:8: nodes: expected node names with \* and \?/,
    /^rule\.yaml:11:22: channels\[1\]: duplicate entry/,
    /^rule\.yaml:11:32: channels\[2\]: expected a channel name/,
    /^rule\.yaml:12:10: enabled: expected true or false/,
    /^rule\.yaml:13:1: colour: unknown key/,
  ];
  for (const re of expected) t.ok(lines.some((l) => re.test(l)), `${re} in:\n${lines.join('\n')}`);
  t.equal(lines.length, expected.length, 'one line per problem');
});

t.test('settings of another kind and missing required keys are named', async (t) => {
  const lines = problems('name: down\nkind: agent_down\nmetric: node_load1\nwithin: 3d\n');
  t.match(lines.join('\n'), /metric: not a setting of agent_down rules \(its settings: name, kind, for, channels, enabled, nodes\)/);
  t.match(lines.join('\n'), /within: not a setting of agent_down rules/);
  t.match(problems('name: c\nkind: certificate_expiry\nnodes: web-*\n').join('\n'), /nodes: not a setting of certificate_expiry rules/);
  const missing = problems('name: hot\nkind: threshold\n');
  t.match(missing.join('\n'), /metric: required key is missing/);
  t.match(missing.join('\n'), /op: required key is missing/);
  t.match(missing.join('\n'), /value: required key is missing/);
  t.match(problems('kind: wobble\n').join('\n'), /kind: expected one of agent_down, threshold, token_expiry, certificate_expiry/);
  t.match(problems('kind: wobble\n').join('\n'), /name: required key is missing/);
  t.match(problems('[1, 2]\n').join('\n'), /expected a mapping at the top level/);
  t.match(problems('{"name": "x", ').join('\n'), /^request body:1|^rule\.yaml:1/);
});

t.test('a value that is not a finite number is refused with the config error code', async (t) => {
  t.throws(() => parseAlertRule('name: x\nkind: threshold\nmetric: a\nop: ">"\nvalue: .nan\n', 'r.yaml'), { code: ErrorCodes.CONFIG_INVALID });
});

t.test('comparisons', async (t) => {
  t.ok(compare(1, '<', 2));
  t.notOk(compare(2, '<', 2));
  t.ok(compare(2, '<=', 2));
  t.ok(compare(3, '>', 2));
  t.ok(compare(2, '>=', 2));
  t.ok(compare(2, '==', 2));
  t.ok(compare(1, '!=', 2));
});
