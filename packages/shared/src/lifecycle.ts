/**
 * Every long-lived thing has start() and stop(). stop() is idempotent and safe before start();
 * it stops accepting, cancels timers, drains with a deadline, then closes.
 */
export interface Lifecycle {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Routes an error from a timer, socket or event handler somewhere visible instead of the void. */
export type OnError = (err: unknown, context: string) => void;
