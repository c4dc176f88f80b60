/**
 * The pieces the end-to-end remote-write tests share: a collector whose `store.remote_write`
 * points at a real Prometheus (both trusting the collector's CA), sources whose every sample can
 * be accounted for in Prometheus, and readers of the collector's /metrics.
 */
import type { Test } from 'tap';
import { adminApi } from './admin-api';
import { TestPrometheus, metricSum, startPrometheus } from './prometheus';

export { metricSum };
import { prepareCollector, startPreparedCollector, waitFor, writeCollectorConfig, type CountingSource, type TestAgent, type TestCollector, type TestCollectorPaths } from './system';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export const STORE = 'prom';

/** The `store:` block of collector.yaml with one remote store named `prom`. */
export function remoteWriteYaml(url: string, extra: Record<string, string | number | boolean> = {}): string {
  return [
    'store:',
    '  remote_write:',
    `    - name: ${STORE}`,
    `      url: ${url}`,
    ...Object.entries(extra).map(([k, v]) => `      ${k}: ${String(v)}`),
  ].join('\n');
}

export interface RemoteWriteSystem {
  prometheus: TestPrometheus;
  collector: TestCollector;
}

/**
 * Init a collector, start a Prometheus trusting its CA, then start the collector (in this process)
 * forwarding to it. `store` adds keys to the store entry; `ports` fixes the listeners.
 */
export async function startRemoteWriteSystem(
  t: Teardown,
  o: {
    /** Keys of the store entry; a function gets the initialised paths (to write files there first). */
    store?: Record<string, string | number | boolean> | ((paths: TestCollectorPaths) => Record<string, string | number | boolean>);
    /** The URL the collector writes to, when something stands between it and Prometheus. */
    url?: (prometheus: TestPrometheus, paths: TestCollectorPaths) => Promise<string>;
    extraYaml?: string;
  } = {},
): Promise<RemoteWriteSystem & { paths: TestCollectorPaths }> {
  const paths = prepareCollector(t);
  const prometheus = await startPrometheus(t, { collectorDataDir: paths.dataDir });
  const store = typeof o.store === 'function' ? o.store(paths) : o.store;
  const url = o.url ? await o.url(prometheus, paths) : prometheus.writeUrl;
  writeCollectorConfig(paths.configFile, { agents: 0, api: 0 }, [remoteWriteYaml(url, store), o.extraYaml ?? ''].join('\n'));
  const collector = await startPreparedCollector(t, paths);
  return { prometheus, collector, paths };
}

/** A source of `width` series `ximp_test_wide{k="0".."width-1"}`, each valued with the cycle number. */
export function wideSource(width: number): CountingSource {
  const source = {
    name: 'wide',
    cycles: 0,
    paused: false,
    async collect() {
      if (source.paused) return [];
      source.cycles++;
      return Array.from({ length: width }, (_, k) => ({ name: 'ximp_test_wide', labels: { k: String(k) }, value: source.cycles }));
    },
  };
  return source;
}

/** Every line of metric `name` (for messages). */
export function metricLines(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

/** GET /metrics as the admin of the test's CLI config. */
export async function collectorMetrics(c: { cliConfig: string; caFile: string; apiPort: number }): Promise<string> {
  const res = await (await adminApi(c))('GET', '/metrics');
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.body;
}

export const M = {
  queueSamples: 'ximp_collector_remote_write_queue_samples',
  queueBytes: 'ximp_collector_remote_write_queue_bytes',
  queueFull: 'ximp_collector_remote_write_queue_full',
  forwarded: 'ximp_collector_remote_write_samples_forwarded_total',
  requests: 'ximp_collector_remote_write_requests_total',
  retries: 'ximp_collector_remote_write_retries_total',
  dropped: 'ximp_collector_remote_write_dropped_samples_total',
} as const;

/**
 * Every sample each agent's source produced is in Prometheus exactly once: for each node, each
 * of `seriesPerNode` series of `metric` holds `cycles` samples valued 1..cycles (count and sum
 * over the last hour; Prometheus keeps one sample per timestamp). Polls until it holds.
 */
export async function assertEverySampleInPrometheusOnce(
  t: Test,
  prometheus: TestPrometheus,
  nodes: readonly string[],
  produced: readonly number[],
  metric: string,
  seriesPerNode = 1,
  timeoutMs = 60_000,
): Promise<void> {
  for (const [i, node] of nodes.entries()) {
    const n = produced[i];
    const selector = `${metric}{instance="${node}",job="ximp"}`;
    let last = '';
    try {
      await waitFor(
        `${node}: ${n} samples per series in Prometheus`,
        async () => {
          const counts = await prometheus.query(`count_over_time(${selector}[1h])`);
          const sums = await prometheus.query(`sum_over_time(${selector}[1h])`);
          last = `${counts.length} series, counts ${[...new Set(counts.map((c) => c.value[1]))].join(',')}, sums ${[...new Set(sums.map((c) => c.value[1]))].join(',')}`;
          return (
            counts.length === seriesPerNode &&
            counts.every((c) => Number(c.value[1]) === n) &&
            sums.every((s) => Number(s.value[1]) === (n * (n + 1)) / 2)
          );
        },
        timeoutMs,
        500,
      );
      t.pass(`${node}: every one of ${n} samples of ${seriesPerNode} series is in Prometheus exactly once`);
    } catch {
      t.fail(`${node}: expected ${seriesPerNode} series with ${n} samples valued 1..${n}; Prometheus has ${last}`);
    }
  }
}

/**
 * Pauses the sources, waits until the collector has acknowledged every batch the agents spooled,
 * then stops them; answers what each produced. Stopping earlier would leave the last batches in
 * a spool (kept for the next start, never forwarded here) when acks lag on a loaded machine.
 */
export async function drainAndStopAgents(agents: readonly TestAgent[], sources: readonly CountingSource[], timeoutMs = 60_000): Promise<number[]> {
  for (const s of sources) s.paused = true;
  const produced = sources.map((s) => s.cycles);
  // A paused source's cycles still spool an empty batch each: nothing pending means everything
  // before the pause is acknowledged.
  await waitFor('every batch acknowledged', () => agents.every((a) => a.agent.pendingBatches() === 0), timeoutMs, 20);
  await Promise.all(agents.map((a) => a.stop()));
  return produced;
}
