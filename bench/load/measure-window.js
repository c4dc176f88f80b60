'use strict';
/**
 * One measured window of a running load: the collector's CPU (schedstat ns over all its threads)
 * and RSS, the generator's counters and CPU, and the ack latencies of the window alone.
 */
const { procUsage, peakRss } = require('../lib/proc-usage');

const fs = require('node:fs');

const round = (n, digits = 1) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);

/**
 * The main thread's time on a CPU and waiting for one (schedstat fields 1 and 2, ns). On a
 * shared machine the wait says how much of a figure is the collector's and how much the
 * machine's: a main thread runnable all the time but waiting half of it is saturated at half a core.
 */
function mainThreadSchedstat(pid) {
  const [onCpu, waiting] = fs.readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ').map(Number);
  return { onCpu, waiting };
}

async function measureWindow({ pid, gen, seconds }) {
  const s0 = await gen.snapshot({ resetLatency: true });
  const c0 = procUsage(pid);
  const m0 = mainThreadSchedstat(pid);
  const g0 = gen.cpuSeconds();
  const t0 = performance.now();
  let rssMax = c0.rssBytes;
  const sampler = setInterval(() => {
    try {
      rssMax = Math.max(rssMax, procUsage(pid).rssBytes);
    } catch {
      // the collector exited: the figures below say so through the acks
    }
  }, 500);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(sampler);
  const s1 = await gen.snapshot();
  const c1 = procUsage(pid);
  const m1 = mainThreadSchedstat(pid);
  const elapsed = (performance.now() - t0) / 1000;
  const cpuSeconds = (c1.cpuNs - c0.cpuNs) / 1e9;
  const ackedSamples = s1.ackedSamples - s0.ackedSamples;
  return {
    startedAt: t0,
    endedAt: t0 + elapsed * 1000,
    elapsedSeconds: round(elapsed, 2),
    connected: s1.connected,
    sentBatchesPerSecond: round((s1.sentBatches - s0.sentBatches) / elapsed),
    skippedBatchesPerSecond: round((s1.skippedBatches - s0.skippedBatches) / elapsed),
    ackedBatchesPerSecond: round((s1.ackedBatches - s0.ackedBatches) / elapsed),
    ackedSamplesPerSecond: Math.round(ackedSamples / elapsed),
    ackP50Ms: round(s1.latency(50)),
    ackP99Ms: round(s1.latency(99)),
    ackMaxMs: round(s1.latency(100)),
    collectorCpuPercent: round((cpuSeconds / elapsed) * 100),
    collectorCpuSeconds: round(cpuSeconds, 2),
    collectorCoreSecondsPerMillion: ackedSamples > 0 ? round(cpuSeconds / (ackedSamples / 1e6), 2) : null,
    collectorMainThreadOnCpuPercent: round(((m1.onCpu - m0.onCpu) / 1e9 / elapsed) * 100),
    collectorMainThreadWaitingForCpuPercent: round(((m1.waiting - m0.waiting) / 1e9 / elapsed) * 100),
    collectorRssBytes: c1.rssBytes,
    collectorRssMaxBytes: rssMax,
    collectorPeakRssBytes: peakRss(pid),
    generatorCpuPercent: round(((gen.cpuSeconds() - g0) / elapsed) * 100),
    errors: s1.errors - s0.errors,
    errorMessages: s1.errorMessages,
    closesByCode: s1.closesByCode,
  };
}

module.exports = { measureWindow, round };
