/**
 * The alertmanager channel against Debian's real Prometheus Alertmanager (TLS 1.3, its own CA):
 * when an agent goes away the built-in agent-down alert shows in Alertmanager's GET
 * /api/v2/alerts with the labels its routing reads (alertname, instance, job); when the agent is
 * back the alert is resolved there. Skipped, with a message naming the package, where
 * prometheus-alertmanager is not installed, unless CI=true.
 */
import * as fs from 'node:fs';
import t from 'tap';
import { adminApi } from './helpers/admin-api';
import { skipWithoutAlertmanager, startAlertmanager } from './helpers/alertmanager';
import { httpsRequest } from './helpers/prometheus';
import { createToken, startAgent, startCollector, waitFor } from './helpers/system';

t.test('agent-down reaches a real Alertmanager firing, then resolved', { skip: skipWithoutAlertmanager(t) }, async (t) => {
  const am = await startAlertmanager(t);
  const tls12 = { tls: { ca: fs.readFileSync(am.caFile, 'utf8') }, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const;
  await t.rejects(httpsRequest(`${am.baseUrl}/-/ready`, tls12), 'Alertmanager serves TLS 1.3 only');
  const c = await startCollector(t, 'alerting:\n  evaluation_interval: 1s', { alertRetry: { initialMs: 50, maxMs: 200, attempts: 1000 } });
  const api = await adminApi(c);

  const channel = await api('POST', '/api/v1/alert-channels', { name: 'am', type: 'alertmanager', url: am.baseUrl, ca_file: am.caFile });
  t.equal(channel.status, 201, channel.body);
  const rule = await api('PUT', '/api/v1/alert-rules/agent-down', { name: 'agent-down', kind: 'agent_down', for: '2s', channels: ['am'] });
  t.equal(rule.status, 200, rule.body);

  const { token } = await createToken(c.cliConfig, 'web-1');
  const agent = await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node: 'web-1', intervalMs: 200 });
  await waitFor('web-1 active', async () => (await api('GET', '/api/v1/agents/web-1')).body.includes('"ACTIVE"'));
  t.same(await am.alerts(), [], 'nothing before the agent goes away');
  // The agent's session ends during stop(), not after it returns: the bound starts before the call.
  const stoppingAt = Date.now();
  await agent.stop();

  const alert = await waitFor('agent-down in Alertmanager', async () => (await am.alerts()).find((a) => a.labels.alertname === 'agent-down'), 20_000);
  const firedAt = Date.parse(alert.startsAt);
  t.ok(firedAt - stoppingAt >= 2000, `fired ${firedAt - stoppingAt} ms after the agent began stopping, not before \`for\` (2 s) had passed`);
  const transitions = JSON.parse((await api('GET', '/api/v1/alerts/history?since=1h&rule=agent-down')).body) as { event: string; time: string }[];
  const pendingAt = Date.parse(transitions.find((e) => e.event === 'pending')!.time);
  t.ok(pendingAt >= stoppingAt, 'pending from the first evaluation after the agent went away');
  t.ok(firedAt - pendingAt >= 2000, `firing ${firedAt - pendingAt} ms after pending, at least \`for\``);
  t.match(alert, { labels: { alertname: 'agent-down', instance: 'web-1', job: 'ximp' }, status: { state: 'active' } });
  t.ok(Date.parse(alert.endsAt) > Date.now(), 'firing: its end lies ahead (Alertmanager times it out unless told)');
  t.equal(await am.ownMetric('alertmanager_alerts_received_total', { status: 'firing' }), 1, 'one firing alert received');

  const again = await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node: 'web-1', intervalMs: 200 });
  await waitFor('the resolved alert received', async () => (await am.ownMetric('alertmanager_alerts_received_total', { status: 'resolved' })) >= 1, 20_000);
  // A resolved alert ends in the past, so the v2 API no longer lists it as active.
  t.same((await am.alerts()).filter((a) => a.labels.alertname === 'agent-down'), [], 'no longer active in Alertmanager');
  await again.stop();

  const history = JSON.parse((await api('GET', '/api/v1/alerts/history?since=1h&rule=agent-down')).body) as { event: string; channel: string | null; outcome: string | null }[];
  t.equal(history.filter((e) => e.event === 'delivery' && e.channel === 'am' && e.outcome === 'ok').length, 2, 'firing and resolved delivered, each once');
  t.equal(history.filter((e) => e.event === 'delivery' && e.outcome !== 'ok').length, 0, 'no failed attempt');
});
