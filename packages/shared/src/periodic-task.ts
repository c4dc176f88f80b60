/** What a PeriodicTask needs: the work, how often, and where its errors go. */
export interface PeriodicTaskOptions {
  /** The work; a run that is still going when the next is due makes that one skip. */
  run(): void | Promise<void>;
  everyMs: number;
  /** Errors thrown or rejected by a run (a timer must never throw into the void). */
  onError(err: unknown): void;
  /** Run once at start, before the first period (default true). */
  runAtStart?: boolean;
  /** Random share of the period added to each wait (0..1, default 0), so a fleet does not run in step. */
  jitter?: number;
  random?: () => number;
}

/** A repeated job: start, stop, no overlapping runs, errors reported, never keeps the process alive. */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private started = false;

  constructor(private readonly o: PeriodicTaskOptions) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    if (this.o.runAtStart ?? true) void this.runNow();
    this.schedule();
  }

  stop(): void {
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Runs now unless a run is in progress (then waits for that one); never rejects. */
  runNow(): Promise<void> {
    if (this.running) return this.running;
    const run = (async () => {
      try {
        await this.o.run();
      } catch (err) {
        this.o.onError(err);
      }
    })().finally(() => {
      this.running = undefined;
    });
    this.running = run;
    return run;
  }

  /** The run in progress, if any (a stop waits for it). */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  /** The wait before the next run: the period plus up to `jitter` of it. */
  nextWaitMs(): number {
    const jitter = Math.min(Math.max(this.o.jitter ?? 0, 0), 1);
    return this.o.everyMs * (1 + jitter * (this.o.random ?? Math.random)());
  }

  private schedule(): void {
    // A run that ends after a stop and a new start finds the new start's wait already set: one chain only.
    if (!this.started || this.timer) return;
    const wait = this.nextWaitMs();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runNow().finally(() => this.schedule());
    }, wait);
    this.timer.unref();
  }
}
