import { parseDashboard, type DashboardInput } from './dashboard';

/** The id of the built-in dashboard every collector has from its first start. */
export const NODE_OVERVIEW_ID = 'node-overview';

/**
 * The built-in "Node overview" (issue 9): one node's CPU by mode, memory, load, network, disk
 * I/O and filesystems, on the metric names the agent's sources emit (node_exporter's). Read
 * through the same parser as every dashboard, so it cannot drift from what the API accepts.
 */
export const NODE_OVERVIEW: DashboardInput = parseDashboard(
  JSON.stringify({
    name: 'Node overview',
    panels: [
      { title: 'CPU by mode', metric: 'node_cpu_seconds_total', function: 'rate', aggregation: 'sum', by: ['mode'], unit: 'none' },
      { title: 'Memory available', metric: 'node_memory_MemAvailable_bytes', unit: 'bytes' },
      { title: 'Memory total', metric: 'node_memory_MemTotal_bytes', unit: 'bytes' },
      { title: 'Load (1 minute)', metric: 'node_load1', unit: 'none' },
      { title: 'Load (5 minutes)', metric: 'node_load5', unit: 'none' },
      { title: 'Network received', metric: 'node_network_receive_bytes_total', function: 'rate', aggregation: 'sum', by: ['device'], unit: 'bytes/s' },
      { title: 'Network sent', metric: 'node_network_transmit_bytes_total', function: 'rate', aggregation: 'sum', by: ['device'], unit: 'bytes/s' },
      { title: 'Disk read', metric: 'node_disk_read_bytes_total', function: 'rate', aggregation: 'sum', by: ['device'], unit: 'bytes/s' },
      { title: 'Disk written', metric: 'node_disk_written_bytes_total', function: 'rate', aggregation: 'sum', by: ['device'], unit: 'bytes/s' },
      { title: 'Filesystem available', metric: 'node_filesystem_avail_bytes', aggregation: 'sum', by: ['mountpoint'], unit: 'bytes' },
      { title: 'Filesystem size', metric: 'node_filesystem_size_bytes', aggregation: 'sum', by: ['mountpoint'], unit: 'bytes' },
    ],
  }),
  'built-in dashboard',
);
