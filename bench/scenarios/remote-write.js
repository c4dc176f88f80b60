'use strict';
/**
 * Forwarding to Prometheus, the figures the bench has printed since remote write landed: the same
 * load (1,000 agents x 200 samples every 1 s; BENCH_RW_AGENTS, BENCH_RW_SAMPLES) once without a
 * remote store and once with the collector forwarding every batch to a real Prometheus over mTLS
 * (store.remote_write, `shards` from BENCH_SHARDS), sampling the queue depth every second and
 * counting what Prometheus appended; then how long the backlog takes to drain. Skipped without
 * Debian's `prometheus`.
 */
const path = require('node:path');
const fs = require('node:fs');
const remoteWrite = require('../remote-write-e2e');
const { withCollector } = require('../load/collector-under-load');
const { startLoad } = require('../load/generator');
const { measureWindow, round } = require('../load/measure-window');
const { freePort } = require('../lib/collector-process');
const { procUsage, peakRss } = require('../lib/proc-usage');

async function forwardingRun(ctx, o) {
  let prometheus = null;
  const beforeStart = async (prepared, dir) => {
    prometheus = await remoteWrite.startPrometheus(path.join(dir, 'prometheus'), prepared.dataDir, await freePort());
    const shards = ctx.env.BENCH_SHARDS ? [`      shards: ${Number(ctx.env.BENCH_SHARDS)}`] : [];
    fs.appendFileSync(prepared.configFile, ['store:', '  remote_write:', '    - name: bench', `      url: ${prometheus.writeUrl}`, ...shards, ''].join('\n'));
  };
  try {
    return await withCollector(ctx, 'remote-write', { agents: o.agents, beforeStart }, async ({ prepared, collector, url }) => {
      const readMetrics = remoteWrite.collectorMetricsReader(prepared.cliConfig, prepared.ports.api, prepared.ca);
      const queued = async () => remoteWrite.metricSum(await readMetrics(), 'ximp_collector_remote_write_queue_samples', { store: 'bench' });
      const gen = await startLoad({ url, ca: prepared.ca, tokens: prepared.tokens, count: o.agents, samples: o.samples });
      let drainSeconds = null;
      let window;
      let prom;
      const queueDepth = [];
      try {
        await gen.waitFor((s) => s.firstAcked >= o.agents, o.connectTimeoutSeconds * 1000, 500);
        await new Promise((r) => setTimeout(r, o.warmupSeconds * 1000));
        const p0 = { cpu: procUsage(prometheus.pid).cpuSeconds, appended: await prometheus.samplesAppended() };
        const t0 = performance.now();
        let sampling = true;
        const depthSampler = (async () => {
          while (sampling) {
            const at = (performance.now() - t0) / 1000;
            queueDepth.push({ at: round(at, 1), samples: await queued().catch(() => null) });
            await new Promise((r) => setTimeout(r, 1000));
          }
        })();
        window = await measureWindow({ pid: collector.pid, gen, seconds: o.seconds });
        sampling = false;
        await depthSampler;
        const elapsed = (performance.now() - t0) / 1000;
        const p1 = { cpu: procUsage(prometheus.pid).cpuSeconds, appended: await prometheus.samplesAppended() };
        prom = { samplesPerSecond: Math.round((p1.appended - p0.appended) / elapsed), samples: p1.appended - p0.appended, prometheusCpuPercent: round(((p1.cpu - p0.cpu) / elapsed) * 100) };
      } finally {
        await gen.stop();
      }
      // How long the backlog left at the end of the window takes to reach Prometheus.
      const drainStart = performance.now();
      while (performance.now() - drainStart < o.drainTimeoutSeconds * 1000) {
        if ((await queued()) === 0) {
          drainSeconds = round((performance.now() - drainStart) / 1000, 1);
          break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      return { ...window, ...prom, queueDepth, drainSeconds, writes400: await prometheus.writes400(), collectorPeakRssBytes: peakRss(collector.pid) };
    });
  } finally {
    await prometheus?.stop();
  }
}

module.exports = {
  id: 'remote-write',
  title: 'Forwarding to Prometheus over mTLS (store.remote_write)',
  async run(ctx) {
    if (remoteWrite.prometheusBinary() === null) {
      ctx.log("skipped: install Debian's package `prometheus`");
      return { figures: [], details: { skipped: 'prometheus not installed' } };
    }
    const o = {
      agents: Number(ctx.env.BENCH_RW_AGENTS ?? (ctx.quick ? 4 : 1000)),
      samples: Number(ctx.env.BENCH_RW_SAMPLES ?? (ctx.quick ? 50 : 200)),
      warmupSeconds: ctx.quick ? 1 : 10,
      seconds: ctx.quick ? 3 : 30,
      connectTimeoutSeconds: ctx.quick ? 30 : 180,
      drainTimeoutSeconds: ctx.quick ? 30 : 120,
    };
    ctx.log(`without a remote store: ${o.agents} agents x ${o.samples} samples every 1 s`);
    const base = await withCollector(ctx, 'remote-write-base', { agents: o.agents }, async ({ prepared, collector, url }) => {
      const gen = await startLoad({ url, ca: prepared.ca, tokens: prepared.tokens, count: o.agents, samples: o.samples });
      try {
        await gen.waitFor((s) => s.firstAcked >= o.agents, o.connectTimeoutSeconds * 1000, 500);
        await new Promise((r) => setTimeout(r, o.warmupSeconds * 1000));
        return await measureWindow({ pid: collector.pid, gen, seconds: o.seconds });
      } finally {
        await gen.stop();
      }
    });
    ctx.log(`forwarding to Prometheus (shards ${ctx.env.BENCH_SHARDS ?? 'default'})`);
    const e2e = await forwardingRun(ctx, o);
    // The forwarder's cost: the collector's extra CPU with a remote store, per million samples forwarded.
    const extraCpu = e2e.collectorCpuSeconds - (base.collectorCpuSeconds * e2e.elapsedSeconds) / base.elapsedSeconds;
    const depths = e2e.queueDepth.map((d) => d.samples).filter((d) => d !== null);
    const forwarderCpu = e2e.samples > 0 ? round((extraCpu / e2e.samples) * 1e6, 2) : null;
    return {
      figures: [
        { id: 'acked_samples_per_second', label: 'acknowledged samples/s while forwarding', value: e2e.ackedSamplesPerSecond, unit: 'samples/s', note: `without a remote store ${base.ackedSamplesPerSecond.toLocaleString('en-US')}/s` },
        { id: 'into_prometheus_per_second', label: 'samples/s appended by Prometheus', value: e2e.samplesPerSecond, unit: 'samples/s' },
        { id: 'ack_p99', label: 'ack latency p99 while forwarding', value: e2e.ackP99Ms, unit: 'ms', note: `p50 ${e2e.ackP50Ms} ms; without a remote store p99 ${base.ackP99Ms} ms` },
        { id: 'queue_depth_max', label: 'forwarding queue depth, max over the window', value: depths.length ? Math.max(...depths) : null, unit: 'samples' },
        { id: 'drain_seconds', label: 'backlog drained after the agents stopped', value: e2e.drainSeconds, unit: 's', note: e2e.drainSeconds === null ? `not within ${o.drainTimeoutSeconds} s` : undefined },
        { id: 'forwarder_cpu_per_million', label: 'forwarder CPU per million samples (collector CPU over the run without a remote store)', value: forwarderCpu, unit: 'core-s', note: `collector ${e2e.collectorCpuPercent} % of a core (without a remote store ${base.collectorCpuPercent} %)` },
        { id: 'prometheus_cpu', label: 'Prometheus CPU (same machine)', value: e2e.prometheusCpuPercent, unit: '% of a core' },
        { id: 'remote_write_400s', label: 'remote-write requests Prometheus answered 400', value: e2e.writes400, unit: 'requests' },
      ],
      details: { base, forwarding: e2e },
    };
  },
};
