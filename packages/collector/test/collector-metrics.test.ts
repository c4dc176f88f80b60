/** The collector's own metrics on prom-client: names, types, values read at scrape time, one registry per instance. */
import t from 'tap';
import { register as globalRegistry } from 'prom-client';
import { CollectorMetrics, type CollectorMetricsSources, type RemoteStoreStats } from '../src/collector-metrics';
import { parseMetricsText } from './helpers/metrics-text';

function sources(over: Partial<CollectorMetricsSources> = {}): CollectorMetricsSources {
  return {
    agentServer: { counters: { samplesReceived: 0 }, sessionCount: () => 0 },
    metricStore: { counters: { samplesStored: 0 } },
    registry: { list: () => [], spoolDrops: () => [] },
    ...over,
  };
}

function store(name: string, over: Partial<RemoteStoreStats> = {}): RemoteStoreStats {
  return {
    name,
    queue: { bytes: 0, samples: 0, oldestAgeMs: null, full: false },
    samplesForwarded: 0,
    requests: {},
    retries: 0,
    droppedSamples: {},
    ...over,
  };
}

t.test('every metric has HELP and TYPE, and the process and Node.js metrics carry the prefix', async (t) => {
  const m = new CollectorMetrics(sources());
  const text = await m.metrics();
  const parsed = parseMetricsText(text);
  t.equal(m.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  for (const [name, type] of [
    ['ximp_collector_ingest_samples_received_total', 'counter'],
    ['ximp_collector_store_samples_stored_total', 'counter'],
    ['ximp_collector_ack_latency_seconds', 'histogram'],
    ['ximp_collector_agent_sessions', 'gauge'],
    ['ximp_collector_agent_sessions_by_state', 'gauge'],
    ['ximp_collector_agent_auth_refusals_total', 'counter'],
    ['ximp_collector_agents', 'gauge'],
    ['ximp_collector_remote_write_queue_bytes', 'gauge'],
    ['ximp_collector_remote_write_request_duration_seconds', 'histogram'],
    ['ximp_collector_process_cpu_seconds_total', 'counter'],
    ['ximp_collector_process_resident_memory_bytes', 'gauge'],
    ['ximp_collector_nodejs_eventloop_lag_seconds', 'gauge'],
    ['ximp_collector_nodejs_heap_size_used_bytes', 'gauge'],
  ]) {
    t.equal(parsed.type.get(name), type, `${name} is a ${type}`);
    t.ok(parsed.help.get(name), `${name} has a HELP line`);
  }
  // Issue 7 names the certificate metrics without the collector prefix; every other one carries it.
  const TLS_METRICS = ['ximp_tls_certificate_expiry_timestamp_seconds', 'ximp_tls_renewal_failures_total'];
  for (const name of parsed.type.keys()) if (!TLS_METRICS.includes(name)) t.match(name, /^ximp_collector_/, `${name} carries the prefix`);
  t.same([...parsed.type.keys()].filter((name) => !name.startsWith('ximp_collector_')), TLS_METRICS, 'only those two');
  t.equal(parsed.value('ximp_collector_ack_latency_seconds_count'), 0);
  t.same(parsed.value('ximp_collector_agent_sessions_by_state', { state: 'streaming' }), 0, 'known session states show at 0');
  t.same(parsed.value('ximp_collector_agent_auth_refusals_total', { reason: 'revoked' }), 0, 'known refusal reasons show at 0');
});

t.test('values are read from the sources at each scrape, and latencies observed land in their histograms', async (t) => {
  const counters = { samplesReceived: 0, batchesAcked: 0 };
  const storeCounters = { samplesStored: 0 };
  const refusals = new Map<string, number>();
  const states = new Map<string, number>();
  const m = new CollectorMetrics(
    sources({
      agentServer: { counters, sessionCount: () => 2, sessionStates: () => states, refusalTotals: () => refusals },
      metricStore: { get counters() { return { ...storeCounters }; } },
    }),
  );
  const before = parseMetricsText(await m.metrics());
  t.equal(before.value('ximp_collector_ingest_samples_received_total'), 0);

  counters.samplesReceived += 12;
  counters.batchesAcked += 1;
  storeCounters.samplesStored += 12;
  states.set('streaming', 1).set('awaiting_hello', 1);
  refusals.set('agent_refused_invalid_token', 3).set('agent_refused_wrong_node', 1).set('agents_connection_refused_per_address', 5);
  m.observeAck(0.004);
  m.observeRemoteWrite('vm', 0.2, 'success');
  m.observeRemoteWrite('vm', 31, 'retry');

  const after = parseMetricsText(await m.metrics());
  t.equal(after.value('ximp_collector_ingest_samples_received_total'), 12);
  t.equal(after.value('ximp_collector_ingest_batches_acked_total'), 1);
  t.equal(after.value('ximp_collector_store_samples_stored_total'), 12);
  t.equal(after.value('ximp_collector_agent_sessions'), 2);
  t.equal(after.value('ximp_collector_agent_sessions_by_state', { state: 'streaming' }), 1);
  t.equal(after.value('ximp_collector_agent_sessions_by_state', { state: 'awaiting_hello' }), 1);
  t.equal(after.value('ximp_collector_agent_auth_refusals_total', { reason: 'invalid_token' }), 3);
  t.equal(after.value('ximp_collector_agent_auth_refusals_total', { reason: 'wrong_node' }), 1);
  t.same(
    after.samples('ximp_collector_agent_auth_refusals_total').filter((s) => s.labels.reason === 'per_address'),
    [],
    'refusals at accept are not auth refusals',
  );
  t.equal(after.value('ximp_collector_ack_latency_seconds_count'), 1);
  t.equal(after.value('ximp_collector_ack_latency_seconds_bucket', { le: '0.005' }), 1);
  t.equal(after.value('ximp_collector_ack_latency_seconds_bucket', { le: '0.0025' }), 0);
  t.equal(after.value('ximp_collector_remote_write_request_duration_seconds_count', { store: 'vm', outcome: 'success' }), 1);
  t.equal(after.value('ximp_collector_remote_write_request_duration_seconds_bucket', { store: 'vm', outcome: 'retry', le: '30' }), 0);
  t.equal(after.value('ximp_collector_remote_write_request_duration_seconds_bucket', { store: 'vm', outcome: 'retry', le: '+Inf' }), 1);
});

t.test('a counter that appears in a source later is shown from the next scrape', async (t) => {
  const counters: Record<string, number> = { batchesAcked: 1 };
  const m = new CollectorMetrics(sources({ agentServer: { counters, sessionCount: () => 0 } }));
  t.equal(parseMetricsText(await m.metrics()).value('ximp_collector_ingest_store_held_total'), undefined);
  counters.storeHeld = 4;
  t.equal(parseMetricsText(await m.metrics()).value('ximp_collector_ingest_store_held_total'), 4);
});

t.test('each remote store shows under its own label, and a store that goes away leaves no stale series', async (t) => {
  let stores = [
    store('prom', {
      queue: { bytes: 4096, samples: 300, oldestAgeMs: 2500, full: true },
      samplesForwarded: 1000,
      samplesAlreadyStored: 40,
      requests: { success: 5, retry: 2, dropped: 1 },
      retries: 2,
      droppedSamples: { bad_request: 40 },
    }),
    store('vm'),
  ];
  const m = new CollectorMetrics(sources({ stores: () => stores }));
  const p = parseMetricsText(await m.metrics());
  t.equal(p.value('ximp_collector_remote_write_queue_bytes', { store: 'prom' }), 4096);
  t.equal(p.value('ximp_collector_remote_write_queue_samples', { store: 'prom' }), 300);
  t.equal(p.value('ximp_collector_remote_write_queue_oldest_age_seconds', { store: 'prom' }), 2.5);
  t.equal(p.value('ximp_collector_remote_write_queue_oldest_age_seconds', { store: 'vm' }), 0, 'an empty queue has no age');
  t.equal(p.value('ximp_collector_remote_write_queue_full', { store: 'prom' }), 1, 'back-pressure while the queue is full');
  t.equal(p.value('ximp_collector_remote_write_queue_full', { store: 'vm' }), 0);
  t.equal(p.value('ximp_collector_remote_write_samples_already_stored_total', { store: 'prom' }), 40);
  t.equal(p.value('ximp_collector_remote_write_samples_forwarded_total', { store: 'prom' }), 1000);
  t.equal(p.value('ximp_collector_remote_write_requests_total', { store: 'prom', outcome: 'success' }), 5);
  t.equal(p.value('ximp_collector_remote_write_requests_total', { store: 'prom', outcome: 'dropped' }), 1);
  t.equal(p.value('ximp_collector_remote_write_retries_total', { store: 'prom' }), 2);
  t.equal(p.value('ximp_collector_remote_write_dropped_samples_total', { store: 'prom', reason: 'bad_request' }), 40);
  t.equal(p.type.get('ximp_collector_remote_write_samples_forwarded_total'), 'counter');
  t.equal(p.type.get('ximp_collector_remote_write_queue_full'), 'gauge');

  stores = [store('vm')];
  const later = parseMetricsText(await m.metrics());
  t.same(later.samples('ximp_collector_remote_write_queue_bytes').map((s) => s.labels.store), ['vm']);
});

t.test('two instances in one process keep their own registries, and the global one stays empty', async (t) => {
  const a = new CollectorMetrics(sources({ agentServer: { counters: { samplesReceived: 5 }, sessionCount: () => 1 } }));
  const b = new CollectorMetrics(sources({ agentServer: { counters: { samplesReceived: 9 }, sessionCount: () => 3 } }));
  a.observeAck(0.01);
  const pa = parseMetricsText(await a.metrics());
  const pb = parseMetricsText(await b.metrics());
  t.equal(pa.value('ximp_collector_ingest_samples_received_total'), 5);
  t.equal(pb.value('ximp_collector_ingest_samples_received_total'), 9);
  t.equal(pa.value('ximp_collector_agent_sessions'), 1);
  t.equal(pb.value('ximp_collector_agent_sessions'), 3);
  t.equal(pa.value('ximp_collector_ack_latency_seconds_count'), 1);
  t.equal(pb.value('ximp_collector_ack_latency_seconds_count'), 0);
  t.same(globalRegistry.getMetricsAsArray(), [], 'nothing registered globally');
});

t.test('certificate expiry and renewal failures per component, read at scrape time', async (t) => {
  let failures = 0;
  const m = new CollectorMetrics(
    sources({
      certificates: () => ({
        expiry: new Map([['ca', 2_000_000_000], ['collector', 1_800_000_000]]),
        renewalFailures: new Map([['ca', 0], ['collector', failures]]),
      }),
    }),
  );
  failures = 3;
  const parsed = parseMetricsText(await m.metrics());
  t.equal(parsed.type.get('ximp_tls_certificate_expiry_timestamp_seconds'), 'gauge');
  t.equal(parsed.type.get('ximp_tls_renewal_failures_total'), 'counter');
  const text = await m.metrics();
  t.match(text, /^ximp_tls_certificate_expiry_timestamp_seconds\{component="collector"\} 1800000000$/m);
  t.match(text, /^ximp_tls_certificate_expiry_timestamp_seconds\{component="ca"\} 2000000000$/m);
  t.match(text, /^ximp_tls_renewal_failures_total\{component="collector"\} 3$/m);
});
