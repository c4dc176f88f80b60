'use strict';
/**
 * agent-footprint: what a real ximp-agent costs on its node, beside Debian's node_exporter.
 *
 * A real agent process (started as it ships: bench/lib/agent-command.js; every built-in source,
 * spool with fsync, TLS 1.3) streams every 1 s to a real collector. After it connected and
 * settled (5 s: start-up, first connection and JIT are not per-cycle costs), its CPU over >= 60
 * cycles comes from schedstat (ns), and its RSS (current and VmHWM) from /proc. With --compare,
 * node_exporter runs over the same window, scraped every 1 s by the bench as Prometheus would:
 * its CPU per scrape and RSS are the anchors the agent's targets are relative to. A bare Node.js
 * process's RSS shows what the runtime alone costs. Last, the agent's sources alone, back to back
 * in a fresh process (packages/agent/dist/bench-cycle.js), without spool, TLS or timers.
 */
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const { procUsage, peakRss, memoryKinds } = require('../lib/proc-usage');
const { prepareCollector, startCollector } = require('../lib/collector-process');
const { writeBenchAgentConfig } = require('../lib/agent-config');
const { agentCommand, agentEnv } = require('../lib/agent-command');
const { NODE_EXPORTER_PACKAGE, nodeExporterBinary, startNodeExporter, scrapeLoop } = require('../lib/node-exporter');

const MiB = 1024 * 1024;
/** The issue's targets, relative to node_exporter in the same run. */
const CPU_RATIO_TARGET = 0.5;
const RSS_RATIO_TARGET = 2.25;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (x, digits) => (x === null ? null : Number(x.toFixed(digits)));

/** A child process that is killed (SIGTERM, then SIGKILL) when the scenario ends. */
function spawnOwned(cleanups, command, args, options) {
  const child = spawn(command, args, options);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.once('error', () => {});
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
  });
  return child;
}

/** Collects a child's stdout lines (JSON log lines for the agent), bounded. */
function lineCollector(stream) {
  const lines = [];
  let partial = '';
  stream.on('data', (c) => {
    const parts = (partial + c.toString()).split('\n');
    partial = parts.pop();
    lines.push(...parts);
    if (lines.length > 10_000) lines.splice(0, lines.length - 10_000);
  });
  return lines;
}

/**
 * Runs the cleanups and empties the list: all but the first (the collector) at once, then the
 * collector, which the agent's stop may still be flushing its spool to.
 */
async function stopAll(cleanups) {
  const [first, ...rest] = cleanups.splice(0);
  await Promise.all(rest.map((c) => c().catch(() => {})));
  await first?.().catch(() => {});
}

async function waitFor(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

/** The agent's sources alone, back to back in a process of their own. */
function sourcesInFreshProcess(node, root, cycles) {
  const script = `require(${JSON.stringify(path.join(root, 'packages/agent/dist/bench-cycle.js'))})
    .measureCollectionCycles(${cycles}).then((r) => process.stdout.write(JSON.stringify(r)));`;
  return new Promise((resolve, reject) => {
    const child = spawn(node, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`agent cycle measurement exited ${code}`))));
  });
}

