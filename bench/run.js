#!/usr/bin/env node
'use strict';
/**
 * `npm run bench`: measures the collector under N simulated agents speaking the real protocol
 * over TLS 1.3 (default 1,000 agents, 200 samples each every 1 s), and the agent's cost per
 * collection cycle on this host. Prints figures; asserts nothing.
 *
 * Options (environment): BENCH_AGENTS (1000), BENCH_SAMPLES (200), BENCH_INTERVAL_MS (1000),
 * BENCH_SECONDS (measured window, 30), BENCH_WARMUP_SECONDS (10), BENCH_CYCLES (agent cycles, 100),
 * BENCH_AGENT_SECONDS (how long the real agent process is measured, 20), BENCH_REMOTE_WRITE (1: also
 * run the same load with the collector forwarding into a real Prometheus over mTLS; 0: skip),
 * BENCH_SHARDS (that store's `shards`; the collector's default when unset).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const WebSocket = require('ws');

const root = path.resolve(__dirname, '..');
const shared = require(path.join(root, 'packages/shared/dist/index.js'));
const { procUsage } = require('./lib/proc-usage');
const { prepareCollector, startCollector, freePort } = require('./lib/collector-process');
const { percentile, mib } = require('./lib/stats');
const remoteWrite = require('./remote-write-e2e');

const opt = (name, def) => Number(process.env[name] ?? def);
const AGENTS = opt('BENCH_AGENTS', 1000);
const SAMPLES = opt('BENCH_SAMPLES', 200);
const INTERVAL_MS = opt('BENCH_INTERVAL_MS', 1000);
const SECONDS = opt('BENCH_SECONDS', 30);
const WARMUP_SECONDS = opt('BENCH_WARMUP_SECONDS', 10);
const CYCLES = opt('BENCH_CYCLES', 100);

async function prepare(dir) {
  const prepared = await prepareCollector({ dir, agents: AGENTS + 1 });
  // The last token is the real agent's (node bench-<AGENTS>).
  return { ...prepared, tokens: prepared.tokens.slice(0, AGENTS), realAgentToken: prepared.tokens[AGENTS] };
}

/** One simulated agent: Hello, then a 200-sample batch every interval; records ack latency. */
function simulatedAgent(i, url, ca, token, stats) {
  const node = `bench-${i}`;
  const ids = Array.from({ length: SAMPLES }, (_, k) => k + 1);
  const definitions = ids.map((id) => ({ id, name: 'node_bench_value', labels: [{ name: 'series', value: String(id) }] }));
  const sentAt = new Map();
  let sequence = 0;
  let defined = false;
  let timer;
  const ws = new WebSocket(url, shared.SUBPROTOCOL, {
    ca,
    // A fleet connects from many addresses: 50 simulated agents per loopback address keeps the
    // collector's per-address cap on handshakes in flight (64) from refusing the benchmark itself.
    localAddress: `127.0.0.${2 + Math.floor(i / 50)}`,
    headers: { Authorization: `Bearer ${token}`, 'X-Ximp-Node': node },
    minVersion: 'TLSv1.3',
    perMessageDeflate: false,
  });
  ws.on('open', () => {
    ws.send(
      shared.encodeAgentFrame({
        type: 'hello',
        protocolVersion: shared.PROTOCOL_VERSION,
        node,
        agentVersion: 'bench',
        bootId: '',
        host: { hostname: node, os: 'bench', kernel: '', arch: os.arch(), cpuModel: '', cpuCount: 1, memoryBytes: 0, virtualization: '' },
        labels: [],
        intervalMs: INTERVAL_MS,
        streamId: `bench${i}`,
      }),
    );
  });
  ws.on('message', (data) => {
    const frame = shared.decodeCollectorFrame(data);
    if (frame.type === 'welcome') {
      sequence = frame.lastAckedSequence;
      stats.connected++;
      const send = () => {
        if (ws.readyState !== WebSocket.OPEN) return clearInterval(timer);
        sequence++;
        const values = ids.map(() => Math.random() * 1000);
        sentAt.set(sequence, performance.now());
        ws.send(
          shared.encodeAgentFrame({
            type: 'batch',
            sequence,
            timestampUnixMs: Date.now(),
            definitions: defined ? [] : definitions,
            seriesIds: ids,
            values,
            droppedBatchesTotal: 0,
          }),
        );
        defined = true;
      };
      // Spread the agents over the interval, as real agents started at different times are.
      // A Welcome that arrives late on a loaded machine may come after the agent was stopped:
      // start nothing then, or an interval outlives the run and the bench never exits.
      setTimeout(() => {
        if (ws.readyState !== WebSocket.OPEN) return;
        send();
        timer = setInterval(send, INTERVAL_MS);
      }, Math.random() * INTERVAL_MS);
    } else if (frame.type === 'ack') {
      const t0 = sentAt.get(frame.sequence);
      sentAt.delete(frame.sequence);
      if (t0 !== undefined && stats.measuring) {
        stats.acked++;
        stats.samples += SAMPLES;
        stats.latencies.push(performance.now() - t0);
      }
    }
  });
  ws.on('close', () => clearInterval(timer));
  ws.on('error', (err) => stats.errors.push(err.message));
  return () => {
    clearInterval(timer);
    ws.close(1000);
  };
}

