/**
 * Prometheus refuses a collector whose client certificate comes from another CA. The collector
 * says so in one log line and its metrics, keeps serving agents, keeps every acknowledged batch in
 * its queue, and drains the queue once the right pair is in place and the certificates are
 * reloaded (what SIGHUP does).
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { foreignClientPair, issueClientPair, skipWithoutPrometheus } from './helpers/prometheus';
import {
  M,
  STORE,
  assertEverySampleInPrometheusOnce,
  collectorMetrics,
  drainAndStopAgents,
  metricLines,
  metricSum,
  startRemoteWriteSystem,
} from './helpers/remote-write-e2e';
import { createToken, startAgent, waitFor, type TestAgent } from './helpers/system';

// Real processes and waits on the store: longer than .taprc's per-file timeout.
t.setTimeout(180_000);
const skip = skipWithoutPrometheus(t);

t.test('a client certificate from another CA is refused, reported once, and nothing is lost', { skip, timeout: 150_000 }, async (t) => {
  let pair = { certFile: '', keyFile: '' };
  const { prometheus, collector, paths } = await startRemoteWriteSystem(t, {
    store: (p) => {
      pair = foreignClientPair(path.join(p.dir, 'store-tls'), 'store');
      return { cert_file: pair.certFile, key_file: pair.keyFile };
    },
  });
  const nodes = ['cert-a', 'cert-b'];
  const agents: TestAgent[] = [];
  for (const node of nodes) {
    const { token } = await createToken(collector.cliConfig, node);
    agents.push(await startAgent(t, { url: collector.agentUrl, token, caFile: collector.caFile, node, intervalMs: 50 }));
  }

  await waitFor('agents acknowledged while the store refuses', () => agents.every((a) => a.source!.cycles > 40 && a.agent.pendingBatches() <= 3), 20_000);
  const refusalLines = (): string[] =>
    collector.logs.filter((l) => l.includes(STORE) && /certificate|tls|handshake/i.test(l) && /"level":(40|50)|"level":"(warn|error)"/.test(l));
  await waitFor('a log line about the refused certificate', () => refusalLines().length > 0, 10_000);
  // Retries go on (30 ms doubling to 5 s) for several more seconds: still one line.
  await new Promise((r) => setTimeout(r, 6000));
  t.equal(refusalLines().length, 1, `one log line for the refusal, however many retries: ${refusalLines()[0]}`);
  t.notMatch(refusalLines()[0], /PRIVATE KEY/, 'no key material in the log');
  t.equal(refusalLines()[0].match(/"store":/g)?.length, 1, 'the line names its store once');

  const metrics = await collectorMetrics(collector);
  t.equal(metricSum(metrics, M.forwarded, { store: STORE }), 0, 'nothing was forwarded');
  const failures = metricLines(metrics, M.requests).filter((l) => l.includes(`store="${STORE}"`) && !/outcome="(success|ok|2xx)"/.test(l) && !/ 0$/.test(l));
  t.ok(failures.length > 0, `the refusals show in ${M.requests}: ${failures.join('; ')}`);
  t.ok(metricSum(metrics, M.retries, { store: STORE }) > 0, 'and as retries');
  t.ok(metricSum(metrics, M.queueSamples, { store: STORE }) > 0, 'the samples wait in the queue');
  t.equal(metricSum(metrics, M.dropped, { store: STORE }), 0, 'none is dropped');
  t.same(await prometheus.query('count({job="ximp"})'), [], 'Prometheus has nothing');

  // The operator puts a pair of the right CA in place and sends SIGHUP.
  const good = issueClientPair(paths.dataDir, path.join(paths.dir, 'good-tls'), 'store');
  fs.copyFileSync(good.certFile, pair.certFile);
  fs.copyFileSync(good.keyFile, pair.keyFile);
  collector.collector.reloadCertificates();

  await waitFor('the queue drains', async () => metricSum(await collectorMetrics(collector), M.queueSamples, { store: STORE }) === 0 && (await prometheus.query('count({job="ximp"})')).length > 0, 30_000, 250);
  const produced = await drainAndStopAgents(agents, agents.map((a) => a.source!));
  await assertEverySampleInPrometheusOnce(t, prometheus, nodes, produced, 'ximp_test_cycle');
  const after = await collectorMetrics(collector);
  t.equal(metricSum(after, M.dropped, { store: STORE }), 0, 'nothing was dropped on the way');
});
