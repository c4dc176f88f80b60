/**
 * The rule and channel editors keep their own copy of which settings each kind and type takes
 * (the bundle imports nothing of the server); these tests hold the copies to the collector's
 * readers: everything the editor sends is accepted, and every setting it leaves out is refused.
 */
import t from 'tap';
import { AGGREGATES, COMPARISONS, RULE_KINDS as SERVER_RULE_KINDS, parseAlertRule } from '../../collector/src/alerting/alert-rule';
import { CHANNEL_TYPES as SERVER_CHANNEL_TYPES, SECRET_FIELDS, SMTP_TLS_MODES as SERVER_TLS_MODES, parseChannelDefinition } from '../../collector/src/alerting/channel-definition';
import { CHANNEL_SECRETS, CHANNEL_SETTINGS, CHANNEL_TYPES, SMTP_TLS_MODES, channelBody, type ChannelFormValues } from '../src/pages/alerts-channel-form';
import { RULE_AGGREGATES, RULE_COMPARISONS, RULE_KINDS, RULE_KIND_FIELDS, ruleBody, type RuleField, type RuleFormValues } from '../src/pages/alerts-rule-form';

const RULE_FIELDS: RuleField[] = ['metric', 'matchers', 'aggregate', 'rate', 'op', 'value', 'within', 'nodes'];
const FULL_RULE: Omit<RuleFormValues, 'kind'> = {
  name: 'r1',
  metric: 'node_load1',
  matchers: 'mode=idle',
  aggregate: 'max',
  rate: '5m',
  op: '>=',
  value: '4',
  within: '7d',
  for: '1m',
  nodes: 'web-*',
  channels: 'ops',
  enabled: true,
};
const RULE_JSON: Record<RuleField, unknown> = { metric: 'node_load1', matchers: { mode: 'idle' }, aggregate: 'max', rate: '5m', op: '>=', value: 4, within: '7d', nodes: 'web-*' };

t.test('the same kinds, aggregations and comparisons as the collector', async (t) => {
  t.same([...RULE_KINDS].sort(), [...SERVER_RULE_KINDS].sort());
  t.same([...RULE_AGGREGATES].sort(), [...AGGREGATES].sort());
  t.same([...RULE_COMPARISONS].sort(), [...COMPARISONS].sort());
});

t.test('each kind: the editor\'s body is a rule the collector reads, and each setting left out is refused', async (t) => {
  for (const kind of RULE_KINDS) {
    const result = ruleBody({ ...FULL_RULE, kind });
    if (!('body' in result)) throw new Error(`${kind}: ${result.message}`);
    const rule = parseAlertRule(JSON.stringify(result.body), 'body');
    t.equal(rule.kind, kind);
    for (const field of RULE_FIELDS.filter((f) => !RULE_KIND_FIELDS[kind].includes(f))) {
      t.throws(() => parseAlertRule(JSON.stringify({ ...result.body, [field]: RULE_JSON[field] }), 'body'), new RegExp(`not a setting of ${kind} rules`), `${kind} refuses ${field}`);
    }
  }
});

const CHANNEL_FIELDS = ['url', 'ca_file', 'smtp_host', 'smtp_port', 'tls', 'from', 'to', 'username', 'secret', 'bearer_token', 'password'] as const;
const FULL_CHANNEL: Omit<ChannelFormValues, 'type'> = {
  name: 'c1',
  repeat_interval: '4h',
  url: 'https://hooks.example.org/x',
  ca_file: '/etc/ximp/ca.pem',
  smtp_host: 'mail.example.org',
  smtp_port: '587',
  tls: 'starttls',
  from: 'ximp@example.org',
  to: 'ops@example.org',
  username: 'ximp',
  secret: 's3cret',
  bearer_token: 'tok',
  password: 'pw',
};

t.test('the same channel types, TLS modes and secrets as the collector', async (t) => {
  t.same([...CHANNEL_TYPES].sort(), [...SERVER_CHANNEL_TYPES].sort());
  t.same([...SMTP_TLS_MODES].sort(), [...SERVER_TLS_MODES].sort());
  for (const type of CHANNEL_TYPES) t.same([...CHANNEL_SECRETS[type]].sort(), [...SECRET_FIELDS[type]].sort(), type);
});

t.test('each type: the editor\'s body is a channel the collector reads, and each setting left out is refused', async (t) => {
  for (const type of CHANNEL_TYPES) {
    const result = channelBody({ ...FULL_CHANNEL, type });
    if (!('body' in result)) throw new Error(`${type}: ${result.message}`);
    const channel = parseChannelDefinition(JSON.stringify(result.body), 'body');
    t.equal(channel.type, type);
    t.same(Object.keys(channel.secrets).sort(), [...CHANNEL_SECRETS[type]].sort(), `${type}: its secrets are sent`);
    const sent = new Set<string>([...CHANNEL_SETTINGS[type], ...CHANNEL_SECRETS[type]]);
    for (const field of CHANNEL_FIELDS.filter((f) => !sent.has(f))) {
      t.throws(() => parseChannelDefinition(JSON.stringify({ ...result.body, [field]: 'x' }), 'body'), new RegExp(`not a setting of ${type} channels`), `${type} refuses ${field}`);
    }
  }
});
