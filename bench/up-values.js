#!/usr/bin/env node
'use strict';
/**
 * What the `up` writer's round and the built-in agent_down rule's reading cost the collector's
 * event loop for a fleet: N agents with a record (host facts included) and a token each in a real
 * database; the up values computed from the full listing (what every agent view needs) and by
 * `upValues()` (node names only); the agent_down reading's inputs from the full listing and every
 * token, and by `states()` and `unrevokedNodes()`; five times each. Prints milliseconds per round.
 * Asserts nothing. Run after `npm run build`:
 *   node bench/up-values.js [agents=10000]
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { silentLogger } = require('@ximp/shared');
const { openDatabase } = require('../packages/collector/dist/store/database.js');
const { AgentRecordStore } = require('../packages/collector/dist/registry/agent-record-store.js');
const { AgentTokenStore } = require('../packages/collector/dist/auth/agent-token-store.js');
const { AgentRegistry } = require('../packages/collector/dist/registry/agent-registry.js');

const AGENTS = Number(process.argv[2] || 10_000);
const YEAR_MS = 365 * 86_400_000;
const HOST = {
  hostname: 'web-00001.example.internal',
  os: 'Debian GNU/Linux 12 (bookworm)',
  kernel: '6.1.0-18-amd64',
  arch: 'x64',
  cpuModel: 'AMD EPYC 7B13',
  cpuCount: 8,
  memoryBytes: 33_554_432_000,
  virtualization: 'kvm',
  runtime: 'node v20.20.2',
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-bench-up-'));
const db = openDatabase(dir);
try {
  const records = new AgentRecordStore(db);
  const tokens = new AgentTokenStore(db);
  const now = Date.now();
  db.transaction(() => {
    for (let i = 0; i < AGENTS; i++) {
      const node = `node-${String(i).padStart(5, '0')}`;
      const token = tokens.create(node, YEAR_MS, now);
      records.upsertConnected({ node, address: '127.0.0.1', version: '1.0.0', tokenId: token.id, intervalMs: 1000, bootId: 'b', host: HOST }, now);
    }
  })();
  const registry = new AgentRegistry({ records, tokens, transaction: (fn) => db.transaction(fn)(), log: silentLogger(), now: () => Date.now() });
  const ways = [
    { label: 'from the full listing', round: () => registry.list().map((v) => ({ node: v.node, up: v.state === 'ACTIVE' ? 1 : 0 })) },
    { label: 'upValues()', round: () => registry.upValues() },
    { label: 'agent_down inputs from the full listing and every token', round: () => [registry.list(), tokens.list().filter((t) => t.revokedMs === null)] },
    { label: 'agent_down inputs by states() and unrevokedNodes()', round: () => [registry.states(), tokens.unrevokedNodes()] },
  ];
  for (const { label, round } of ways) {
    const ms = [];
    for (let r = 0; r < 5; r++) {
      const t0 = process.hrtime.bigint();
      round();
      ms.push((Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1));
    }
    console.log(`${label}: ${AGENTS} agents, ${ms.join(' / ')} ms per round`);
  }
} finally {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
