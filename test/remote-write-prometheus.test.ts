/**
 * An agent's samples reach a real Prometheus over mTLS under their node_exporter names with
 * instance="<node>" and job="ximp", and the collector's up series follows the agent's state:
 * 1 while ACTIVE, 0 once its token is revoked (SPEC §5, §8).
 */
import t from 'tap';
import { skipWithoutPrometheus } from './helpers/prometheus';
import { startRemoteWriteSystem } from './helpers/remote-write-e2e';
import { createToken, runCli, startAgent, waitFor } from './helpers/system';

// Real processes and waits on the store: longer than .taprc's per-file timeout.
t.setTimeout(180_000);
const skip = skipWithoutPrometheus(t);

t.test('samples arrive under node_exporter names with instance and job; up follows the agent', { skip, timeout: 120_000 }, async (t) => {
  const { prometheus, collector } = await startRemoteWriteSystem(t);
  const node = 'web-1';
  const { id, token } = await createToken(collector.cliConfig, node);
  await startAgent(t, { url: collector.agentUrl, token, caFile: collector.caFile, node, realSources: true });

  const load = await waitFor('node_load1 in Prometheus', async () => {
    const r = await prometheus.query(`node_load1{instance="${node}",job="ximp"}`);
    return r.length === 1 ? r : null;
  }, 30_000, 250);
  t.same(load[0].metric, { __name__: 'node_load1', instance: node, job: 'ximp' }, 'a gauge leaves under its node_exporter name with instance and job');

  const cpu = await waitFor('node_cpu_seconds_total in Prometheus', async () => {
    const r = await prometheus.query(`node_cpu_seconds_total{instance="${node}",job="ximp",mode="idle"}`);
    return r.length > 0 ? r : null;
  }, 30_000, 250);
  t.ok(cpu.every((s) => s.metric.cpu !== undefined), 'labelled series keep their own labels (cpu, mode) beside instance and job');
  t.ok(Number(cpu[0].value[1]) > 0, 'idle CPU seconds are a positive counter');
  const rate = await waitFor('a rate over the counter', async () => {
    const r = await prometheus.query(`sum(rate(node_cpu_seconds_total{instance="${node}",job="ximp"}[1m]))`);
    return r.length === 1 && Number(r[0].value[1]) > 0 ? r : null;
  }, 30_000, 500);
  t.ok(Number(rate[0].value[1]) > 0, 'a node_exporter dashboard query (rate over cpu seconds) answers');

  const jobs = await prometheus.query('count by (job, instance) ({__name__=~".+"})');
  t.same(jobs.map((s) => s.metric), [{ instance: node, job: 'ximp' }], 'every series in the store carries instance and job');

  const upActive = await waitFor('up == 1', async () => {
    const r = await prometheus.query(`up{job="ximp",instance="${node}"}`);
    return r.length === 1 && r[0].value[1] === '1' ? r : null;
  }, 30_000, 250);
  t.same(upActive[0].metric, { __name__: 'up', instance: node, job: 'ximp' }, 'up{job="ximp",instance} is 1 while the agent is ACTIVE');

  const revoked = await runCli(collector.cliConfig, ['agent', 'token', 'revoke', id, '--output', 'json']);
  t.equal(revoked.code, 0, 'the token is revoked');
  await waitFor('up == 0', async () => {
    const r = await prometheus.query(`up{job="ximp",instance="${node}"}`);
    return r.length === 1 && r[0].value[1] === '0';
  }, 40_000, 250);
  t.pass('up is 0 after the token is revoked, so the usual `up == 0` alert fires');
  const alert = await prometheus.query('up{job="ximp"} == 0');
  t.same(alert.map((s) => s.metric.instance), [node], 'the alert expression names the node');
});
