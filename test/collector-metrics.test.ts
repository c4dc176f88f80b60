/**
 * GET /metrics of a running collector moves with what happens: a stored batch bumps the received
 * and stored counters and the ack latency histogram, a live session shows by state, a refused
 * upgrade counts by reason; two collectors in one process each report their own.
 */
import t from 'tap';
import * as fs from 'node:fs';
import { parseMetricsText, type MetricsText } from '../packages/collector/test/helpers/metrics-text';
import { adminApi } from './helpers/admin-api';
import { batchFrame, connectRawAgent, openSession, sendAndWait } from './helpers/raw-agent';
import { createToken, startCollector, type TestCollector } from './helpers/system';

async function scrape(c: TestCollector): Promise<MetricsText & { contentType: string | undefined }> {
  const res = await (await adminApi(c))('GET', '/metrics');
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return { ...parseMetricsText(res.body), contentType: res.headers['content-type'] as string | undefined };
}

t.test('a stored batch, a live session and a refused upgrade show in /metrics; two collectors do not mix', async (t) => {
  const [one, two] = await Promise.all([startCollector(t), startCollector(t)]);
  const ca = fs.readFileSync(one.caFile, 'utf8');
  const { token } = await createToken(one.cliConfig, 'metrics-node');

  const before = await scrape(one);
  t.equal(before.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  t.equal(before.value('ximp_collector_ingest_samples_received_total'), 0);
  t.equal(before.value('ximp_collector_ack_latency_seconds_count'), 0);
  t.ok(before.value('ximp_collector_process_resident_memory_bytes')! > 0, 'process metrics are present');
  t.ok(before.type.has('ximp_collector_nodejs_eventloop_lag_seconds'), 'Node.js metrics are present');

  const { c, next } = await openSession(one.agentUrl, ca, token, 'metrics-node', 'metrics');
  t.teardown(() => c.ws.terminate());
  const defs = [1, 2, 3].map((id) => ({ id, name: 'node_load1', labels: [{ name: 'i', value: String(id) }] }));
  t.equal(await sendAndWait(c, batchFrame(next, defs, [1, 2, 3])), 'ack');
  const refused = await connectRawAgent(one.agentUrl, ca, `${token.slice(0, -4)}AAAA`, 'metrics-node').catch((err: Error) => err);
  t.type(refused, Error, 'a wrong token is refused');

  const after = await scrape(one);
  t.equal(after.value('ximp_collector_ingest_samples_received_total'), 3);
  t.equal(after.value('ximp_collector_ingest_batches_received_total'), 1);
  t.equal(after.value('ximp_collector_ingest_samples_acked_total'), 3);
  t.ok(after.value('ximp_collector_store_samples_stored_total')! >= 3, 'stored (the collector also stores its own up series)');
  t.equal(after.value('ximp_collector_ack_latency_seconds_count'), 1, 'the ack was timed');
  t.ok(after.value('ximp_collector_ack_latency_seconds_sum')! > 0);
  t.equal(after.value('ximp_collector_agent_sessions'), 1);
  t.equal(after.value('ximp_collector_agent_sessions_by_state', { state: 'streaming' }), 1);
  t.equal(after.value('ximp_collector_agents', { state: 'ACTIVE' }), 1);
  t.equal(after.value('ximp_collector_agent_auth_refusals_total', { reason: 'invalid_token' }), 1);

  const other = await scrape(two);
  t.equal(other.value('ximp_collector_ingest_samples_received_total'), 0, 'the other collector saw nothing');
  t.equal(other.value('ximp_collector_ack_latency_seconds_count'), 0);
  t.equal(other.value('ximp_collector_agent_sessions'), 0);
  t.equal(other.value('ximp_collector_agent_auth_refusals_total', { reason: 'invalid_token' }), 0);
});
