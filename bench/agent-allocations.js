#!/usr/bin/env node
'use strict';
/**
 * What the agent allocates per cycle, by function: the real agent in this process with its real
 * sources, streaming to a real collector (a child process) over TLS, sampled by V8's heap
 * profiler with the objects the GC already collected counted too. Allocation is CPU for the
 * agent (docs/performance.md, "The agent's allocations, per cycle"), so this is the map of where
 * to cut. Asserts nothing. Run after `npm run build`, with the agent's flags:
 *   node --jitless bench/agent-allocations.js [cycles=20] [rows=30]
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const inspector = require('node:inspector');
const { prepareCollector, startCollector } = require('./lib/collector-process');
const { Agent } = require('../packages/agent/dist/agent.js');
const { loadAgentConfig } = require('../packages/agent/dist/config.js');
const { writeBenchAgentConfig } = require('./lib/agent-config');
const { createLogger } = require('../packages/shared/dist/index.js');

const CYCLES = Number(process.argv[2] || 20);
const ROWS = Number(process.argv[3] || 30);
const WARM_UP_MS = 8000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function post(session, method, params) {
  return new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(new Error(`${method}: ${err.message}`)) : resolve(res))));
}

/** "function file:line", with the repository's own paths shortened. */
function frameName(node) {
  const { functionName, url, lineNumber } = node.callFrame;
  return `${functionName || '(anonymous)'} ${url.replace(/.*\/(node_modules|packages)\//, '$1/')}:${lineNumber + 1}`;
}

/** Bytes allocated by each function itself, and by each function with everything it called. */
function totals(head) {
  const self = new Map();
  const inclusive = new Map();
  let all = 0;
  const walk = (node, stack) => {
    const name = frameName(node);
    all += node.selfSize;
    self.set(name, (self.get(name) ?? 0) + node.selfSize);
    const withThis = stack.includes(name) ? stack : [...stack, name];
    for (const frame of withThis) inclusive.set(frame, (inclusive.get(frame) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child, withThis);
  };
  walk(head, []);
  return { all, self, inclusive };
}

function print(title, map) {
  console.log(`\n${title}`);
  for (const [name, bytes] of [...map].sort((a, b) => b[1] - a[1]).slice(0, ROWS)) {
    console.log(`${(bytes / 1024 / CYCLES).toFixed(1).padStart(8)} KB  ${name}`);
  }
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-agent-allocations-'));
  const prepared = await prepareCollector({ dir, agents: 1 });
  const collector = await startCollector({ configFile: prepared.configFile });
  let agent;
  try {
    const agentFile = path.join(dir, 'agent.yaml');
    writeBenchAgentConfig(agentFile, { prepared, spoolDir: path.join(dir, 'spool'), logLevel: 'error' });
    agent = new Agent(loadAgentConfig(agentFile), { log: createLogger({ name: 'ximp-agent', level: 'error' }) });
    await agent.start();
    await sleep(WARM_UP_MS);

    const session = new inspector.Session();
    session.connect();
    await post(session, 'HeapProfiler.enable');
    await post(session, 'HeapProfiler.startSampling', {
      samplingInterval: 256,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    await sleep(CYCLES * 1000);
    const { profile } = await post(session, 'HeapProfiler.stopSampling');
    session.disconnect();

    const { all, self, inclusive } = totals(profile.head);
    console.log(`node ${process.version} ${process.execArgv.join(' ')}: ${(all / 1024 / CYCLES).toFixed(0)} KB allocated per cycle over ${CYCLES} cycles (sampled every 256 bytes)`);
    print('allocated by the function itself, per cycle', self);
    print('allocated by the function and what it called, per cycle', inclusive);
  } finally {
    await agent?.stop();
    await collector.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
