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

/** What a daemon's main needs of the service it runs. */
export interface Service {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts `service` and resolves with the exit status once SIGTERM or SIGINT has stopped it:
 * 0 after a clean stop, 1 when start or stop failed; a signal during start stops the service
 * without waiting for start to finish. Only a main.ts calls this.
 */
export async function serveUntilSignalled(
  service: Service,
  log: { info(obj: object, msg: string): void; error(obj: object, msg: string): void; fatal(obj: object, msg: string): void },
  name: string,
): Promise<number> {
  const stopped = new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, `${name} stopping`);
      service.stop().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err: (err as Error).message }, `${name} stop failed`);
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  try {
    // A signal during a long start (a large spool read back, a slow disk) must not wait for it:
    // systemd kills what has not exited 10 s after SIGTERM.
    const first = await Promise.race([service.start().then(() => null), stopped]);
    if (first !== null) return first;
  } catch (err) {
    log.fatal({ err: (err as Error).message, code: (err as { code?: string }).code }, `${name} failed to start`);
    await service.stop().catch(() => undefined);
    return 1;
  }
  return stopped;
}