/**
 * The collector under the simulated fleet. With `forward`, the collector also forwards every
 * batch to a real Prometheus over mTLS (store.remote_write), and the run samples the queue depth
 * and counts what Prometheus appended.
 */
async function benchCollector({ forward = false, realAgent = true } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-bench-'));
  let prometheus = null;
  try {
    process.stdout.write(`collector${forward ? ' forwarding to Prometheus' : ''}: preparing ${AGENTS} agent tokens...\n`);
    const { configFile, dataDir, ports, ca, caFile, tokens, realAgentToken } = await prepare(dir);
    if (forward) {
      prometheus = await remoteWrite.startPrometheus(path.join(dir, 'prometheus'), dataDir, await freePort());
      const shards = process.env.BENCH_SHARDS ? [`      shards: ${Number(process.env.BENCH_SHARDS)}`] : [];
      fs.appendFileSync(configFile, ['store:', '  remote_write:', '    - name: bench', `      url: ${prometheus.writeUrl}`, ...shards, ''].join('\n'));
    }
    const readMetrics = remoteWrite.collectorMetricsReader(path.join(dir, 'cli.yaml'), ports.api, ca);
    const collector = await startCollector({ configFile });
    const { child } = collector;
    const url = `wss://127.0.0.1:${ports.agents}/v1/agent`;
    const stats = { connected: 0, acked: 0, samples: 0, latencies: [], errors: [], measuring: false };
    const stops = [];
    for (let i = 0; i < AGENTS; i++) {
      stops.push(simulatedAgent(i, url, ca, tokens[i], stats));
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20));
    }
    const connectDeadline = Date.now() + 60_000;
    while (stats.connected < AGENTS && Date.now() < connectDeadline) await new Promise((r) => setTimeout(r, 100));
    process.stdout.write(`collector: ${stats.connected}/${AGENTS} agents connected; warming up ${WARMUP_SECONDS} s, measuring ${SECONDS} s\n`);
    await new Promise((r) => setTimeout(r, WARMUP_SECONDS * 1000));

    const before = procUsage(child.pid);
    const genBefore = process.cpuUsage();
    const promBefore = prometheus ? { cpu: procUsage(prometheus.pid).cpuSeconds, appended: await prometheus.samplesAppended() } : null;
    const t0 = performance.now();
    stats.measuring = true;
    let peakRss = before.rssBytes;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, procUsage(child.pid).rssBytes)), 500);
    // Queue depth (samples waiting for Prometheus) once a second over the measured window.
    const queueDepth = [];
    let sampling = forward;
    const depthSampler = (async () => {
      while (sampling) {
        const at = (performance.now() - t0) / 1000;
        try {
          queueDepth.push({ at, samples: remoteWrite.metricSum(await readMetrics(), 'ximp_collector_remote_write_queue_samples', { store: 'bench' }) });
        } catch (err) {
          stats.errors.push(`/metrics: ${err.message}`);
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    stats.measuring = false;
    sampling = false;
    clearInterval(sampler);
    const elapsed = (performance.now() - t0) / 1000;
    const after = procUsage(child.pid);
    const gen = process.cpuUsage(genBefore);
    const promAfter = prometheus ? { cpu: procUsage(prometheus.pid).cpuSeconds, appended: await prometheus.samplesAppended() } : null;
    await depthSampler;

    for (const stop of stops) stop();
    let drainSeconds = null;
    if (forward) {
      // How long the backlog left at the end of the window takes to reach Prometheus.
      const drainStart = performance.now();
      while (performance.now() - drainStart < 120_000) {
        const left = remoteWrite.metricSum(await readMetrics(), 'ximp_collector_remote_write_queue_samples', { store: 'bench' });
        if (left === 0) {
          drainSeconds = (performance.now() - drainStart) / 1000;
          break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    const realAgentFigures = realAgent ? await realAgentFootprint(dir, url, caFile, realAgentToken) : null;
    await collector.stop();
    const writes400 = prometheus ? await prometheus.writes400() : 0;

    const sorted = stats.latencies.sort((a, b) => a - b);
    const offered = (AGENTS * SAMPLES * 1000) / INTERVAL_MS;
    return {
      agents: stats.connected,
      offeredSamplesPerSecond: offered,
      ackedSamplesPerSecond: stats.samples / elapsed,
      ackedBatchesPerSecond: stats.acked / elapsed,
      ackLatencyP50Ms: percentile(sorted, 50),
      ackLatencyP99Ms: percentile(sorted, 99),
      collectorCpuPercent: ((after.cpuSeconds - before.cpuSeconds) / elapsed) * 100,
      collectorCpuSeconds: after.cpuSeconds - before.cpuSeconds,
      elapsedSeconds: elapsed,
      forwarded: forward
        ? {
            samplesPerSecond: (promAfter.appended - promBefore.appended) / elapsed,
            samples: promAfter.appended - promBefore.appended,
            prometheusCpuPercent: ((promAfter.cpu - promBefore.cpu) / elapsed) * 100,
            queueDepth,
            drainSeconds,
            writes400,
          }
        : null,
      collectorRssBytes: after.rssBytes,
      collectorPeakRssBytes: peakRss,
      loadGeneratorCpuPercent: ((gen.user + gen.system) / 1e6 / elapsed) * 100,
      errors: [...new Set(stats.errors)].slice(0, 5),
      realAgent: realAgentFigures,
    };
  } finally {
    await prometheus?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A real ximp-agent process (every built-in source, spool with fsync, TLS) streaming to the
 * collector at a 1 s interval: its CPU per cycle and RSS, read from /proc after it settled.
 */
async function realAgentFootprint(dir, url, caFile, token) {
  const REAL_SECONDS = Number(process.env.BENCH_AGENT_SECONDS ?? 20);
  const configFile = path.join(dir, 'agent.yaml');
  fs.writeFileSync(
    configFile,
    ['server:', `  url: ${url}`, `  auth_token: ${token}`, `  ca_file: ${caFile}`, `node: bench-${AGENTS}`, 'interval: 1s',
      'spool:', `  dir: ${path.join(dir, 'agent-spool')}`, 'log:', '  level: warn', ''].join('\n'),
    { mode: 0o600 },
  );
  const agent = spawn(process.execPath, [path.join(root, 'packages/agent/bin/ximp-agent.js'), '--config', configFile], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 5000)); // start-up, first connection and JIT are not per-cycle costs
  const before = procUsage(agent.pid);
  await new Promise((r) => setTimeout(r, REAL_SECONDS * 1000));
  const after = procUsage(agent.pid);
  agent.kill('SIGTERM');
  await new Promise((r) => agent.once('exit', r));
  return { cycles: REAL_SECONDS, cpuMsPerCycle: ((after.cpuSeconds - before.cpuSeconds) * 1000) / REAL_SECONDS, rssBytes: after.rssBytes };
}

/** The agent's cost per cycle, measured in a process of its own so the figures are an agent's alone. */
function agentCycleInFreshProcess(cycles) {
  const script = `require(${JSON.stringify(path.join(root, 'packages/agent/dist/bench-cycle.js'))})
    .measureCollectionCycles(${cycles}).then((r) => process.stdout.write(JSON.stringify(r)));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`agent cycle measurement exited ${code}`))));
  });
}

/** What the figures were taken on: they differ between Node.js versions (the agent and collector run on this one too). */
function runtimeLine() {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown cpu';
  return `runtime: node ${process.version} (v8 ${process.versions.v8}), ${process.platform} ${process.arch}, ${os.availableParallelism()} cores (${cpu})`;
}

async function main() {
  process.stdout.write(`${runtimeLine()}\n`);
  const collector = await benchCollector();
  process.stdout.write(
    [
      '',
      `collector under ${collector.agents} agents x ${SAMPLES} samples every ${INTERVAL_MS} ms (offered ${Math.round(collector.offeredSamplesPerSecond)} samples/s):`,
      `  acknowledged samples/s   ${Math.round(collector.ackedSamplesPerSecond)}`,
      `  acknowledged batches/s   ${collector.ackedBatchesPerSecond.toFixed(1)}`,
      `  ack latency p50 / p99    ${collector.ackLatencyP50Ms.toFixed(1)} ms / ${collector.ackLatencyP99Ms.toFixed(1)} ms`,
      `  collector CPU            ${collector.collectorCpuPercent.toFixed(1)} % of one core`,
      `  collector RSS            ${mib(collector.collectorRssBytes)} (peak ${mib(collector.collectorPeakRssBytes)})`,
      `  load generator CPU       ${collector.loadGeneratorCpuPercent.toFixed(1)} % of one core (same machine)`,
      collector.errors.length ? `  errors                   ${collector.errors.join('; ')}` : '  errors                   none',
      '',
      `a real ximp-agent process streaming every 1 s to that collector (${collector.realAgent.cycles} cycles):`,
      `  CPU per cycle            ${collector.realAgent.cpuMsPerCycle.toFixed(2)} ms (everything: sources, spool fsync, TLS; /proc ticks are 10 ms)`,
      `  RSS                      ${mib(collector.realAgent.rssBytes)}`,
      '',
    ].join('\n'),
  );
  if (process.env.BENCH_REMOTE_WRITE !== '0') {
    if (remoteWrite.prometheusBinary() === null) {
      process.stdout.write("end to end into Prometheus: skipped (install Debian's package `prometheus`)\n\n");
    } else {
      printForwarded(collector, await benchCollector({ forward: true, realAgent: false }));
    }
  }
  const agent = await agentCycleInFreshProcess(CYCLES);
  process.stdout.write(
    [
      `agent sources alone, back to back in a fresh process (${CYCLES} cycles, ${agent.points} points per cycle):`,
      `  CPU per cycle            ${agent.cpuMsPerCycle.toFixed(2)} ms`,
      `  wall time per cycle      ${agent.wallMsPerCycle.toFixed(2)} ms`,
      `  RSS                      ${mib(agent.rssBytes)}`,
      '',
    ].join('\n'),
  );
}

/** The end-to-end figure beside the one without a remote store. */
function printForwarded(base, e2e) {
  const f = e2e.forwarded;
  const depths = f.queueDepth.map((d) => d.samples).sort((a, b) => a - b);
  const trace = f.queueDepth.filter((_, i) => i % 5 === 0).map((d) => `${Math.round(d.at)}s:${d.samples}`).join(' ');
  // The forwarder's cost: the collector's extra CPU with a remote store, per million samples forwarded.
  const extraCpu = e2e.collectorCpuSeconds - (base.collectorCpuSeconds * e2e.elapsedSeconds) / base.elapsedSeconds;
  process.stdout.write(
    [
      `end to end: the same load, the collector forwarding to Prometheus over mTLS (TLS 1.3, client certificate; shards ${process.env.BENCH_SHARDS ?? 'default'}):`,
      `  acknowledged samples/s   ${Math.round(e2e.ackedSamplesPerSecond)} (without a remote store ${Math.round(base.ackedSamplesPerSecond)})`,
      `  into Prometheus samples/s ${Math.round(f.samplesPerSecond)} (appended to its head over the window)`,
      `  ack latency p50 / p99    ${e2e.ackLatencyP50Ms.toFixed(1)} ms / ${e2e.ackLatencyP99Ms.toFixed(1)} ms`,
      `  queue depth (samples)    p50 ${percentile(depths, 50)}, max ${depths[depths.length - 1] ?? NaN}; every 5 s: ${trace}`,
      `  backlog drained          ${f.drainSeconds === null ? 'not within 120 s' : `${f.drainSeconds.toFixed(1)} s after the agents stopped`}`,
      `  collector CPU            ${e2e.collectorCpuPercent.toFixed(1)} % of one core (without a remote store ${base.collectorCpuPercent.toFixed(1)} %)`,
      `  forwarder CPU            ${f.samples > 0 ? ((extraCpu / f.samples) * 1e6).toFixed(2) : 'n/a'} core-seconds per million samples (the collector's extra CPU over the run without a remote store)`,
      `  Prometheus CPU           ${f.prometheusCpuPercent.toFixed(1)} % of one core (same machine)`,
      `  load generator CPU       ${e2e.loadGeneratorCpuPercent.toFixed(1)} % of one core (same machine)`,
      `  collector RSS            ${mib(e2e.collectorRssBytes)} (peak ${mib(e2e.collectorPeakRssBytes)})`,
      `  remote-write 400s        ${f.writes400}`,
      e2e.errors.length ? `  errors                   ${e2e.errors.join('; ')}` : '  errors                   none',
      '',
    ].join('\n'),
  );
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack}\n`);
  process.exitCode = 1;
});
