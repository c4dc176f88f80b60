#!/usr/bin/env node
'use strict';
/**
 * What one series row costs SQLite, apart from everything else the collector does for a new
 * series: NODES x 512 rows shaped like node_exporter's (cpu/mode and filesystem labels, as
 * bench/lib/node-exporter-series.js), nodes in random order, written 64 rows per INSERT and 20 nodes per transaction with synchronous=OFF,
 * into a series table with the indexes of VARIANT:
 *   by-name  a plain index on (node, name) and (last_used_ms), as the collector's schema since
 *            version 6
 *   both     UNIQUE (node, name, labels_json) and (last_used_ms), as schemas 2 to 5 had it
 *   unique   the unique index alone
 *   none     no index
 * Prints CPU microseconds per row. Asserts nothing. Run after `npm run build`:
 *   node bench/series-rows.js [nodes=4000] [variant=by-name]
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const Database = require('better-sqlite3');
const { labelsJsonOf } = require('../packages/collector/dist/store/metric-store.js');
const { nodeExporterSeries } = require('./lib/node-exporter-series');

const NODES = Number(process.argv[2] || 4000);
const VARIANT = process.argv[3] || 'by-name';
const SERIES_PER_NODE = 512;
const ROWS_PER_INSERT = 64;
const NODES_PER_TRANSACTION = 20;

const INDEXES = {
  both: ['CREATE UNIQUE INDEX series_key ON series (node, name, labels_json)', 'CREATE INDEX series_by_last_used ON series (last_used_ms)'],
  unique: ['CREATE UNIQUE INDEX series_key ON series (node, name, labels_json)'],
  'by-name': ['CREATE INDEX series_by_node_name ON series (node, name)', 'CREATE INDEX series_by_last_used ON series (last_used_ms)'],
  none: [],
};
if (!INDEXES[VARIANT]) {
  process.stderr.write(`usage: node bench/series-rows.js [nodes] [${Object.keys(INDEXES).join('|')}]\n`);
  process.exit(2);
}

function shuffled(n) {
  const order = Array.from({ length: n }, (_, k) => k);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-series-rows-'));
try {
  const db = new Database(path.join(dir, 'series.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.exec('CREATE TABLE series (id INTEGER PRIMARY KEY, node TEXT NOT NULL, name TEXT NOT NULL, labels_json TEXT NOT NULL, last_used_ms INTEGER NOT NULL)');
  for (const sql of INDEXES[VARIANT]) db.exec(sql);
  const insert = db.prepare(`INSERT INTO series (id, node, name, labels_json, last_used_ms) VALUES ${Array(ROWS_PER_INSERT).fill('(?, ?, ?, ?, ?)').join(', ')}`);
  // [name, labels_json] as the collector stores them.
  const series = nodeExporterSeries(SERIES_PER_NODE).map((s) => [s.name, labelsJsonOf(s.labels)]);
  const now = Date.now();
  let id = 1;
  const writeNodes = db.transaction((nodes) => {
    for (const node of nodes) {
      for (let i = 0; i < series.length; i += ROWS_PER_INSERT) {
        const params = [];
        for (let j = i; j < i + ROWS_PER_INSERT; j++) params.push(id++, node, series[j][0], series[j][1], now);
        insert.run(params);
      }
    }
  });
  const order = shuffled(NODES);
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (let n = 0; n < NODES; n += NODES_PER_TRANSACTION) {
    writeNodes(order.slice(n, n + NODES_PER_TRANSACTION).map((k) => `bench-node-${String(k).padStart(5, '0')}`));
  }
  const cpu = process.cpuUsage(cpu0);
  const rows = id - 1;
  const cpuUs = cpu.user + cpu.system;
  process.stdout.write(
    `${VARIANT}: ${rows.toLocaleString('en-US')} rows, ${(cpuUs / rows).toFixed(2)} us of CPU a row, ${((performance.now() - wall0) / 1000).toFixed(1)} s wall\n`,
  );
  db.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
