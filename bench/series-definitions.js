#!/usr/bin/env node
'use strict';
/**
 * Series definitions per second through the metric store, the cost a connecting fleet puts on the
 * collector: N nodes each define S series (node_exporter-like names and labels) and store one
 * batch that uses them, first as new series, then known (every node reconnects to the same
 * store), then known after a restart (a fresh store on the same file). Prints wall-clock and
 * CPU definitions/s for each phase (the CPU figure is the steadier one on a shared machine).
 * Asserts nothing. Run after `npm run build`:
 *   node bench/series-definitions.js [nodes=200] [series=500]
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { openDatabase } = require('../packages/collector/dist/store/database.js');
const { MetricStore } = require('../packages/collector/dist/store/metric-store.js');
const { SeriesHold } = require('../packages/collector/dist/store/series-hold.js');
const { nodeExporterSeries } = require('./lib/node-exporter-series');

const NODES = Number(process.argv[2] || 200);
const SERIES = Number(process.argv[3] || 500);

const DEFS = nodeExporterSeries(SERIES);
let sequence = 1;

async function phase(store, label, holders) {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const appends = [];
  for (let n = 0; n < NODES; n++) {
    const node = `node-${String(n).padStart(5, '0')}`;
    const holder = new SeriesHold();
    const ids = new Uint32Array(SERIES);
    for (let i = 0; i < SERIES; i++) ids[i] = store.resolveSeries(node, DEFS[i].name, DEFS[i].labels, holder);
    holders.push(holder);
    appends.push(store.append({ node, streamId: 's', sequence: sequence++, timestampMs: Date.now(), seriesIds: ids, values: new Float64Array(SERIES) }));
    if (appends.length >= 50) await Promise.all(appends.splice(0));
  }
  await Promise.all(appends);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  const n = NODES * SERIES;
  console.log(`${label}: ${NODES} x ${SERIES} = ${n} definitions in ${seconds.toFixed(2)} s (${Math.round(n / seconds)}/s), CPU ${cpu.toFixed(2)} s (${Math.round(n / cpu)}/CPU-s)`);
}

(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-bench-series-'));
  try {
    let db = openDatabase(dir);
    let store = new MetricStore(db, { seriesLimits: { maxNewSeriesPerMinute: Number.MAX_SAFE_INTEGER } });
    await store.start();
    let holders = [];
    await phase(store, 'new', holders);
    for (const h of holders) store.releaseSeries(h);
    holders = [];
    await phase(store, 'known', holders);
    for (const h of holders) store.releaseSeries(h);
    await store.stop();
    db.close();
    db = openDatabase(dir);
    store = new MetricStore(db);
    await store.start();
    await phase(store, 'known after a restart', []);
    await store.stop();
    db.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
