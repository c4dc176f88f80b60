import type { Systeminformation } from 'systeminformation';
import type { Point } from '../point';
import { boundedMemo, lastInputMemo } from './memo';
import { parseKernelColumn, sourceParseError, splitFields } from './parse-error';
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
  const { receiveCols, transmitCols } = netDevColumns(lines[1] ?? '');
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
    const receiveRow = `${device} receive`;
    const transmitRow = `${device} transmit`;
    for (let i = 0; i < receiveCols.length; i++) receive[receiveCols[i]!] = parseKernelColumn(values[i], FILE, receiveRow, receiveCols[i]!);
    for (let i = 0; i < transmitCols.length; i++) {
      transmit[transmitCols[i]!] = parseKernelColumn(values[receiveCols.length + i], FILE, transmitRow, transmitCols[i]!);
    }
    result.push({ device, receive, transmit });
  }
  return result;
}

interface NetDevColumns {
  receiveCols: string[];
  transmitCols: string[];
}

/**
 * The receive and transmit column names of the header line ("face |bytes packets ...|bytes ...").
 * The header is the same on every read: its columns are checked once, not every cycle.
 */
const netDevColumns = lastInputMemo((line: string): NetDevColumns => {
  const header = line.split('|');
  if (header.length !== 3) throw sourceParseError(FILE, 'missing "face |bytes ...|bytes ..." header (empty or not a net/dev file)');
  const receiveCols = splitFields(header[1] ?? '');
  const transmitCols = splitFields(header[2] ?? '');
  if (receiveCols.length === 0 || transmitCols.length === 0) throw sourceParseError(FILE, 'header names no columns');
  for (const col of [...receiveCols, ...transmitCols]) {
    if (!/^[a-z][a-z0-9_]*$/.test(col)) throw sourceParseError(FILE, `header column ${JSON.stringify(col.slice(0, 40))} is not a plain name`);
  }
  return { receiveCols, transmitCols };
});

/** node_network_{receive,transmit}_<column>_total{device}, as node_exporter's netdev collector. */
export function mapNetDev(stats: NetDevStats[], exclude?: RegExp): Point[] {
  const points: Point[] = [];
  for (const { device, receive, transmit } of stats) {
    if (exclude?.test(device)) continue;
    const labels = { device };
    for (const col in receive) points.push({ name: receiveName(col), labels, value: receive[col]! });
    for (const col in transmit) points.push({ name: transmitName(col), labels, value: transmit[col]! });
  }
  return points;
}

/** Metric names by column, built once: the columns are the header's, a few dozen at most. */
const receiveName = boundedMemo((col) => `node_network_receive_${col}_total`, 256);
const transmitName = boundedMemo((col) => `node_network_transmit_${col}_total`, 256);

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
