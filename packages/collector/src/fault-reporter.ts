import { ThrottledLog, type Logger } from '@ximp/shared';

/**
 * Where a handler reports a fault it survived (a storage error in an upgrade or an API request):
 * one log line per kind per minute with a count (ThrottledLog), and every fault counted per kind
 * for /metrics. `kind` is a fixed word chosen in code (`agent_upgrade`, `api_storage`).
 */
export class FaultReporter {
  private readonly throttled: ThrottledLog;

  constructor(options: { log: Logger; now(): number; windowMs?: number }) {
    this.throttled = new ThrottledLog(options);
  }

  report(kind: string, err: unknown, fields: Record<string, unknown> = {}): void {
    this.throttled.report('error', kind, { ...fields, kind, err }, 'fault survived, still serving');
  }

  /** Faults of `kind` since start. */
  total(kind: string): number {
    return this.throttled.total(kind);
  }

  /** Every kind's total, for /metrics. */
  totals(): ReadonlyMap<string, number> {
    return this.throttled.totalsByKey();
  }
}
