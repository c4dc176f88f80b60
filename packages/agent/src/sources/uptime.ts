import type { Point } from '../point';
import { parseBootTime } from './proc-stat';
import type { MetricSource } from './source';

/** node_boot_time_seconds and node_time_seconds (both unix seconds). */
export function mapUptime(bootTimeSeconds: number, nowMs: number): Point[] {
  return [
    { name: 'node_boot_time_seconds', labels: {}, value: bootTimeSeconds },
    { name: 'node_time_seconds', labels: {}, value: nowMs / 1000 },
  ];
}

export const uptimeSource: MetricSource = {
  name: 'uptime',
  defaultEnabled: true,
  create(_options, deps) {
    return {
      async collect(ctx) {
        if (deps.platform !== 'linux') {
          // Whole seconds, like btime, so the series does not jitter with each cycle.
          return mapUptime(Math.round(ctx.nowMs / 1000 - deps.os.uptime()), ctx.nowMs);
        }
        return mapUptime(parseBootTime(await deps.readFile('/proc/stat', ctx.signal)), ctx.nowMs);
      },
    };
  },
};
