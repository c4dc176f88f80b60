/**
 * A threshold rule over a counter's rate on data a real agent sends to a real collector: the
 * test's metric source steers the counter (idle, busy, idle again); the rule fires while the
 * rate is above its value for `for` and resolves when it falls, and a signed webhook receiver
 * gets one firing and one resolved notification naming the node and the matched series' labels.
 * A series the matchers leave out (busy all along) never fires it.
 */
import t from 'tap';
import type { SourceInstance } from '../packages/agent/src/sources/source';
import { adminApi } from './helpers/admin-api';
import { createToken, startAgent, startCollector, tempDir, waitFor } from './helpers/system';
import { startWebhookReceiver } from './helpers/webhook-receiver';

const SECRET = 'threshold-hook-secret';
const CYCLE_MS = 200;

/** Two request counters; the test sets how much `/checkout` grows per cycle, `/health` grows fast throughout. */
function requestCounters(): SourceInstance & { perCycle: number } {
  let checkout = 0;
  let health = 0;
  const source = {
    name: 'requests',
    perCycle: 0,
    async collect() {
      checkout += source.perCycle;
      health += 1000;
      return [
        { name: 'ximp_test_requests_total', labels: { path: '/checkout' }, value: checkout },
        { name: 'ximp_test_requests_total', labels: { path: '/health' }, value: health },
      ];
    },
  };
  return source;
}

t.test('a rate threshold fires on what an agent sends and resolves when the rate falls', async (t) => {
  const hook = await startWebhookReceiver(t, { secret: SECRET, dir: tempDir(t) });
  const c = await startCollector(t, 'alerting:\n  evaluation_interval: 1s', { alertRetry: { initialMs: 50, maxMs: 200, attempts: 1000 } });
  const api = await adminApi(c);
  t.equal((await api('POST', '/api/v1/alert-channels', { name: 'hook', type: 'webhook', url: hook.url, secret: SECRET, ca_file: hook.caFile })).status, 201);
  const rule = await api('POST', '/api/v1/alert-rules', {
    name: 'checkout-busy',
    kind: 'threshold',
    metric: 'ximp_test_requests_total',
    matchers: { path: '/checkout' },
    rate: '2s',
    aggregate: 'sum',
    op: '>',
    value: 50,
    for: '2s',
    channels: ['hook'],
  });
  t.equal(rule.status, 201, rule.body);

  const requests = requestCounters();
  const { token } = await createToken(c.cliConfig, 'web-1');
  await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node: 'web-1', intervalMs: CYCLE_MS, sources: [requests] });
  await waitFor('web-1 active', async () => (await api('GET', '/api/v1/agents/web-1')).body.includes('"ACTIVE"'));

  // Idle (rate 0) while /health runs at 5000/s: the matchers keep that series out.
  await new Promise((r) => setTimeout(r, 4000));
  t.same(JSON.parse((await api('GET', '/api/v1/alerts')).body), [], 'idle: no alert');
  t.same(hook.bodies, [], 'and no notification');

  requests.perCycle = 40; // 200 per second
  const busySince = Date.now();
  const firing = await waitFor('the firing webhook', () => hook.bodies.find((b) => b.status === 'firing'), 20_000);
  t.ok(Date.now() - busySince >= 2000, 'not before `for` had passed');
  t.match(firing, {
    version: '4',
    receiver: 'hook',
    groupLabels: { alertname: 'checkout-busy' },
    alerts: [{ status: 'firing', labels: { alertname: 'checkout-busy', instance: 'web-1', job: 'ximp', path: '/checkout' } }],
  });
  t.equal(firing.alerts.length, 1, 'one alert: the one node');
  const value = Number(/ is ([\d.]+) /.exec(firing.alerts[0].annotations.summary)?.[1]);
  t.ok(value > 50 && value <= 400, `the rate it read is near 200/s (${firing.alerts[0].annotations.summary})`);
  const active = JSON.parse((await api('GET', '/api/v1/alerts')).body) as { rule: string; instance: string; status: string }[];
  t.match(active, [{ rule: 'checkout-busy', instance: 'web-1', status: 'firing' }]);

  requests.perCycle = 0;
  const resolved = await waitFor('the resolved webhook', () => hook.bodies.find((b) => b.status === 'resolved'), 20_000);
  t.match(resolved, { status: 'resolved', alerts: [{ status: 'resolved', labels: { alertname: 'checkout-busy', instance: 'web-1', path: '/checkout' } }] });
  t.ok(Date.parse(resolved.alerts[0].endsAt) >= Date.parse(resolved.alerts[0].startsAt), 'it ends after it started');
  t.same(JSON.parse((await api('GET', '/api/v1/alerts')).body), [], 'no active alert left');
  t.equal(hook.bodies.length, 2, 'one firing and one resolved notification, nothing else');
  t.equal(hook.badSignatures, 0, 'every body carried a valid signature');

  const history = JSON.parse((await api('GET', '/api/v1/alerts/history?since=1h&rule=checkout-busy')).body) as { event: string; value: number | null }[];
  t.same(history.filter((e) => e.event !== 'delivery').map((e) => e.event), ['pending', 'firing', 'resolved'], 'every transition in the history');
});
