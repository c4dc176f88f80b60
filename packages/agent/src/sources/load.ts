import type { Point } from '../point';
import { parseKernelNumber, splitFields } from './parse-error';
import type { MetricSource } from './source';

const FILE = '/proc/loadavg';

/** The 1, 5 and 15 minute load averages from /proc/loadavg ("0.09 0.21 0.10 2/99 4705"). */
export function parseLoadavg(text: string): [number, number, number] {
  const fields = splitFields(text.split('\n')[0] ?? '');
  return [
    parseKernelNumber(fields[0], FILE, 'load1'),
    parseKernelNumber(fields[1], FILE, 'load5'),
    parseKernelNumber(fields[2], FILE, 'load15'),
  ];
}

/** node_load1, node_load5, node_load15. */
export function mapLoad(load: readonly number[]): Point[] {
  return [
    { name: 'node_load1', labels: {}, value: load[0] ?? 0 },
    { name: 'node_load5', labels: {}, value: load[1] ?? 0 },
    { name: 'node_load15', labels: {}, value: load[2] ?? 0 },
  ];
}

export const loadSource: MetricSource = {
  name: 'load',
  defaultEnabled: true,
  create(_options, deps) {
    return {
      async collect(ctx) {
        if (deps.platform !== 'linux') return mapLoad(deps.os.loadavg());
        return mapLoad(parseLoadavg(await deps.readFile(FILE, ctx.signal)));
      },
    };
  },
};
