import { ThrottledLog, type Logger } from '@ximp/shared';

export interface FaultReporterOptions {
  log: Logger;
  now(): number;
  /** One line per kind per window (default 60 s). */
  windowMs?: number;
}

/**
 * The collector-wide place where a fault that must not take the process down goes: a storage
 * error in a session, an upgrade or an API route, a failing timer. Each fault is counted by its
 * `kind` (a fixed word chosen in code, e.g. `store_commit`, `upgrade`) for
 * `ximp_collector_faults_total{kind}` and logged at most once per kind per minute, with the
 * number of faults folded into that line.
 */
export class FaultReporter {
  private readonly throttled: ThrottledLog;

  constructor(options: FaultReporterOptions) {
    this.throttled = new ThrottledLog({ log: options.log, now: options.now, windowMs: options.windowMs });
  }

  /** Counts one fault of `kind` and logs it unless a line for `kind` was written this window. */
  report(kind: string, err: unknown, fields: Record<string, unknown> = {}): void {
    this.throttled.report('error', kind, { ...fields, kind, err: describe(err) }, 'collector fault, carrying on');
  }

  /** Faults counted since start, per kind. */
  totals(): ReadonlyMap<string, number> {
    return this.throttled.totalsByKey();
  }

  /** Faults of one kind counted since start. */
  total(kind: string): number {
    return this.throttled.total(kind);
  }
}

/** The message and code of an error (never its full object, which could hold request data). */
function describe(err: unknown): { message: string; code?: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? { message: err.message, code } : { message: err.message };
  }
  return { message: String(err) };
}
