import { silentLogger } from '@ximp/shared';
import { Scheduler } from './scheduler';
import { createSources } from './sources/index';

export interface CycleMeasurement {
  /** User + system CPU of this process per cycle, ms. */
  cpuMsPerCycle: number;
  wallMsPerCycle: number;
  /** Resident set size after the cycles. */
  rssBytes: number;
  /** Points of the last cycle, self-metrics included. */
  points: number;
}

/** Runs every default-enabled source on this host `cycles` times, back to back, and measures the cost. */
export async function measureCollectionCycles(cycles: number): Promise<CycleMeasurement> {
  const n = Math.max(1, Math.floor(cycles));
  const scheduler = new Scheduler({ sources: createSources(null), timeoutMs: 5000, log: silentLogger() });
  await scheduler.collectOnce(Date.now()); // warm-up: module loading and JIT are not per-cycle costs
  const cpuStart = process.cpuUsage();
  const wallStart = process.hrtime.bigint();
  let points = 0;
  for (let i = 0; i < n; i++) points = (await scheduler.collectOnce(Date.now())).length;
  const wallNs = Number(process.hrtime.bigint() - wallStart);
  const cpu = process.cpuUsage(cpuStart);
  return {
    cpuMsPerCycle: (cpu.user + cpu.system) / 1000 / n,
    wallMsPerCycle: wallNs / 1e6 / n,
    rssBytes: process.memoryUsage().rss,
    points,
  };
}
