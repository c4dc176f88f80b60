'use strict';
/**
 * The load generator: simulated agents spread over worker threads (default one per core), so the
 * generator is not what limits the collector on the same machine. Agent i is node `bench-<i>`
 * with token `tokens[i]` (bench/lib prepareCollector creates them so), and connects from a
 * loopback address of its own group of `agentsPerAddress` (127.0.0.2, .3, ... then 127.0.1.x):
 * the collector caps handshakes in flight per address (limits.max_unauthenticated_per_address,
 * 64), and one source address would also run out of ephemeral ports past ~28,000 connections.
 */
const os = require('node:os');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { weightedPercentile } = require('./reservoir');

/** The loopback source address of the k-th group: 127.0.0.2..251, then 127.0.1.2..251, ... */
function groupAddress(k) {
  return `127.0.${Math.floor(k / 250)}.${2 + (k % 250)}`;
}

const SUMMED = ['sessions', 'welcomed', 'connected', 'firstAcked', 'sentBatches', 'skippedBatches', 'ackedBatches', 'ackedSamples', 'errors'];

/** One figure set from the threads' snapshots. */
function combine(parts) {
  const agg = { closesByCode: {}, errorMessages: [], closeEvents: [], latencyParts: [], lastFirstAckAt: 0 };
  for (const key of SUMMED) agg[key] = 0;
  for (const p of parts) {
    for (const key of SUMMED) agg[key] += p[key];
    for (const [code, n] of Object.entries(p.closesByCode)) agg.closesByCode[code] = (agg.closesByCode[code] ?? 0) + n;
    for (const m of p.errorMessages) if (!agg.errorMessages.includes(m)) agg.errorMessages.push(m);
    agg.closeEvents.push(...p.closeEvents);
    agg.latencyParts.push(p.latency);
    agg.lastFirstAckAt = Math.max(agg.lastFirstAckAt, p.lastFirstAckAt);
  }
  agg.latencyCount = agg.latencyParts.reduce((n, l) => n + l.seen, 0);
  agg.latency = (pct) => weightedPercentile(agg.latencyParts, pct);
  return agg;
}

/**
 * Starts `count` agents (indexes first..first+count-1) against `url`. Options: samples per batch,
 * intervalMs, idle (Hello only, no batches: pings are answered by ws), maxInFlight (unacknowledged
 * batches per agent before a send is skipped and counted), handshakesInFlight (per thread),
 * reconnect (after a close, like an agent's backoff), streamPrefix (stream id = prefix + index:
 * the same prefix on a second run continues the same streams), firstBatchAtOnce (the first batch
 * right after the Welcome, as an agent with spooled data sends it; otherwise at a random point of
 * the interval). Resolves once every thread is loaded and its agents started connecting.
 */
async function startLoad({
  url,
  ca,
  tokens,
  first = 0,
  count = tokens.length - first,
  samples = 1000,
  intervalMs = 1000,
  idle = false,
  workers = os.availableParallelism(),
  maxInFlight = 8,
  handshakesInFlight = 100,
  agentsPerAddress = 50,
  reconnect = true,
  streamPrefix = 'bench',
  reservoirSize = 20_000,
  firstBatchAtOnce = false,
}) {
  const slices = Array.from({ length: Math.max(1, Math.min(workers, count)) }, () => []);
  for (let i = first; i < first + count; i++) {
    slices[i % slices.length].push({ index: i, node: `bench-${i}`, token: tokens[i], streamId: `${streamPrefix}${i}`, address: groupAddress(Math.floor(i / agentsPerAddress)) });
  }
  let nextId = 1;
  const threads = slices.map((agents) => {
    const worker = new Worker(path.join(__dirname, 'worker.js'), {
      workerData: { url, ca, agents, samples, intervalMs, idle, maxInFlight, handshakesInFlight, agentsPerAddress, reconnect, reservoirSize, firstBatchAtOnce },
    });
    const calls = new Map();
    let failure = null;
    let onReady;
    const ready = new Promise((resolve, reject) => {
      onReady = resolve;
      worker.once('error', reject);
    });
    worker.on('message', (msg) => {
      if (msg.ready) return onReady();
      calls.get(msg.id)?.resolve(msg.snapshot);
      calls.delete(msg.id);
    });
    worker.on('error', (err) => {
      failure = err instanceof Error ? err : new Error(String(err));
      for (const c of calls.values()) c.reject(err);
      calls.clear();
    });
    const call = (cmd, extra = {}) =>
      failure !== null
        ? Promise.reject(new Error(`load generator thread failed: ${failure.message}`))
        : new Promise((resolve, reject) => {
            const id = nextId++;
            calls.set(id, { resolve, reject });
            worker.postMessage({ cmd, id, ...extra });
          });
    return { worker, call, ready };
  });
  const cpuAtStart = process.cpuUsage();
  await Promise.all(threads.map((t) => t.ready));
  for (const t of threads) t.worker.postMessage({ cmd: 'go' });

  return {
    threads: threads.length,
    /** Counters so far (cumulative; closeEvents since the last snapshot). resetLatency starts a new latency window. */
    async snapshot({ resetLatency = false } = {}) {
      return combine(await Promise.all(threads.map((t) => t.call('snapshot', { resetLatency }))));
    },
    /** Polls until `done(snapshot)` or `timeoutMs`; returns the last snapshot and whether it was done. */
    async waitFor(done, timeoutMs, pollMs = 200) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const snap = await this.snapshot();
        if (done(snap)) return { done: true, snap };
        if (Date.now() > deadline) return { done: false, snap };
        await new Promise((r) => setTimeout(r, pollMs));
      }
    },
    /** CPU seconds of this whole process (every thread: the generator and the scenario around it) since start. */
    cpuSeconds() {
      const u = process.cpuUsage(cpuAtStart);
      return (u.user + u.system) / 1e6;
    },
    /** Closes every session (5 s at most) and ends the threads; resolves with the last counters. */
    async stop() {
      const last = combine(await Promise.all(threads.map((t) => t.call('stop').catch(() => null))).then((l) => l.filter(Boolean)));
      await Promise.all(threads.map((t) => t.worker.terminate()));
      return last;
    },
  };
}

module.exports = { startLoad, groupAddress };
