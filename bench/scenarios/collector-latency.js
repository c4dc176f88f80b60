'use strict';
/**
 * Ack latency below the ceiling: 200,000 samples/s (BENCH_LATENCY_RATE), once in 1,000-sample
 * batches (200 agents) and once in 200-sample batches (1,000 agents), each on a fresh collector:
 * ack p50/p99 and the collector's CPU per million samples. 10 s warm-up, 30 s measured.
 */
const { withCollector } = require('../load/collector-under-load');
const { steadyLoad } = require('../load/steady-load');

module.exports = {
  id: 'collector-latency',
  title: 'Collector ack latency at 200,000 samples/s (half the ceiling or below)',
  async run(ctx) {
    const rate = Number(ctx.env.BENCH_LATENCY_RATE ?? (ctx.quick ? 2000 : 200_000));
    const figures = [];
    const details = {};
    for (const samples of [1000, 200]) {
      const agents = Math.max(1, Math.round(rate / samples));
      const r = await withCollector(ctx, `collector-latency-${samples}`, { agents }, (c) =>
        steadyLoad(ctx, c, { agents, samples, warmupSeconds: ctx.quick ? 1 : 10, seconds: ctx.quick ? 3 : 30, connectTimeoutSeconds: ctx.quick ? 30 : 180 }),
      );
      details[`batch${samples}`] = r;
      const load = `${agents} agents x ${samples} samples/s, ${r.ackedSamplesPerSecond.toLocaleString('en-US')} acknowledged/s`;
      figures.push(
        {
          id: `ack_p99_batch${samples}`,
          label: `ack latency p99, ${samples}-sample batches`,
          value: r.ackP99Ms,
          unit: 'ms',
          target: { op: '<', value: 50, text: '< 50 ms' },
          note: `p50 ${r.ackP50Ms} ms; ${load}`,
        },
        {
          id: `cpu_per_million_batch${samples}`,
          label: `collector CPU per million samples, ${samples}-sample batches`,
          value: r.collectorCoreSecondsPerMillion,
          unit: 'core-s',
          target: { op: '<=', value: 1.0, text: '≤ 1.0 core-s' },
          anchor: 'Netdata ~2 core-s',
          note: `collector ${r.collectorCpuPercent} % of one core; generator ${r.generatorCpuPercent} %`,
        },
      );
    }
    return { figures, details };
  },
};
