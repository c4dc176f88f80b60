'use strict';
/**
 * `count` series shaped like a node_exporter host's, for the store benchmarks: three fifths
 * per-CPU mode counters (two labels), the rest filesystems (three labels).
 */
function nodeExporterSeries(count) {
  const series = [];
  const modes = ['idle', 'user', 'system', 'iowait', 'irq', 'softirq', 'steal', 'nice'];
  for (let cpu = 0; series.length < count * 0.6; cpu++) {
    for (const mode of modes) series.push({ name: 'node_cpu_seconds_total', labels: [{ name: 'cpu', value: String(cpu) }, { name: 'mode', value: mode }] });
  }
  for (let i = 0; series.length < count; i++) {
    series.push({
      name: 'node_filesystem_avail_bytes',
      labels: [{ name: 'device', value: `/dev/sd${i}` }, { name: 'fstype', value: 'ext4' }, { name: 'mountpoint', value: `/mnt/disk${i}` }],
    });
  }
  return series.slice(0, count);
}

module.exports = { nodeExporterSeries };
