import { performance } from 'node:perf_hooks';
import { ErrorCodes, XimpError, type Logger } from '@ximp/shared';
import type { Point } from './point';
import type { SourceInstance } from './sources/source';

// createSources lives beside BUILTIN_SOURCES; exported here too, where the scheduler's users look.
export { createSources } from './sources/index';

/** A source's deadline per cycle when none is given: half the interval, at most 5 s. */
export function defaultSourceTimeoutMs(intervalMs: number): number {
  return Math.max(1, Math.min(Math.floor(intervalMs / 2), 5000));
}

export interface SchedulerOptions {
  sources: SourceInstance[];
  /** Per-source deadline, ms; default defaultSourceTimeoutMs(intervalMs), or 5 s without an interval. */
  timeoutMs?: number;
  intervalMs?: number;
  log: Logger;
}

interface SourceState {
  /** The last collect that has not settled yet; a new cycle does not start another beside it. */
  inFlight: Promise<unknown> | null;
  /** True from a failure until the next success, so a failure streak logs one warning. */
  failing: boolean;
}

type Outcome = { ok: true; points: Point[] } | { ok: false; error: unknown };

/**
 * Runs the enabled sources concurrently, each under its own deadline. A source that throws, hangs
 * or is still busy from the last cycle costs only its own points; every source reports
 * ximp_agent_source_duration_seconds{source} and ximp_agent_source_success{source}.
 */
export class Scheduler {
  private readonly sources: SourceInstance[];
  private readonly timeoutMs: number;
  private readonly log: Logger;
  private readonly state = new Map<SourceInstance, SourceState>();
  private controller = new AbortController();

  constructor(options: SchedulerOptions) {
    this.sources = [...options.sources];
    this.timeoutMs = options.timeoutMs ?? (options.intervalMs !== undefined ? defaultSourceTimeoutMs(options.intervalMs) : 5000);
    this.log = options.log;
    for (const s of this.sources) this.state.set(s, { inFlight: null, failing: false });
  }

  get sourceNames(): string[] {
    return this.sources.map((s) => s.name);
  }

  /**
   * One cycle: every source's points, then the self-metrics. Never rejects. The sources start
   * together under the same deadline, so one timer and one abort signal serve them all: what is
   * still running when it fires is exactly what would have timed out on its own.
   */
  async collectOnce(nowMs: number): Promise<Point[]> {
    // A cycle that ends before its deadline leaves the signal unaborted and free of listeners, so
    // the next cycle reuses it: a new AbortSignal is an EventTarget, and this runs every second.
    if (this.controller.signal.aborted) this.controller = new AbortController();
    const controller = this.controller;
    let timer: NodeJS.Timeout | undefined;
    // Every duration counts from here, where the deadline does: a source started late in the same
    // cycle (after a pause of the process, or a source that blocked before returning its promise)
    // still reports the time it was due for, and a hung one exactly its timeout.
    const startedAt = performance.now();
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve();
      }, this.timeoutMs);
    });
    let runs: { source: SourceInstance; seconds: number; outcome: Outcome }[];
    try {
      runs = await Promise.all(this.sources.map((s) => this.runOne(s, nowMs, startedAt, controller.signal, deadline)));
    } finally {
      clearTimeout(timer);
    }
    // Indexed loops: this runs every cycle, and without a JIT each for-of step allocates.
    const points: Point[] = [];
    for (let r = 0; r < runs.length; r++) {
      const outcome = runs[r]!.outcome;
      if (!outcome.ok) continue;
      for (let i = 0; i < outcome.points.length; i++) points.push(outcome.points[i]!);
    }
    for (let r = 0; r < runs.length; r++) {
      const { source, seconds, outcome } = runs[r]!;
      points.push(
        { name: 'ximp_agent_source_duration_seconds', labels: { source: source.name }, value: seconds },
        { name: 'ximp_agent_source_success', labels: { source: source.name }, value: outcome.ok ? 1 : 0 },
      );
    }
    return points;
  }

  private async runOne(
    source: SourceInstance,
    nowMs: number,
    startedAt: number,
    signal: AbortSignal,
    deadline: Promise<void>,
  ): Promise<{ source: SourceInstance; seconds: number; outcome: Outcome }> {
    const state = this.state.get(source) as SourceState;
    let outcome: Outcome;
    if (state.inFlight !== null) {
      outcome = { ok: false, error: new XimpError(ErrorCodes.SOURCE_TIMEOUT, `${source.name}: still running since an earlier cycle`) };
    } else {
      outcome = await this.collectWithDeadline(source, state, nowMs, signal, deadline);
    }
    const seconds = (performance.now() - startedAt) / 1000;
    this.report(source, state, outcome);
    return { source, seconds, outcome };
  }

  private collectWithDeadline(
    source: SourceInstance,
    state: SourceState,
    nowMs: number,
    signal: AbortSignal,
    deadline: Promise<void>,
  ): Promise<Outcome> {
    let call: Promise<Point[]>;
    try {
      call = Promise.resolve(source.collect({ nowMs, signal }));
    } catch (err) {
      call = Promise.reject(err);
    }
    state.inFlight = call;
    const settle = (): void => {
      if (state.inFlight === call) state.inFlight = null;
    };
    call.then(settle, settle);

    return new Promise<Outcome>((resolve) => {
      void deadline.then(() =>
        resolve({ ok: false, error: new XimpError(ErrorCodes.SOURCE_TIMEOUT, `${source.name}: no result within ${this.timeoutMs} ms`) }),
      );
      call.then(
        (points) => resolve(Array.isArray(points) ? { ok: true, points } : { ok: false, error: new Error(`${source.name}: collect returned no list`) }),
        (error: unknown) => resolve({ ok: false, error }),
      );
    });
  }

  private report(source: SourceInstance, state: SourceState, outcome: Outcome): void {
    if (outcome.ok) {
      if (state.failing) this.log.info({ source: source.name }, 'source recovered');
      state.failing = false;
      return;
    }
    const err = outcome.error;
    const detail = {
      source: source.name,
      code: err instanceof XimpError ? err.code : (err as { code?: unknown } | null)?.code,
      error: err instanceof Error ? err.message : String(err),
    };
    if (state.failing) {
      this.log.debug(detail, 'source failed again');
    } else {
      this.log.warn(detail, 'source failed');
      state.failing = true;
    }
  }
}
