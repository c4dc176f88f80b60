'use strict';
/**
 * 10,000 concurrent idle TLS agents (Hello done, pings answered, no batches; BENCH_IDLE_AGENTS):
 * the collector's RSS once all are connected and a ping period (10 s) and more went by, and what
 * one connection costs over the collector's RSS before any connected.
 */
const { withCollector } = require('../load/collector-under-load');
const { connectIdleFleet } = require('../load/idle-fleet');
const { procUsage, peakRss } = require('../lib/proc-usage');

const MB = 1e6;

module.exports = {
  id: 'idle-agents',
  title: 'Idle agents: collector RSS with 10,000 concurrent TLS agents',
  async run(ctx) {
    const count = Number(ctx.env.BENCH_IDLE_AGENTS ?? (ctx.quick ? 20 : 10_000));
    const settleSeconds = ctx.quick ? 1 : 15;
    const r = await withCollector(ctx, 'idle-agents', { agents: count }, async (c) => {
      const before = procUsage(c.collector.pid).rssBytes;
      const { gen, connected, connectSeconds } = await connectIdleFleet(ctx, c, { count, timeoutSeconds: ctx.quick ? 30 : Number(ctx.env.BENCH_CONNECT_SECONDS ?? 600) });
      try {
        await new Promise((r) => setTimeout(r, settleSeconds * 1000));
        const snap = await gen.snapshot();
        const after = procUsage(c.collector.pid);
        return {
          agents: count,
          connected: snap.connected,
          connectedAtFirst: connected,
          connectSeconds: Number(connectSeconds.toFixed(1)),
          collectorRssBeforeBytes: before,
          collectorRssBytes: after.rssBytes,
          collectorPeakRssBytes: peakRss(c.collector.pid),
          perConnectionKB: snap.connected > 0 ? Number(((after.rssBytes - before) / snap.connected / 1000).toFixed(1)) : null,
          generatorRssBytes: process.memoryUsage().rss,
          closesByCode: snap.closesByCode,
          errorMessages: snap.errorMessages,
        };
      } finally {
        await gen.stop();
      }
    });
    return {
      figures: [
        {
          id: 'collector_rss',
          label: `collector RSS with ${r.connected.toLocaleString('en-US')} idle TLS agents`,
          value: Math.round(r.collectorRssBytes / MB),
          unit: 'MB',
          target: { op: '<', value: 600, text: '< 600 MB' },
          note: `${Math.round(r.collectorRssBeforeBytes / MB)} MB before they connected; peak ${Math.round(r.collectorPeakRssBytes / MB)} MB; all connected in ${r.connectSeconds} s`,
        },
        { id: 'per_connection', label: 'collector RSS per idle connection', value: r.perConnectionKB, unit: 'kB', anchor: 'ws ~35 KB per idle TLS connection' },
      ],
      details: r,
    };
  },
};
