/**
 * A store answering 400 to one request: that request's samples are dropped and counted (with the
 * store's message logged), and the requests after it go on into Prometheus. The 400 comes from a
 * small mTLS proxy in front of the real Prometheus that refuses the fifth request and relays the
 * rest.
 */
import t from 'tap';
import type { Test } from 'tap';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { uncompress } from 'snappyjs';
import { WriteRequestType } from '../packages/collector/src/store/remote-write/write-request';
import { collectorCa, httpsRequest, skipWithoutPrometheus, type TestPrometheus } from './helpers/prometheus';
import { M, STORE, collectorMetrics, drainAndStopAgents, metricSum, startRemoteWriteSystem } from './helpers/remote-write-e2e';
import { createToken, startAgent, waitFor, type TestAgent, type TestCollectorPaths } from './helpers/system';

// Real processes and waits on the store: longer than .taprc's per-file timeout.
t.setTimeout(180_000);
const skip = skipWithoutPrometheus(t);
const REFUSE_REQUEST = 5;
const STORE_MESSAGE = 'refused by the test store: sample limit for this tenant';

interface DecodedSeries {
  labels: { name: string; value: string }[];
  samples: { value: number; timestamp: number }[];
}

interface RefusingProxy {
  url: string;
  requests: number;
  /** node → values of ximp_test_cycle in the refused request. */
  refused: Map<string, number[]>;
  refusedSamples: number;
}

/** An HTTPS server with the same mTLS rules as Prometheus that refuses one request with 400. */
async function refusingProxy(t: Test, paths: TestCollectorPaths, prometheus: TestPrometheus): Promise<RefusingProxy> {
  const ca = collectorCa(paths.dataDir);
  const server = ca.issue({ commonName: '127.0.0.1', usage: 'server', sans: [{ type: 'ip', value: '127.0.0.1' }] });
  const state: RefusingProxy = { url: '', requests: 0, refused: new Map(), refusedSamples: 0 };
  const proxy = https.createServer(
    { cert: server.certPem, key: server.keyPem, ca: fs.readFileSync(paths.caFile), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const decoded = WriteRequestType.toObject(WriteRequestType.decode(uncompress(body)), { longs: Number }) as { timeseries?: DecodedSeries[] };
        const series = decoded.timeseries ?? [];
        const carriesCycles = series.some((s) => s.labels.some((l) => l.name === '__name__' && l.value === 'ximp_test_cycle'));
        if (carriesCycles && ++state.requests === REFUSE_REQUEST) {
          for (const s of series) {
            state.refusedSamples += s.samples.length;
            const label = (n: string): string | undefined => s.labels.find((l) => l.name === n)?.value;
            if (label('__name__') !== 'ximp_test_cycle') continue;
            const node = label('instance')!;
            state.refused.set(node, [...(state.refused.get(node) ?? []), ...s.samples.map((x) => x.value)]);
          }
          res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`${STORE_MESSAGE}\n`);
          return;
        }
        const headers: Record<string, string> = {};
        for (const h of ['content-type', 'content-encoding', 'x-prometheus-remote-write-version', 'user-agent']) {
          const v = req.headers[h];
          if (typeof v === 'string') headers[h] = v;
        }
        httpsRequest(prometheus.writeUrl, { method: 'POST', headers, body, tls: prometheus.client }).then(
          (answer) => res.writeHead(answer.status).end(answer.body),
          () => res.writeHead(503).end('prometheus unreachable\n'),
        );
      });
    },
  );
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        proxy.closeAllConnections();
        proxy.close(() => resolve());
      }),
  );
  state.url = `https://127.0.0.1:${(proxy.address() as AddressInfo).port}/api/v1/write`;
  return state;
}

t.test('a 400 drops that one request, counted and logged; later requests go on', { skip, timeout: 120_000 }, async (t) => {
  let proxy: RefusingProxy | undefined;
  const { prometheus, collector } = await startRemoteWriteSystem(t, {
    store: { shards: 1, max_samples_per_request: 20 },
    url: async (p, paths) => {
      proxy = await refusingProxy(t, paths, p);
      return proxy.url;
    },
  });
  const nodes = ['bad-a', 'bad-b'];
  const agents: TestAgent[] = [];
  for (const node of nodes) {
    const { token } = await createToken(collector.cliConfig, node);
    agents.push(await startAgent(t, { url: collector.agentUrl, token, caFile: collector.caFile, node, intervalMs: 50 }));
  }
  // Every agent streams for a while (a batch only counts once it was acknowledged), past the refusal.
  await waitFor('the refusal and a few requests after it', () => proxy!.requests > REFUSE_REQUEST + 5 && agents.every((a) => a.source!.cycles > 40), 30_000);
  const produced = await drainAndStopAgents(agents, agents.map((a) => a.source!));
  await waitFor('the queue drains', async () => metricSum(await collectorMetrics(collector), M.queueSamples, { store: STORE }) === 0, 30_000, 250);

  t.ok(proxy!.refusedSamples > 0, `the store refused one request of ${proxy!.refusedSamples} samples`);
  for (const [i, node] of nodes.entries()) {
    const refused = new Set(proxy!.refused.get(node) ?? []);
    const expected = Array.from({ length: produced[i] }, (_, k) => k + 1).filter((v) => !refused.has(v));
    const stored = await prometheus.rawSamples(`ximp_test_cycle{instance="${node}",job="ximp"}`);
    t.same(stored.flatMap((s) => s.values.map((v) => Number(v[1]))), expected, `${node}: every sample but the ${refused.size} refused is in Prometheus once`);
    if (refused.size > 0) t.ok(expected.some((v) => v > Math.max(...refused)), `${node}: samples after the refused request went on`);
  }
  const metrics = await collectorMetrics(collector);
  t.equal(metricSum(metrics, M.dropped, { store: STORE }), proxy!.refusedSamples, 'the dropped samples are counted');
  const lines = collector.logs.filter((l) => l.includes(STORE_MESSAGE));
  t.equal(lines.length, 1, 'one log line carries the store\'s message');
  t.match(lines[0] ?? '', STORE, 'and names the store');
});
