import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { silentLogger } from '@ximp/shared';
import type { RuleOutcome } from '../src/alerting/alert-evaluator';
import { AlertHistory } from '../src/alerting/alert-history';
import type { StoredAlert } from '../src/alerting/alert-instances';
import { parseAlertRule } from '../src/alerting/alert-rule';
import type { Notification } from '../src/alerting/notification';
import { Notifier, type DeliveryResult } from '../src/alerting/notifier';
import { openDatabase } from '../src/store/database';

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const HOUR = 3_600_000;
const rule = parseAlertRule(JSON.stringify({ name: 'agent-down', kind: 'agent_down', channels: ['hook', 'mail'] }), 'body');

function alert(instance: string): StoredAlert {
  return { rule: 'agent-down', instance, node: instance, labels: { instance, job: 'ximp' }, status: 'firing', activeSince: T0, firedAt: T0, value: null };
}
function outcome(firing: string[], resolved: string[] = [], fired: string[] = []): RuleOutcome[] {
  return [
    {
      rule,
      firing: firing.map(alert),
      changed: [...fired.map((i) => ({ alert: alert(i), transition: 'firing' as const })), ...resolved.map((i) => ({ alert: alert(i), transition: 'resolved' as const }))],
    },
  ];
}

const until = async (what: string, check: () => boolean): Promise<void> => {
  const end = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

function harness(tt: { teardown(fn: () => void): void }, behaviour: Record<string, (n: Notification) => Promise<DeliveryResult>> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-notifier-'));
  const db = openDatabase(dir);
  const history = new AlertHistory(db);
  const sent: Notification[] = [];
  let now = T0;
  const notifier = new Notifier({
    repeatIntervalOf: (c) => (c === 'hook' || c === 'mail' ? null : undefined),
    delivererFor: (channel) => ({
      deliver: (n) => {
        sent.push(n);
        return behaviour[channel]?.(n) ?? Promise.resolve({ ok: true, detail: 'HTTP 200' });
      },
    }),
    history,
    repeatIntervalMs: 4 * HOUR,
    now: () => now,
    log: silentLogger(),
    retry: { initialMs: 5, maxMs: 10, attempts: 3 },
  });
  tt.teardown(() => {
    notifier.stop();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    notifier,
    sent,
    history: () => history.list({ sinceMs: 0, limit: 1000 }),
    at: (ms: number, o: RuleOutcome[]) => {
      now = T0 + ms;
      notifier.onEvaluated(o, now);
    },
  };
}

t.test('firing is sent once to each channel, repeated after repeat_interval, resolved sent to who was told', async (t) => {
  const h = harness(t);
  h.at(0, outcome(['web-1'], [], ['web-1']));
  await until('two sends', () => h.sent.length === 2);
  t.same(h.sent.map((n) => [n.channel, n.status, n.alerts.map((a) => `${a.instance}:${a.status}`)]), [
    ['hook', 'firing', ['web-1:firing']],
    ['mail', 'firing', ['web-1:firing']],
  ]);
  t.same(h.sent[0].alerts[0].labels, { instance: 'web-1', job: 'ximp', alertname: 'agent-down' });
  h.at(15_000, outcome(['web-1']));
  h.at(HOUR, outcome(['web-1']));
  await new Promise((r) => setTimeout(r, 30));
  t.equal(h.sent.length, 2, 'nothing new before the repeat interval');
  h.at(4 * HOUR, outcome(['web-1']));
  await until('the repeat', () => h.sent.length === 4);
  h.at(4 * HOUR + 15_000, outcome(['web-1', 'web-2'], [], ['web-2']));
  await until('a new alert of the group', () => h.sent.length === 6);
  t.same(h.sent[4].alerts.map((a) => a.instance), ['web-1', 'web-2'], 'the whole firing group');
  h.at(4 * HOUR + 30_000, outcome(['web-2'], ['web-1']));
  await until('the resolved', () => h.sent.length === 8);
  t.same(h.sent[6].alerts.map((a) => `${a.instance}:${a.status}`), ['web-2:firing', 'web-1:resolved']);
  t.match(h.sent[6].alerts[1].endsAt, new Date(T0 + 4 * HOUR + 30_000).toISOString());
  h.at(4 * HOUR + 45_000, outcome([], ['web-3']));
  await new Promise((r) => setTimeout(r, 30));
  t.equal(h.sent.length, 8, 'a resolved alert no channel was told about is not sent');
  const deliveries = h.history().filter((e) => e.event === 'delivery');
  t.equal(deliveries.length, 12, 'one history entry per alert per attempt (1+1+1+1+2+2+2+2)');
  t.ok(deliveries.every((e) => e.outcome === 'ok' && e.detail!.endsWith('HTTP 200')));
});

t.test('a failing channel never delays another; it retries with backoff, then gives up; every attempt is in the history', async (t) => {
  let release!: () => void;
  const stuck = new Promise<void>((resolve) => (release = resolve));
  const h = harness(t, {
    hook: async () => {
      await stuck;
      return { ok: false, retry: true, detail: 'HTTP 503' };
    },
  });
  h.at(0, outcome(['web-1'], [], ['web-1']));
  await until('mail delivered while the hook hangs', () => h.history().some((e) => e.channel === 'mail' && e.outcome === 'ok'));
  release();
  await until('three hook attempts', () => h.history().filter((e) => e.channel === 'hook').length === 3);
  const hook = h.history().filter((e) => e.channel === 'hook');
  t.same(hook.map((e) => e.detail), ['firing: HTTP 503; retrying', 'firing: HTTP 503; retrying', 'firing: HTTP 503']);
  t.equal(h.notifier.backlog().get('hook'), 0, 'given up, not kept forever');
});

t.test('a refusal that cannot improve is not retried; a channel that cannot be built is recorded as failed', async (t) => {
  const h = harness(t, { hook: async () => ({ ok: false, retry: false, detail: 'HTTP 400' }) });
  const brokenDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-notifier-b-'));
  const brokenDb = openDatabase(brokenDir);
  t.teardown(() => {
    brokenDb.close();
    fs.rmSync(brokenDir, { recursive: true, force: true });
  });
  const broken = new Notifier({
    repeatIntervalOf: () => null,
    delivererFor: () => {
      throw new Error('the stored secret channel:mail:password does not decrypt');
    },
    history: new AlertHistory(brokenDb),
    repeatIntervalMs: HOUR,
    now: () => T0,
    log: silentLogger(),
  });
  t.teardown(() => broken.stop());
  const result = await broken.sendNow({ rule: 'r', channel: 'mail', status: 'firing', test: true, alerts: [] });
  t.same(result, { ok: false, retry: false, detail: 'the stored secret channel:mail:password does not decrypt' });
  h.at(0, outcome(['web-1'], [], ['web-1']));
  await until('one hook attempt', () => h.history().some((e) => e.channel === 'hook'));
  await new Promise((r) => setTimeout(r, 40));
  t.equal(h.history().filter((e) => e.channel === 'hook').length, 1);
});

t.test('while one notification is in flight, newer ones of the same rule merge into one waiting', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let first = true;
  const h = harness(t, {
    hook: async () => {
      if (first) {
        first = false;
        await gate;
      }
      return { ok: true, detail: 'HTTP 200' };
    },
  });
  h.at(0, outcome(['a'], [], ['a']));
  await until('in flight', () => h.sent.filter((n) => n.channel === 'hook').length === 1);
  h.at(15_000, outcome(['a', 'b'], [], ['b']));
  h.at(30_000, outcome(['b', 'c'], ['a'], ['c']));
  t.equal(h.notifier.backlog().get('hook'), 2, 'the one in flight and one waiting');
  release();
  await until('the merged one', () => h.sent.filter((n) => n.channel === 'hook').length === 2);
  const merged = h.sent.filter((n) => n.channel === 'hook')[1];
  t.same(merged.alerts.map((a) => `${a.instance}:${a.status}`), ['b:firing', 'c:firing', 'a:resolved']);
});