async function run(ctx) {
  const cycles = ctx.quick ? 3 : Math.max(1, Number(ctx.env.BENCH_AGENT_CYCLES ?? 60));
  const settleMs = ctx.quick ? 1000 : 5000;
  const command = agentCommand(ctx.root);
  // BENCH_AGENT_NODE: another Node.js for the agent (e.g. 24 while the collector's native modules
  // are built for 20); the collector always runs on the bench's own.
  const agentNode = ctx.env.BENCH_AGENT_NODE || process.execPath;
  const agentNodeVersion = execFileSync(agentNode, ['--version'], { encoding: 'utf8' }).trim();
  ctx.log(`agent: ${command.describe}, on node ${agentNodeVersion}`);
  const neBinary = ctx.compare ? nodeExporterBinary() : null;
  if (ctx.compare && neBinary === null) ctx.log(`node_exporter: skipped (install Debian's package \`${NODE_EXPORTER_PACKAGE}\`)`);

  const cleanups = [];
  try {
    const prepared = await prepareCollector({ dir: ctx.tmpDir, agents: 1 });
    const collector = await startCollector({ configFile: prepared.configFile });
    cleanups.push(() => collector.stop());

    // The runtime alone: idle, with a timer so it stays up.
    const bare = spawnOwned(cleanups, agentNode, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore', env: agentEnv({ nodeOptions: null }, ctx.env) });

    const agentFile = path.join(ctx.tmpDir, 'agent.yaml');
    writeBenchAgentConfig(agentFile, { prepared, spoolDir: path.join(ctx.tmpDir, 'agent-spool') });
    const agent = spawnOwned(cleanups, agentNode, [...command.nodeArgs, command.script, '--config', agentFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: agentEnv(command, ctx.env),
    });
    const agentLines = lineCollector(agent.stdout);
    const agentErr = lineCollector(agent.stderr);
    const agentAlive = () => agent.exitCode === null && agent.signalCode === null;
    try {
      await waitFor('the agent connected to the collector', () => !agentAlive() || agentLines.some((l) => l.includes('connected to collector')), 30_000);
    } catch (err) {
      throw new Error(`${err.message}; its output:\n${[...agentLines, ...agentErr].slice(-20).join('\n')}`);
    }
    if (!agentAlive()) throw new Error(`the agent exited (${agent.exitCode ?? agent.signalCode}):\n${[...agentLines, ...agentErr].slice(-20).join('\n')}`);

    let ne = null;
    let scraper = null;
    if (neBinary !== null) {
      ne = await startNodeExporter({ binary: neBinary });
      cleanups.push(() => ne.stop());
      scraper = scrapeLoop(ne.url, 1000);
      cleanups.push(() => scraper.stop());
    }
    ctx.log(`settling ${settleMs / 1000} s, then measuring ${cycles} cycles${ne ? ` beside node_exporter ${ne.version}` : ''}`);
    await sleep(settleMs);

    // With node_exporter, the window runs from one completed scrape to the one `cycles` later, so
    // it holds exactly that many scrapes; the agent's cycles every 1 s fall in the same window.
    const disconnectsBefore = agentLines.filter((l) => l.includes('disconnected from collector')).length;
    let scrapesBefore = 0;
    if (scraper) {
      scrapesBefore = scraper.state.done + 1;
      await scraper.waitFor(scrapesBefore);
    }
    const t0 = process.hrtime.bigint();
    const agentBefore = procUsage(agent.pid);
    const neBefore = ne ? procUsage(ne.pid) : null;
    if (scraper) await scraper.waitFor(scrapesBefore + cycles);
    else await sleep(cycles * 1000);
    const agentAfter = procUsage(agent.pid);
    const neAfter = ne ? procUsage(ne.pid) : null;
    const windowSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (!agentAlive()) throw new Error(`the agent exited during the window:\n${[...agentLines, ...agentErr].slice(-20).join('\n')}`);
    const disconnects = agentLines.filter((l) => l.includes('disconnected from collector')).length - disconnectsBefore;
    const agentPeak = peakRss(agent.pid);
    const bareRss = procUsage(bare.pid).rssBytes;
    const nePeak = ne ? peakRss(ne.pid) : null;
    const agentKinds = memoryKinds(agent.pid);
    const bareKinds = memoryKinds(bare.pid);
    const neKinds = ne ? memoryKinds(ne.pid) : null;
    const series = scraper ? scraper.state.series : null;
    const scrapeErrors = scraper ? [...new Set(scraper.state.errors)].slice(0, 5) : [];
    // A failed scrape costs node_exporter less than an answered one: its figure would flatter it.
    if (scrapeErrors.length > 0) throw new Error(`node_exporter scrapes failed: ${scrapeErrors.join('; ')}`);

    // Agent cycles in the window: one per second of it (the agent's interval).
    const agentCycles = windowSeconds;
    const agentCpuMs = (agentAfter.cpuNs - agentBefore.cpuNs) / 1e6 / agentCycles;
    const agentRssMiB = agentAfter.rssBytes / MiB;
    const neCpuMs = ne ? (neAfter.cpuNs - neBefore.cpuNs) / 1e6 / cycles : null;
    const neRssMiB = ne ? neAfter.rssBytes / MiB : null;

    await stopAll(cleanups);
    const sources = await sourcesInFreshProcess(agentNode, ctx.root, ctx.quick ? 3 : 100);

    const neAnchor = ne
      ? `node_exporter ${round(neCpuMs, 2)} ms per scrape (${series} series), same run`
      : ctx.compare
        ? `node_exporter not installed (Debian's ${NODE_EXPORTER_PACKAGE})`
        : 'node_exporter: run with --compare';
    const figures = [
      {
        id: 'agent-cpu-per-cycle',
        label: 'agent CPU per 1 s cycle (sources, spool fsync, TLS)',
        value: round(agentCpuMs, 3),
        unit: 'ms',
        ...(ne ? { target: { op: '<=', value: round(CPU_RATIO_TARGET * neCpuMs, 3), text: `≤ ${CPU_RATIO_TARGET} × node_exporter (${round(CPU_RATIO_TARGET * neCpuMs, 2)} ms)` } } : {}),
        anchor: neAnchor,
        note: `${cycles} cycles, schedstat${ne ? `; ratio ${round(agentCpuMs / neCpuMs, 2)} × node_exporter` : ''}`,
      },
      {
        id: 'agent-rss',
        label: 'agent RSS',
        value: round(agentRssMiB, 1),
        unit: 'MiB',
        ...(ne ? { target: { op: '<=', value: round(RSS_RATIO_TARGET * neRssMiB, 1), text: `≤ ${RSS_RATIO_TARGET} × node_exporter (${round(RSS_RATIO_TARGET * neRssMiB, 1)} MiB)` } } : {}),
        anchor: `${ne ? `node_exporter ${round(neRssMiB, 1)} MiB; ` : ''}bare node ${round(bareRss / MiB, 1)} MiB`,
        note: ne ? `ratio ${round(agentRssMiB / neRssMiB, 2)} × node_exporter` : undefined,
      },
      {
        // Each fault costs CPU (~13 us on a 2-core VM here): V8 hands its young generation's pages
        // back after a scavenge when allocation is slow, so every byte allocated is a fresh page.
        id: 'agent-page-faults-per-cycle',
        label: 'agent minor page faults per cycle',
        value: round((agentAfter.minorFaults - agentBefore.minorFaults) / agentCycles, 1),
        unit: 'faults',
        anchor: ne ? `node_exporter ${round((neAfter.minorFaults - neBefore.minorFaults) / cycles, 1)} per scrape` : undefined,
      },
      { id: 'agent-peak-rss', label: 'agent peak RSS (VmHWM)', value: agentPeak === null ? null : round(agentPeak / MiB, 1), unit: 'MiB' },
      {
        // RSS is mostly the node binary's file pages (bare node's too); the anonymous part is the
        // agent's own heap and stacks, set beside node_exporter's.
        id: 'agent-anonymous-memory',
        label: 'agent anonymous memory (heap, stacks)',
        value: agentKinds === null ? null : round(agentKinds.anonymous / MiB, 1),
        unit: 'MiB',
        anchor: [neKinds && `node_exporter ${round(neKinds.anonymous / MiB, 1)} MiB`, bareKinds && `bare node ${round(bareKinds.anonymous / MiB, 1)} MiB`].filter(Boolean).join('; ') || undefined,
        note: agentKinds === null ? 'no /proc/<pid>/smaps_rollup' : `file pages ${round(agentKinds.file / MiB, 1)} MiB${neKinds ? ` (node_exporter ${round(neKinds.file / MiB, 1)} MiB)` : ''}${bareKinds ? `; bare node ${round(bareKinds.file / MiB, 1)} MiB` : ''}`,
      },
    ];
    if (ne) {
      figures.push(
        { id: 'node-exporter-cpu-per-scrape', label: `node_exporter CPU per scrape (${series} series)`, value: round(neCpuMs, 3), unit: 'ms', anchor: `node_exporter ${ne.version}` },
        { id: 'node-exporter-rss', label: 'node_exporter RSS', value: round(neRssMiB, 1), unit: 'MiB', note: nePeak === null ? undefined : `peak ${round(nePeak / MiB, 1)} MiB` },
        { id: 'node-exporter-series', label: 'node_exporter series per scrape', value: series, unit: 'series' },
      );
    }
    figures.push(
      { id: 'bare-node-rss', label: `bare node ${agentNodeVersion} RSS (idle timer)`, value: round(bareRss / MiB, 1), unit: 'MiB' },
      { id: 'agent-sources-cpu-per-cycle', label: `agent sources alone, fresh process (${sources.points} points)`, value: round(sources.cpuMsPerCycle, 3), unit: 'ms' },
      { id: 'agent-sources-wall-per-cycle', label: 'agent sources alone, wall time per cycle', value: round(sources.wallMsPerCycle, 3), unit: 'ms' },
      { id: 'agent-sources-rss', label: 'agent sources alone, RSS', value: round(sources.rssBytes / MiB, 1), unit: 'MiB' },
    );
    return {
      figures,
      details: {
        agentCommand: command.describe,
        agentNode: agentNodeVersion,
        cycles,
        windowSeconds: round(windowSeconds, 3),
        settleSeconds: settleMs / 1000,
        agentCpuNs: agentAfter.cpuNs - agentBefore.cpuNs,
        agentDisconnects: disconnects,
        memoryKinds: { agent: agentKinds, bareNode: bareKinds, nodeExporter: neKinds },
        nodeExporter: ne
          ? { version: ne.version, scrapes: cycles, series, cpuNs: neAfter.cpuNs - neBefore.cpuNs, peakRssBytes: nePeak }
          : null,
        sourcesInFreshProcess: { cycles: ctx.quick ? 3 : 100, ...sources },
      },
    };
  } finally {
    await stopAll(cleanups);
  }
}

module.exports = { id: 'agent-footprint', title: 'the agent beside node_exporter', run };
