export type CancelTimer = () => void;

/** Node caps setTimeout at 2^31-1 ms (~24.8 days); longer waits re-check in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Runs `fn` once at the wall-clock instant `atMs`, however far away (a 365-day token expiry),
 * by re-checking the clock instead of trusting one long timer.
 */
export function scheduleAt(atMs: number, now: () => number, fn: () => void): CancelTimer {
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  const arm = (): void => {
    if (cancelled) return;
    const wait = atMs - now();
    if (wait <= 0) {
      fn();
      return;
    }
    timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return () => {
    cancelled = true;
    if (timer) clearTimeout(timer);
  };
}
