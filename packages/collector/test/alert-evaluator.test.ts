import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { silentLogger } from '@ximp/shared';
import type { AgentTokenRecord } from '../src/auth/agent-token-store';
import { AlertEvaluator, type RuleOutcome } from '../src/alerting/alert-evaluator';
import { AlertHistory } from '../src/alerting/alert-history';
import { AlertInstanceStore } from '../src/alerting/alert-instances';
import { parseAlertRule, type AlertRule } from '../src/alerting/alert-rule';
import type { AgentState } from '../src/registry/agent-state';
import { openDatabase } from '../src/store/database';
import type { ScannedSeries } from '../src/store/series-query';

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const DAY = 86_400_000;

const rule = (o: Record<string, unknown>): AlertRule => parseAlertRule(JSON.stringify({ name: 'r', ...o }), 'body');

function harness(tt: { teardown(fn: () => void): void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-eval-'));
  let db = openDatabase(dir);
  tt.teardown(() => {
    if (db.open) db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const world = {
    now: T0,
    rules: [] as AlertRule[],
    agents: new Map<string, AgentState>(),
    tokens: [] as AgentTokenRecord[],
    certificates: [] as { component: string; notAfter: Date }[],
    series: new Map<string, ScannedSeries[] | null>(),
    outcomes: [] as RuleOutcome[][],
    listings: { agents: 0, unrevoked: 0, tokens: 0 },
  };
  const make = () =>
    new AlertEvaluator({
      rules: () => world.rules,
      instances: new AlertInstanceStore(db),
      history: new AlertHistory(db),
      sources: {
        agentStates: () => {
          world.listings.agents++;
          return [...world.agents].map(([node, state]) => ({ node, state }));
        },
        unrevokedNodes: () => {
          world.listings.unrevoked++;
          return [...new Set(world.tokens.filter((t) => t.revokedMs === null).map((t) => t.node))];
        },
        tokens: () => {
          world.listings.tokens++;
          return world.tokens;
        },
        certificates: () => world.certificates,
        readSeries: async (node) => (world.series.has(node) ? (world.series.get(node) as ScannedSeries[] | null) : []),
      },
      onEvaluated: (o) => world.outcomes.push(o),
      now: () => world.now,
      log: silentLogger(),
    });
  let evaluator = make();
  const token = (node: string, expiresMs: number, revoked = false): AgentTokenRecord => ({ id: `tok${node}`, node, createdMs: T0, expiresMs, revokedMs: revoked ? T0 : null, lastUsedMs: null });
  return {
    world,
    token,
    db: () => db,
    history: () => new AlertHistory(db).list({ sinceMs: 0, limit: 1000 }),
    firing: () => new AlertInstanceStore(db).list().filter((a) => a.status === 'firing').map((a) => a.instance),
    /** Evaluates at now + `afterMs` (advancing the clock). */
    at: async (afterMs: number) => {
      world.now += afterMs;
      return evaluator.evaluate();
    },
    restart: () => {
      db.close();
      db = openDatabase(dir);
      evaluator = make();
    },
  };
}

t.test('one evaluation lists the agents and the tokens once, however many rules read them', async (t) => {
  const h = harness(t);
  h.world.rules = [
    rule({ name: 'down-a', kind: 'agent_down', for: '5m', channels: ['mail'] }),
    rule({ name: 'down-b', kind: 'agent_down', for: '1m', channels: ['mail'] }),
    rule({ name: 'tokens', kind: 'token_expiry', within: '30d', channels: ['mail'] }),
  ];
  h.world.tokens = [h.token('web-1', T0 + 300 * DAY)];
  h.world.agents.set('web-1', 'ACTIVE');
  await h.at(0);
  t.same(h.world.listings, { agents: 1, unrevoked: 1, tokens: 1 });
  h.world.agents.set('web-1', 'DISCONNECTED');
  const outcomes = await h.at(15_000);
  t.same(h.world.listings, { agents: 2, unrevoked: 2, tokens: 2 }, 'listed again by the next evaluation');
  t.same(outcomes.map((o) => o.rule.name), ['down-a', 'down-b', 'tokens'], 'every rule evaluated');
  t.same(new AlertInstanceStore(h.db()).list().map((a) => [a.rule, a.instance, a.status]).sort(), [['down-a', 'web-1', 'pending'], ['down-b', 'web-1', 'pending']], 'and each saw the new state');
});

t.test('agent_down reads states and held nodes only, never every token', async (t) => {
  const h = harness(t);
  h.world.rules = [rule({ name: 'down', kind: 'agent_down', for: '1m', channels: ['mail'] })];
  h.world.tokens = [h.token('web-1', T0 + 300 * DAY), h.token('gone-1', T0 + 300 * DAY, true)];
  h.world.agents.set('web-1', 'DISCONNECTED').set('gone-1', 'DISCONNECTED');
  await h.at(0);
  await h.at(60_000);
  t.same(h.world.listings, { agents: 2, unrevoked: 2, tokens: 0 });
  t.same(h.firing(), ['web-1'], 'a node whose every token is revoked does not count');
});

t.test('agent_down: pending, firing after `for`, resolved when the agent is back; every transition in the history', async (t) => {
  const h = harness(t);
  h.world.rules = [rule({ name: 'agent-down', kind: 'agent_down', for: '5m', channels: ['mail'] })];
  h.world.tokens = [h.token('web-1', T0 + 300 * DAY), h.token('web-2', T0 + 300 * DAY)];
  h.world.agents.set('web-1', 'ACTIVE').set('web-2', 'ACTIVE').set('new-1', 'PENDING');
  await h.at(0);
  h.world.agents.set('web-1', 'DISCONNECTED');
  await h.at(15_000);
  t.same(h.firing(), []);
  const fired = await h.at(5 * 60_000);
  t.same(h.firing(), ['web-1']);
  t.match(fired[0].changed, [{ transition: 'firing', alert: { instance: 'web-1', node: 'web-1', labels: { instance: 'web-1', job: 'ximp' } } }]);
  h.world.agents.set('web-1', 'ACTIVE');
  const resolved = await h.at(15_000);
  t.match(resolved[0].changed, [{ transition: 'resolved', alert: { instance: 'web-1' } }]);
  t.same(h.firing(), []);
  t.same(h.history().map((e) => `${e.event}:${e.instance}`), ['pending:web-1', 'firing:web-1', 'resolved:web-1']);
  t.notOk(h.history().some((e) => e.instance === 'new-1'), 'a node that never connected does not alert');
});

t.test('agent_down ignores nodes whose tokens are all revoked (decommissioned) and nodes outside `nodes`', async (t) => {
  const h = harness(t);
  h.world.rules = [rule({ kind: 'agent_down', for: '0s', nodes: 'web-*' })];
  h.world.tokens = [h.token('web-1', T0 + DAY, true), h.token('web-2', T0 + DAY), h.token('db-1', T0 + DAY)];
  h.world.agents.set('web-1', 'DISCONNECTED').set('web-2', 'STALE').set('db-1', 'DISCONNECTED');
  await h.at(0);
  t.same(h.firing(), ['web-2'], 'STALE is not ACTIVE: down');
});

t.test('a restart keeps a firing alert (it still resolves) and a pending one keeps its `for`', async (t) => {
  const h = harness(t);
  h.world.rules = [rule({ kind: 'agent_down', for: '5m' })];
  h.world.tokens = [h.token('a', T0 + DAY), h.token('b', T0 + DAY)];
  h.world.agents.set('a', 'DISCONNECTED').set('b', 'ACTIVE');
  await h.at(0);
  await h.at(5 * 60_000);
  h.world.agents.set('b', 'DISCONNECTED');
  await h.at(60_000);
  h.restart();
  await h.at(4 * 60_000);
  t.same(h.firing(), ['a'], 'b pending for 4 of its 5 minutes');
  await h.at(60_000);
  t.same(h.firing(), ['a', 'b'], 'b fired 5 minutes after it went down, across the restart');
  h.world.agents.set('a', 'ACTIVE');
  const out = await h.at(15_000);
  t.match(out[0].changed, [{ transition: 'resolved', alert: { instance: 'a' } }]);
});

t.test('threshold: on the data a node sent; no data resolves; a busy store keeps the alert as it was', async (t) => {
  const h = harness(t);
  h.world.rules = [rule({ kind: 'threshold', metric: 'node_load1', op: '>', value: 4, for: '0s' })];
  h.world.tokens = [h.token('web-1', T0 + DAY)];
  h.world.agents.set('web-1', 'ACTIVE');
  const hot: ScannedSeries = { labels: { instance: 'web-1', job: 'ximp' }, count: 1, data: Float64Array.from([T0, 9]) };
  h.world.series.set('web-1', [hot]);
  await h.at(0);
  t.same(h.firing(), ['web-1']);
  h.world.series.set('web-1', null);
  const busy = await h.at(15_000);
  t.same(h.firing(), ['web-1'], 'unknown: unchanged');
  t.equal(busy[0].firing.length, 1);
  h.world.series.set('web-1', []);
  await h.at(15_000);
  t.same(h.firing(), []);
  t.same(h.history().map((e) => [e.event, e.value]), [['firing', 9], ['resolved', 9]]);
});

t.test('token_expiry: the longest-lived token decides; certificate_expiry: per component', async (t) => {
  const h = harness(t);
  h.world.rules = [rule({ name: 'tokens', kind: 'token_expiry', within: '14d' }), rule({ name: 'certs', kind: 'certificate_expiry', within: '30d' })];
  h.world.tokens = [h.token('old', T0 + 3 * DAY), { ...h.token('old', T0 + 200 * DAY), id: 'fresh' }, h.token('due', T0 + 10 * DAY), h.token('gone', T0 + DAY, true)];
  h.world.certificates = [
    { component: 'collector', notAfter: new Date(T0 + 20 * DAY) },
    { component: 'ca', notAfter: new Date(T0 + 3000 * DAY) },
  ];
  const out = await h.at(0);
  t.same(h.firing().sort(), ['collector', 'due']);
  t.match(out[0].firing, [{ instance: 'due', value: 10 }]);
  t.match(out[1].firing, [{ instance: 'collector', node: null, value: 20, labels: { component: 'collector', job: 'ximp' } }]);
});

t.test('disabling a rule resolves its alerts; deleting one clears them without a notification', async (t) => {
  const h = harness(t);
  const down = rule({ name: 'down', kind: 'agent_down', for: '0s' });
  h.world.rules = [down];
  h.world.tokens = [h.token('a', T0 + DAY)];
  h.world.agents.set('a', 'DISCONNECTED');
  await h.at(0);
  h.world.rules = [{ ...down, enabled: false }];
  const off = await h.at(15_000);
  t.match(off[0].changed, [{ transition: 'resolved' }]);
  h.world.rules = [down];
  await h.at(15_000);
  t.same(h.firing(), ['a']);
  h.world.rules = [];
  const gone = await h.at(15_000);
  t.same(gone, []);
  t.same(h.firing(), []);
  t.equal(h.history().at(-1)?.event, 'resolved');
});
