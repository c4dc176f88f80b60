/** Remote write 1.0's MetricMetadata.MetricType values used here. */
export const MetricType = Object.freeze({ COUNTER: 1, GAUGE: 2 } as const);

export interface FamilyMetadata {
  type: (typeof MetricType)[keyof typeof MetricType];
  /** `bytes`, `seconds` or '' (as the name's suffix says). */
  unit: string;
  help: string;
}

const counter = (help: string, unit = ''): FamilyMetadata => ({ type: MetricType.COUNTER, unit, help });
const gauge = (help: string, unit = ''): FamilyMetadata => ({ type: MetricType.GAUGE, unit, help });

/**
 * Type, unit and help of the families the agent's sources emit, worded as node_exporter's, so a
 * store shows the same metadata it would for node_exporter. Families named by pattern (memory,
 * network) are in `familyMetadata` below.
 */
const FAMILIES: ReadonlyMap<string, FamilyMetadata> = new Map([
  ['up', gauge('1 while the agent is connected and active, else 0.')],
  ['node_cpu_seconds_total', counter('Seconds the CPUs spent in each mode.', 'seconds')],
  ['node_load1', gauge('1m load average.')],
  ['node_load5', gauge('5m load average.')],
  ['node_load15', gauge('15m load average.')],
  ['node_boot_time_seconds', gauge('Node boot time, in unixtime.', 'seconds')],
  ['node_time_seconds', gauge('System time in seconds since epoch (1970).', 'seconds')],
  ['node_filesystem_size_bytes', gauge('Filesystem size in bytes.', 'bytes')],
  ['node_filesystem_free_bytes', gauge('Filesystem free space in bytes.', 'bytes')],
  ['node_filesystem_avail_bytes', gauge('Filesystem space available to non-root users in bytes.', 'bytes')],
  ['node_filesystem_files', gauge('Filesystem total file nodes.')],
  ['node_filesystem_files_free', gauge('Filesystem total free file nodes.')],
  ['node_filesystem_readonly', gauge('Filesystem read-only status.')],
  ['node_filesystem_device_error', gauge('Whether an error occurred while getting statistics for the given device.')],
  ['node_disk_reads_completed_total', counter('The total number of reads completed successfully.')],
  ['node_disk_reads_merged_total', counter('The total number of reads merged.')],
  ['node_disk_read_bytes_total', counter('The total number of bytes read successfully.', 'bytes')],
  ['node_disk_read_time_seconds_total', counter('The total number of seconds spent by all reads.', 'seconds')],
  ['node_disk_writes_completed_total', counter('The total number of writes completed successfully.')],
  ['node_disk_writes_merged_total', counter('The number of writes merged.')],
  ['node_disk_written_bytes_total', counter('The total number of bytes written successfully.', 'bytes')],
  ['node_disk_write_time_seconds_total', counter('This is the total number of seconds spent by all writes.', 'seconds')],
  ['node_disk_io_now', gauge('The number of I/Os currently in progress.')],
  ['node_disk_io_time_seconds_total', counter('Total seconds spent doing I/Os.', 'seconds')],
  ['node_disk_io_time_weighted_seconds_total', counter('The weighted # of seconds spent doing I/Os.', 'seconds')],
  ['node_disk_discards_completed_total', counter('The total number of discards completed successfully.')],
  ['node_disk_discards_merged_total', counter('The total number of discards merged.')],
  ['node_disk_discarded_sectors_total', counter('The total number of sectors discarded successfully.')],
  ['node_disk_discard_time_seconds_total', counter('This is the total number of seconds spent by all discards.', 'seconds')],
  ['node_disk_flush_requests_total', counter('The total number of flush requests completed successfully')],
  ['node_disk_flush_requests_time_seconds_total', counter('This is the total number of seconds spent by all flush requests.', 'seconds')],
]);

const MEMORY = /^node_memory_([A-Za-z0-9_]+?)(_bytes)?$/;
const NETWORK = /^node_network_((?:receive|transmit)_[a-z0-9_]+)_total$/;

/** The metadata of a family the agent emits, or undefined for any other name. */
export function familyMetadata(name: string): FamilyMetadata | undefined {
  const known = FAMILIES.get(name);
  if (known !== undefined) return known;
  let m = MEMORY.exec(name);
  if (m !== null) {
    const field = m[2] === undefined ? m[1] : `${m[1]}_bytes`;
    return gauge(`Memory information field ${field}.`, m[2] === undefined ? '' : 'bytes');
  }
  m = NETWORK.exec(name);
  if (m !== null) return counter(`Network device statistic ${m[1]}.`, m[1].endsWith('_bytes') ? 'bytes' : '');
  return undefined;
}
