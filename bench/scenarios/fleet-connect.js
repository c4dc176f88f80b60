'use strict';
/**
 * A fleet connecting while others stream: 500 agents stream 200 samples every 1 s; then 10,000
 * agents connect at once (handshakes bounded per generator thread, 50 per source address), each
 * sending its first batch (500 series defined) right after the Welcome and one every 30 s after
 * (BENCH_FLEET_INTERVAL_MS). Measured: seconds from the start until every one of the 10,000 had
 * its first batch acknowledged. Run twice on the same collector: first connection (new series),
 * then, after all closed, reconnection on the same streams (known series).
 */
const { withCollector } = require('../load/collector-under-load');
const { startLoad } = require('../load/generator');
const { round } = require('../load/measure-window');
const { procUsage, peakRss } = require('../lib/proc-usage');

const absNow = () => performance.timeOrigin + performance.now();

async function phase(ctx, { prepared, collector, url }, stream, o) {
  await stream.snapshot({ resetLatency: true });
  const s0 = await stream.snapshot();
  const c0 = procUsage(collector.pid);
  const gen = await startLoad({ url, ca: prepared.ca, tokens: prepared.tokens, first: 0, count: o.fleet, samples: o.series, intervalMs: o.intervalMs, firstBatchAtOnce: true, streamPrefix: 'fleet' });
  const t0 = absNow();
  let allConnectedAt = null;
  let lastLog = t0;
  let snap;
  try {
    for (;;) {
      snap = await gen.snapshot();
      const now = absNow();
      if (allConnectedAt === null && snap.connected >= o.fleet) allConnectedAt = now;
      if (snap.firstAcked >= o.fleet || now - t0 > o.timeoutSeconds * 1000) break;
      if (now - lastLog >= 5000) {
        ctx.log(`${o.name}: ${snap.connected} connected, ${snap.firstAcked} first batches acknowledged after ${((now - t0) / 1000).toFixed(0)} s`);
        lastLog = now;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    const c1 = procUsage(collector.pid);
    const s1 = await stream.snapshot();
    const elapsed = (absNow() - t0) / 1000;
    await gen.stop();
    o.result = {
      done: snap.firstAcked >= o.fleet,
      firstAcked: snap.firstAcked,
      seconds: snap.firstAcked >= o.fleet ? round((snap.lastFirstAckAt - t0) / 1000, 1) : null,
      allConnectedSeconds: allConnectedAt === null ? null : round((allConnectedAt - t0) / 1000, 1),
      collectorCpuPercent: round(((c1.cpuNs - c0.cpuNs) / 1e9 / elapsed) * 100),
      collectorPeakRssBytes: peakRss(collector.pid),
      streamersAckP99Ms: round(s1.latency(99)),
      streamersAckedSamplesPerSecond: Math.round((s1.ackedSamples - s0.ackedSamples) / elapsed),
      errors: snap.errors,
      errorMessages: snap.errorMessages,
      closesByCode: snap.closesByCode,
    };
  }
  ctx.log(`${o.name}: ${o.result.firstAcked}/${o.fleet} first batches acknowledged${o.result.done ? ` in ${o.result.seconds} s` : ` (not all within ${o.timeoutSeconds} s)`}; all connected ${o.result.allConnectedSeconds ?? '—'} s`);
  return o.result;
}

module.exports = {
  id: 'fleet-connect',
  title: 'A fleet of 10,000 agents (re)connecting, 500 series each, while 500 others stream',
  async run(ctx) {
    const fleet = Number(ctx.env.BENCH_FLEET_AGENTS ?? (ctx.quick ? 20 : 10_000));
    const streamers = ctx.quick ? 4 : 500;
    const series = ctx.quick ? 50 : 500;
    const intervalMs = Number(ctx.env.BENCH_FLEET_INTERVAL_MS ?? 30_000);
    const timeoutSeconds = ctx.quick ? 30 : Number(ctx.env.BENCH_CONNECT_SECONDS ?? 600);
    const details = await withCollector(ctx, 'fleet-connect', { agents: fleet + streamers }, async (c) => {
      const stream = await startLoad({ url: c.url, ca: c.prepared.ca, tokens: c.prepared.tokens, first: fleet, count: streamers, samples: 200, intervalMs: 1000 });
      try {
        const ready = await stream.waitFor((s) => s.firstAcked >= streamers, 120_000, 500);
        ctx.log(`${ready.snap.firstAcked}/${streamers} agents streaming 200 samples/s each; ${fleet} agents connect now`);
        const common = { fleet, series, intervalMs, timeoutSeconds };
        const first = await phase(ctx, c, stream, { ...common, name: 'first connection' });
        const again = await phase(ctx, c, stream, { ...common, name: 'reconnection' });
        return { fleet, streamers, series, intervalMs, first, again };
      } finally {
        await stream.stop();
      }
    });
    const figure = (id, label, r) => ({
      id,
      label,
      value: r.seconds,
      unit: 's',
      target: { op: '<', value: 30, text: '< 30 s' },
      note: r.done
        ? `all connected after ${r.allConnectedSeconds} s; streamers' ack p99 ${r.streamersAckP99Ms} ms meanwhile`
        : `${r.firstAcked}/${fleet} within ${timeoutSeconds} s`,
    });
    return {
      figures: [
        figure('first_connect_seconds', `${fleet.toLocaleString('en-US')} agents connect, ${series} new series each: all first batches acknowledged`, details.first),
        figure('reconnect_seconds', `the same agents reconnect (series known): all first batches acknowledged`, details.again),
      ],
      details,
    };
  },
};
