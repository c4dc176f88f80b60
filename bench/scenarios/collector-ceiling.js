'use strict';
/**
 * The collector's ceiling: 1,000 agents x 1,200 samples every 1 s (offered 1,200,000 samples/s,
 * a fifth above the 1,000,000/s target: offered exactly the target, a collector that keeps up
 * shows a hair below it, the window's edges) over TLS 1.3, 20 s of warm-up once every agent
 * streams, 30 s measured. An agent keeps at most 8 batches unacknowledged and skips (and counts)
 * a send beyond that, so a collector below the offered rate shows its ceiling as the acknowledged
 * rate. BENCH_CEILING_AGENTS and
 * BENCH_CEILING_SAMPLES change the load; BENCH_CEILING_CONNECT_SECONDS (300) how long agents may take
 * to stream before the window is measured anyway.
 */
const { withCollector } = require('../load/collector-under-load');
const { steadyLoad } = require('../load/steady-load');
const { mib } = require('../lib/stats');

module.exports = {
  id: 'collector-ceiling',
  title: 'Collector ceiling: acknowledged samples/s at 1,000 agents x 1,200 samples/s',
  async run(ctx) {
    const agents = Number(ctx.env.BENCH_CEILING_AGENTS ?? (ctx.quick ? 4 : 1000));
    const samples = Number(ctx.env.BENCH_CEILING_SAMPLES ?? (ctx.quick ? 200 : 1200));
    const timeline = {};
    const r = await withCollector(ctx, 'collector-ceiling', { agents, timeline }, (c) =>
      steadyLoad(ctx, c, { agents, samples, warmupSeconds: ctx.quick ? 1 : 20, seconds: ctx.quick ? 3 : 30, connectTimeoutSeconds: ctx.quick ? 30 : Number(ctx.env.BENCH_CEILING_CONNECT_SECONDS ?? 300) }),
    );
    if (ctx.env.BENCH_COLLECTOR_NODE_ARGS?.includes('--cpu-prof')) {
      const fromEnd = ((timeline.collectorStoppedAt - r.startedAt) / 1000).toFixed(1);
      const toEnd = ((timeline.collectorStoppedAt - r.endedAt) / 1000).toFixed(1);
      ctx.log(`the measured window in the profile: node bench/load/profile-window.js PROFILE ${fromEnd} ${toEnd} WINDOW.cpuprofile`);
      r.profileWindowFromEndSeconds = Number(fromEnd);
      r.profileWindowToEndSeconds = Number(toEnd);
    }
    const saturated = r.skippedBatchesPerSecond > 0 || r.ackedSamplesPerSecond < 0.95 * r.offeredSamplesPerSecond;
    ctx.log(`collector RSS ${mib(r.collectorRssBytes)} (peak ${mib(r.collectorPeakRssBytes)}); ${saturated ? 'the collector is the limit (batches skipped or unacknowledged)' : 'the collector kept up with the offered load'}`);
    return {
      figures: [
        {
          id: 'acked_samples_per_second',
          label: 'acknowledged samples/s (stored durably)',
          value: r.ackedSamplesPerSecond,
          unit: 'samples/s',
          target: { op: '>=', value: 1_000_000, text: '≥ 1,000,000/s' },
          anchor: 'Netdata parent ~500k/s per core; Mimir distributor 25k/s per core',
          // Acks above what was sent in the window are a backlog from before it being worked off.
          note: `offered ${r.offeredSamplesPerSecond.toLocaleString('en-US')}/s by ${r.streaming}/${agents} streaming agents, sent ${Math.round(r.sentBatchesPerSecond * samples).toLocaleString('en-US')}/s in the window${saturated ? '; collector saturated' : ''}`,
        },
        {
          id: 'collector_cpu_per_million',
          label: 'collector CPU per million samples',
          value: r.collectorCoreSecondsPerMillion,
          unit: 'core-s',
          target: { op: '<=', value: 1.0, text: '≤ 1.0 core-s' },
          anchor: 'Netdata ~2 core-s',
          note: `collector ${r.collectorCpuPercent} % of one core (all threads); main thread on a CPU ${r.collectorMainThreadOnCpuPercent} %, waiting for one ${r.collectorMainThreadWaitingForCpuPercent} % of the time`,
        },
        { id: 'ack_p99', label: 'ack latency p99', value: r.ackP99Ms, unit: 'ms', note: `p50 ${r.ackP50Ms} ms` },
        { id: 'collector_rss', label: 'collector RSS at the end of the window', value: Math.round(r.collectorRssBytes / 1048576), unit: 'MiB', note: `peak ${Math.round((r.collectorPeakRssBytes ?? 0) / 1048576)} MiB` },
        { id: 'generator_cpu', label: 'load generator CPU (same machine)', value: r.generatorCpuPercent, unit: '% of a core', note: `${r.generatorThreads} worker threads` },
      ],
      details: r,
    };
  },
};
