import type { Systeminformation } from 'systeminformation';
import type { Point } from '../point';
import { parseKernelNumber, sourceParseError, splitFields } from './parse-error';
import type { MetricSource } from './source';

const FILE = '/proc/net/dev';

/** One interface of /proc/net/dev: its columns by the names the header gives them. */
export interface NetDevStats {
  device: string;
  receive: Record<string, number>;
  transmit: Record<string, number>;
}

/**
 * Parses /proc/net/dev. The column names come from the header (as node_exporter reads them), so
 * a kernel that adds a column adds a series instead of shifting the others. The number after
 * "eth0:" may follow the colon without a blank once it grows large.
 */
export function parseNetDev(text: string): NetDevStats[] {
  const lines = text.split('\n');
  const header = (lines[1] ?? '').split('|');
  if (header.length !== 3) throw sourceParseError(FILE, 'missing "face |bytes ...|bytes ..." header (empty or not a net/dev file)');
  const receiveCols = splitFields(header[1] ?? '');
  const transmitCols = splitFields(header[2] ?? '');
  if (receiveCols.length === 0 || transmitCols.length === 0) throw sourceParseError(FILE, 'header names no columns');
  for (const col of [...receiveCols, ...transmitCols]) {
    if (!/^[a-z][a-z0-9_]*$/.test(col)) throw sourceParseError(FILE, `header column ${JSON.stringify(col.slice(0, 40))} is not a plain name`);
  }
  const result: NetDevStats[] = [];
  for (const line of lines.slice(2)) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    if (colon < 0) throw sourceParseError(FILE, `line without "device:" (${JSON.stringify(line.slice(0, 40))})`);
    const device = line.slice(0, colon).trim();
    const values = splitFields(line.slice(colon + 1));
    if (values.length < receiveCols.length + transmitCols.length) {
      throw sourceParseError(FILE, `${device}: expected ${receiveCols.length + transmitCols.length} columns (actual: ${values.length})`);
    }
    const receive: Record<string, number> = {};
    const transmit: Record<string, number> = {};
    receiveCols.forEach((col, i) => (receive[col] = parseKernelNumber(values[i], FILE, `${device} receive ${col}`)));
    transmitCols.forEach((col, i) => (transmit[col] = parseKernelNumber(values[receiveCols.length + i], FILE, `${device} transmit ${col}`)));
    result.push({ device, receive, transmit });
  }
  return result;
}

/** node_network_{receive,transmit}_<column>_total{device}, as node_exporter's netdev collector. */
export function mapNetDev(stats: NetDevStats[], exclude?: RegExp): Point[] {
  const points: Point[] = [];
  for (const { device, receive, transmit } of stats) {
    if (exclude?.test(device)) continue;
    for (const [col, value] of Object.entries(receive)) {
      points.push({ name: `node_network_receive_${col}_total`, labels: { device }, value });
    }
    for (const [col, value] of Object.entries(transmit)) {
      points.push({ name: `node_network_transmit_${col}_total`, labels: { device }, value });
    }
  }
  return points;
}

/** The same series from systeminformation's networkStats, for hosts without /proc. */
export function mapSiNetworkStats(stats: Systeminformation.NetworkStatsData[]): NetDevStats[] {
  return stats.map((s) => ({
    device: s.iface,
    receive: { bytes: s.rx_bytes, errs: s.rx_errors, drop: s.rx_dropped },
    transmit: { bytes: s.tx_bytes, errs: s.tx_errors, drop: s.tx_dropped },
  }));
}

export const networkSource: MetricSource = {
  name: 'network',
  defaultEnabled: true,
  create(options, deps) {
    return {
      async collect(ctx) {
        if (deps.platform !== 'linux') return mapNetDev(mapSiNetworkStats(await deps.si.networkStats('*')), options.netDeviceExclude);
        return mapNetDev(parseNetDev(await deps.readFile(FILE, ctx.signal)), options.netDeviceExclude);
      },
    };
  },
};
