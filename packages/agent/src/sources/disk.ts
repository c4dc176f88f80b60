import { ErrorCodes, XimpError } from '@ximp/shared';
import type { Point } from '../point';
import { parseKernelColumn, parseKernelNumber, splitFields } from './parse-error';
import type { MetricSource } from './source';

const FILE = '/proc/diskstats';

/** node_exporter's default --collector.diskstats.device-exclude: partitions, RAM, loop, floppy. */
export const DEFAULT_DISK_DEVICE_EXCLUDE = /^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$/;

/** The third column of a diskstats line: major, minor, then the device name. */
const DEVICE_COLUMN = /^\s*\S+\s+\S+\s+(\S+)/;

/** One /proc/diskstats line: the device and the statistics after it (11, 15 or 17 of them). */
export interface DiskStats {
  major: number;
  minor: number;
  device: string;
  stats: number[];
}

/**
 * Parses /proc/diskstats. Lines with fewer than the 11 classic statistics (partitions on 2.6
 * kernels print 4) are skipped. An empty file is a host without block devices, not an error.
 */
export function parseDiskstats(text: string, exclude?: RegExp): DiskStats[] {
  const disks: DiskStats[] = [];
  for (const line of text.split('\n')) {
    // Partitions and loop devices (dozens on some hosts) are left out before the line is split.
    if (exclude !== undefined) {
      const device = DEVICE_COLUMN.exec(line)?.[1];
      if (device !== undefined && exclude.test(device)) continue;
    }
    const fields = splitFields(line);
    if (fields.length < 3 + 11) continue;
    const device = fields[2]!;
    const row = `${device} column`;
    const stats: number[] = [];
    for (let i = 3; i < fields.length; i++) stats.push(parseKernelColumn(fields[i], FILE, row, i + 1));
    disks.push({ major: parseKernelNumber(fields[0], FILE, 'major'), minor: parseKernelNumber(fields[1], FILE, 'minor'), device, stats });
  }
  return disks;
}

/**
 * Statistic index -> node_exporter name and the kernel's unit: sectors are 512 bytes whatever
 * the device's block size, times are milliseconds.
 */
type DiskUnit = 1 | 'sectors' | 'ms';
const DISK_STATS: ReadonlyArray<readonly [number, string, DiskUnit]> = [
  [0, 'node_disk_reads_completed_total', 1],
  [1, 'node_disk_reads_merged_total', 1],
  [2, 'node_disk_read_bytes_total', 'sectors'],
  [3, 'node_disk_read_time_seconds_total', 'ms'],
  [4, 'node_disk_writes_completed_total', 1],
  [5, 'node_disk_writes_merged_total', 1],
  [6, 'node_disk_written_bytes_total', 'sectors'],
  [7, 'node_disk_write_time_seconds_total', 'ms'],
  [8, 'node_disk_io_now', 1],
  [9, 'node_disk_io_time_seconds_total', 'ms'],
  [10, 'node_disk_io_time_weighted_seconds_total', 'ms'],
  // Linux 4.18+
  [11, 'node_disk_discards_completed_total', 1],
  [12, 'node_disk_discards_merged_total', 1],
  [13, 'node_disk_discarded_sectors_total', 1],
  [14, 'node_disk_discard_time_seconds_total', 'ms'],
  // Linux 5.5+
  [15, 'node_disk_flush_requests_total', 1],
  [16, 'node_disk_flush_requests_time_seconds_total', 'ms'],
];

/** node_disk_*{device} for every device the exclude pattern keeps. */
export function mapDiskstats(disks: DiskStats[], exclude: RegExp = DEFAULT_DISK_DEVICE_EXCLUDE): Point[] {
  const points: Point[] = [];
  // Indexed loops, no destructuring: without a JIT each for-of step and array pattern allocates.
  for (let d = 0; d < disks.length; d++) {
    const { device, stats } = disks[d]!;
    if (exclude.test(device)) continue;
    const labels = { device };
    for (let k = 0; k < DISK_STATS.length; k++) {
      const stat = DISK_STATS[k]!;
      const name = stat[1];
      const unit = stat[2];
      const raw = stats[stat[0]];
      if (raw === undefined) break;
      const value = unit === 'sectors' ? raw * 512 : unit === 'ms' ? raw / 1000 : raw;
      points.push({ name, labels, value });
    }
  }
  return points;
}

export const diskSource: MetricSource = {
  name: 'disk',
  defaultEnabled: true,
  create(options, deps) {
    const exclude = options.diskDeviceExclude ?? DEFAULT_DISK_DEVICE_EXCLUDE;
    return {
      async collect(ctx) {
        if (deps.platform !== 'linux') {
          throw new XimpError(ErrorCodes.SOURCE_UNAVAILABLE, `disk: not available on ${deps.platform}`);
        }
        return mapDiskstats(parseDiskstats(await deps.readFile(FILE, ctx.signal), exclude), exclude);
      },
    };
  },
};
