import type { ChartSpec, NamedSeries } from './chart-spec';
import type { Series } from './series-math';

const label = (name: string) => (l: Record<string, string>) => (l.device ? `${name} ${l.device}` : name);

/**
 * Filesystem use in percent per mount point: 100 × (1 − available / size), from the two series
 * of each mount at equal times.
 */
export function filesystemUse(avail: Series[], size: Series[]): NamedSeries[] {
  const out: NamedSeries[] = [];
  for (const a of avail) {
    const mount = a.labels.mountpoint ?? a.labels.device ?? '?';
    const s = size.find((x) => x.labels.mountpoint === a.labels.mountpoint && x.labels.device === a.labels.device);
    if (!s) continue;
    const sizeAt = new Map(s.points);
    const points: [number, number][] = [];
    for (const [t, v] of a.points) {
      const total = sizeAt.get(t);
      if (total !== undefined && total > 0) points.push([t, 100 * (1 - v / total)]);
    }
    out.push({ labels: a.labels, name: mount, points });
  }
  return out.sort((x, y) => x.name.localeCompare(y.name));
}

/** The Node page's charts, from what the agent's sources report (node_exporter's names). */
export const NODE_CHARTS: readonly ChartSpec[] = [
  {
    title: 'CPU by mode',
    unit: 'percent',
    queries: [{ metric: 'node_cpu_seconds_total', function: 'rate', aggregation: 'avg', by: ['mode'], scale: 100, name: (l) => l.mode ?? 'cpu' }],
  },
  {
    title: 'Memory',
    unit: 'bytes',
    queries: [
      { metric: 'node_memory_MemTotal_bytes', function: 'raw', aggregation: 'none', name: () => 'total' },
      { metric: 'node_memory_MemAvailable_bytes', function: 'raw', aggregation: 'none', name: () => 'available' },
      { metric: 'node_memory_Cached_bytes', function: 'raw', aggregation: 'none', name: () => 'cached' },
      { metric: 'node_memory_MemFree_bytes', function: 'raw', aggregation: 'none', name: () => 'free' },
    ],
  },
  {
    title: 'Load',
    unit: 'none',
    queries: [
      { metric: 'node_load1', function: 'raw', aggregation: 'none', name: () => '1 min' },
      { metric: 'node_load5', function: 'raw', aggregation: 'none', name: () => '5 min' },
      { metric: 'node_load15', function: 'raw', aggregation: 'none', name: () => '15 min' },
    ],
  },
  {
    title: 'Network',
    unit: 'bytes/s',
    queries: [
      { metric: 'node_network_receive_bytes_total', function: 'rate', aggregation: 'sum', by: ['device'], name: label('in') },
      { metric: 'node_network_transmit_bytes_total', function: 'rate', aggregation: 'sum', by: ['device'], name: label('out') },
    ],
  },
  {
    title: 'Disk I/O',
    unit: 'bytes/s',
    queries: [
      { metric: 'node_disk_read_bytes_total', function: 'rate', aggregation: 'sum', by: ['device'], name: label('read') },
      { metric: 'node_disk_written_bytes_total', function: 'rate', aggregation: 'sum', by: ['device'], name: label('write') },
    ],
  },
  {
    title: 'Filesystem use',
    unit: 'percent',
    queries: [
      { metric: 'node_filesystem_avail_bytes', function: 'raw', aggregation: 'none' },
      { metric: 'node_filesystem_size_bytes', function: 'raw', aggregation: 'none' },
    ],
    derive: ([avail, size]) => filesystemUse(avail ?? [], size ?? []),
  },
];
