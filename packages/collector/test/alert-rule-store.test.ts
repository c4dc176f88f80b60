import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes } from '@ximp/shared';
import { parseAlertRule } from '../src/alerting/alert-rule';
import { AlertRuleStore } from '../src/alerting/alert-rule-store';
import { openDatabase } from '../src/store/database';

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);

function open(tt: { teardown(fn: () => void): void }): { store: () => AlertRuleStore; reopen: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-rules-'));
  let db = openDatabase(dir);
  let store = new AlertRuleStore(db);
  tt.teardown(() => {
    if (db.open) db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    store: () => store,
    reopen: () => {
      db.close();
      db = openDatabase(dir);
      store = new AlertRuleStore(db);
    },
  };
}

const hot = (value: number) =>
  parseAlertRule(JSON.stringify({ name: 'cpu-hot', kind: 'threshold', metric: 'node_load1', op: '>', value, nodes: 'web-*' }), 'body');

t.test('the built-in agent-down rule exists once, from the first start on', async (t) => {
  const s = open(t);
  s.store().ensureBuiltIns(T0);
  s.store().ensureBuiltIns(T0 + 1);
  const rules = s.store().list();
  t.equal(rules.length, 1);
  t.match(rules[0], { builtIn: true, createdMs: T0, rule: { name: 'agent-down', kind: 'agent_down', forMs: 300_000, enabled: true } });
});

t.test('rules are created, read back, updated and deleted; they outlive a restart', async (t) => {
  const s = open(t);
  s.store().create(hot(4), T0);
  t.throws(() => s.store().create(hot(5), T0), { code: ErrorCodes.CONFLICT, message: /"cpu-hot" already exists/ });
  s.reopen();
  const read = s.store().get('cpu-hot')!;
  t.equal(read.rule.value, 4);
  t.equal(read.rule.nodes?.text, 'web-*');
  s.store().update('cpu-hot', hot(8), T0 + 5);
  t.match(s.store().get('cpu-hot'), { createdMs: T0, updatedMs: T0 + 5, rule: { value: 8 } });
  t.throws(() => s.store().update('cpu-hot', { ...hot(8), name: 'other' }, T0), { code: ErrorCodes.CONFLICT, message: /cannot be renamed/ });
  t.throws(() => s.store().update('nope', hot(8), T0), { code: ErrorCodes.NOT_FOUND });
  s.store().delete('cpu-hot');
  t.equal(s.store().get('cpu-hot'), null);
  t.throws(() => s.store().delete('cpu-hot'), { code: ErrorCodes.NOT_FOUND });
});

t.test('a built-in rule can be edited and disabled, not deleted, and keeps its kind', async (t) => {
  const s = open(t);
  s.store().ensureBuiltIns(T0);
  const disabled = parseAlertRule(JSON.stringify({ name: 'agent-down', kind: 'agent_down', for: '10m', enabled: false }), 'body');
  s.store().update('agent-down', disabled, T0 + 1);
  s.store().ensureBuiltIns(T0 + 2);
  t.match(s.store().get('agent-down'), { builtIn: true, rule: { forMs: 600_000, enabled: false } }, 'the edit survives the next start');
  t.throws(() => s.store().delete('agent-down'), { code: ErrorCodes.CONFLICT, message: /built in and cannot be deleted: disable it/ });
  const asThreshold = parseAlertRule(JSON.stringify({ name: 'agent-down', kind: 'threshold', metric: 'up', op: '==', value: 0 }), 'body');
  t.throws(() => s.store().update('agent-down', asThreshold, T0), { code: ErrorCodes.CONFLICT, message: /its kind cannot change/ });
});
