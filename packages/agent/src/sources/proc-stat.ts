import { parseKernelColumn, parseKernelNumber, sourceParseError, splitFields } from './parse-error';

/** node_exporter's CPU modes, in /proc/stat column order. */
export const CPU_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;
export type CpuMode = (typeof CPU_MODES)[number];

/** One "cpuN" line: the ticks of each mode the kernel printed (old kernels print fewer). */
export interface CpuTicks {
  cpu: string;
  ticks: Partial<Record<CpuMode, number>>;
}

export interface ProcStat {
  /** Per-CPU lines only; the aggregate "cpu" line is left out, as node_exporter does. */
  cpus: CpuTicks[];
}

const FILE = '/proc/stat';

/**
 * The cpu lines of /proc/stat (its btime line is parseBootTime's). A cpu line needs at least
 * user, nice, system and idle; columns beyond steal (guest, guest_nice and any future ones) are
 * ignored. Other lines are skipped unsplit: "intr" alone holds one column per interrupt
 * (thousands on a large host), and splitting it would cost more than the rest of the file.
 */
export function parseProcStat(text: string): ProcStat {
  const cpus: CpuTicks[] = [];
  let sawAggregate = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu')) continue;
    const fields = splitFields(line);
    const key = fields[0];
    if (key === 'cpu') {
      sawAggregate = true;
    } else if (key !== undefined && /^cpu\d+$/.test(key)) {
      if (fields.length < 5) throw sourceParseError(FILE, `${key}: expected at least 4 columns (actual: ${fields.length - 1})`);
      const ticks: Partial<Record<CpuMode, number>> = {};
      for (let i = 0; i < CPU_MODES.length && i + 1 < fields.length; i++) {
        ticks[CPU_MODES[i]!] = parseKernelColumn(fields[i + 1], FILE, key, CPU_MODES[i]!);
      }
      cpus.push({ cpu: key.slice(3), ticks });
    }
  }
  if (cpus.length === 0 && !sawAggregate) throw sourceParseError(FILE, 'no cpu lines (empty or not a stat file)');
  return { cpus };
}

/**
 * The "btime" line of /proc/stat alone (boot time, unix seconds), for the uptime source: it
 * skips the cpu lines (one per CPU) that parseProcStat reads, and a bad cpu line fails the cpu
 * source, not this one.
 */
export function parseBootTime(text: string): number {
  for (let at = 0; at < text.length; ) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    if (text.startsWith('btime', at)) {
      const fields = splitFields(text.slice(at, end));
      if (fields[0] === 'btime') return parseKernelNumber(fields[1], FILE, 'btime');
    }
    at = end + 1;
  }
  throw sourceParseError(FILE, 'missing btime');
}
