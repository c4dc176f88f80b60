import type { Point } from '../point';
import { CPU_MODES, parseProcStat, type CpuTicks, type ProcStat } from './proc-stat';
import { sourceParseError } from './parse-error';
import type { MetricSource, OsReader } from './source';

/** The kernel's USER_HZ as exported to user space: fixed at 100 on every Linux architecture. */
export const USER_HZ = 100;

/** node_cpu_seconds_total{cpu,mode} from parsed /proc/stat. */
export function mapCpuStat(stat: ProcStat): Point[] {
  const points: Point[] = [];
  for (let i = 0; i < stat.cpus.length; i++) pushCpu(points, stat.cpus[i]!.cpu, stat.cpus[i]!.ticks, USER_HZ);
  return points;
}

/** node_cpu_seconds_total from node's os.cpus() (times in ms), for hosts without /proc. */
export function mapOsCpus(cpus: ReturnType<OsReader['cpus']>): Point[] {
  const points: Point[] = [];
  cpus.forEach((c, i) => {
    const ticks: CpuTicks['ticks'] = { user: c.times.user, nice: c.times.nice, system: c.times.sys, idle: c.times.idle, irq: c.times.irq };
    pushCpu(points, String(i), ticks, 1000);
  });
  return points;
}

/** In CPU_MODES order, by index: no entries array or iterator per CPU and cycle. */
function pushCpu(points: Point[], cpu: string, ticks: CpuTicks['ticks'], perSecond: number): void {
  for (let i = 0; i < CPU_MODES.length; i++) {
    const mode = CPU_MODES[i]!;
    const value = ticks[mode];
    if (value !== undefined) points.push({ name: 'node_cpu_seconds_total', labels: { cpu, mode }, value: value / perSecond });
  }
}

export const cpuSource: MetricSource = {
  name: 'cpu',
  defaultEnabled: true,
  create(_options, deps) {
    return {
      async collect(ctx) {
        if (deps.platform !== 'linux') return mapOsCpus(deps.os.cpus());
        const stat = parseProcStat(await deps.readFile('/proc/stat', ctx.signal));
        if (stat.cpus.length === 0) throw sourceParseError('/proc/stat', 'no per-cpu lines');
        return mapCpuStat(stat);
      },
    };
  },
};
