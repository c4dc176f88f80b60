import t from 'tap';
import type { StoredAlertRuleJson } from '@ximp/shared';
import { parseMatchers, ruleBody, ruleCondition, ruleFormValues, splitList } from '../src/pages/alerts-rule-form';

t.test('an existing threshold rule fills the form and comes back as the same body', async (t) => {
  const rule: StoredAlertRuleJson = {
    name: 'cpu-high',
    kind: 'threshold',
    metric: 'node_cpu_seconds_total',
    matchers: { mode: 'user', cpu: '0' },
    aggregate: 'max',
    rate: '5m',
    op: '>',
    value: 0.9,
    for: '10m',
    nodes: 'web-*',
    channels: ['ops', 'pager'],
    enabled: false,
    built_in: false,
    created: null,
    updated: null,
  };
  const values = ruleFormValues(rule);
  t.equal(values.matchers, 'mode=user, cpu=0');
  t.equal(values.channels, 'ops, pager');
  t.equal(values.value, '0.9');
  t.same(ruleBody(values), {
    body: {
      name: 'cpu-high',
      kind: 'threshold',
      metric: 'node_cpu_seconds_total',
      matchers: { mode: 'user', cpu: '0' },
      aggregate: 'max',
      rate: '5m',
      op: '>',
      value: 0.9,
      nodes: 'web-*',
      for: '10m',
      channels: ['ops', 'pager'],
      enabled: false,
    },
  });
});

t.test('the body holds only the settings of the chosen kind', async (t) => {
  const values = { ...ruleFormValues(null), name: 'tokens', kind: 'token_expiry' as const, metric: 'left_over', value: '3', within: '7d', nodes: '' };
  t.same(ruleBody(values), { body: { name: 'tokens', kind: 'token_expiry', within: '7d', channels: [], enabled: true } });
  const cert = { ...values, kind: 'certificate_expiry' as const, nodes: 'web-*' };
  t.same(ruleBody(cert), { body: { name: 'tokens', kind: 'certificate_expiry', within: '7d', channels: [], enabled: true } });
  const down = { ...ruleFormValues(null), name: 'down', kind: 'agent_down' as const, for: ' 2m ', nodes: 'db-*' };
  t.same(ruleBody(down), { body: { name: 'down', kind: 'agent_down', nodes: 'db-*', for: '2m', channels: [], enabled: true } });
});

t.test('a threshold needs a number and label=value matchers; the field is named', async (t) => {
  const base = { ...ruleFormValues(null), name: 'x', metric: 'm' };
  t.same(ruleBody({ ...base, value: 'high' }), { field: 'value', message: 'expected a number' });
  t.same(ruleBody({ ...base, value: '' }), { field: 'value', message: 'expected a number' });
  t.same(ruleBody({ ...base, value: '1', matchers: 'mode' }), { field: 'matchers', message: '"mode" is not label=value' });
  t.match(ruleBody({ ...base, value: '-1.5e3' }), { body: { value: -1500 } });
});

t.test('matchers and lists', async (t) => {
  t.same(parseMatchers(''), {});
  t.same(parseMatchers('a=b\n c = d=e ,'), { a: 'b', c: 'd=e' });
  t.same(parseMatchers('a=, b=1'), { a: '', b: '1' });
  t.equal(parseMatchers('a=1,a=2'), 'label a is given twice');
  t.equal(parseMatchers('=1'), '"=1" is not label=value');
  t.same(splitList(' ops, ,pager,ops\n'), ['ops', 'pager']);
});

t.test('each kind\'s condition reads in one line', async (t) => {
  const base = { name: 'r', for: '0s', nodes: null, channels: [], enabled: true };
  t.equal(ruleCondition({ ...base, kind: 'threshold', metric: 'node_load1', aggregate: 'max', op: '>=', value: 4 }), 'max(node_load1) >= 4');
  t.equal(
    ruleCondition({ ...base, kind: 'threshold', metric: 'c', matchers: { mode: 'idle' }, aggregate: 'avg', rate: '5m', op: '<', value: 0.1 }),
    'avg(rate(c{mode="idle"}[5m])) < 0.1',
  );
  t.equal(ruleCondition({ ...base, kind: 'agent_down' }), 'agent disconnected');
  t.equal(ruleCondition({ ...base, kind: 'token_expiry', within: '7d' }), 'agent token expires within 7d');
  t.equal(ruleCondition({ ...base, kind: 'certificate_expiry', within: '30d' }), 'certificate expires within 30d');
});
