/** Something that must happen by a fixed delay after it was queued, unless removed first. */
export interface DeadlineMember {
  onDeadline(): void;
}

/**
 * One timer for every member sharing one delay (sessions waiting for their Hello): deadlines
 * come in the order members were queued, so only the earliest needs a timer. Removing is a Map
 * delete; a timer left armed for a removed head re-arms for the next one when it fires.
 */
export class DeadlineQueue {
  /** Member -> deadline (performance.now() ms), in insertion order, which is deadline order. */
  private readonly waiting = new Map<DeadlineMember, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly delayMs: number,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  get size(): number {
    return this.waiting.size;
  }

  add(member: DeadlineMember): void {
    this.waiting.delete(member);
    this.waiting.set(member, performance.now() + this.delayMs);
    if (this.timer === undefined) this.arm(this.delayMs);
  }

  remove(member: DeadlineMember): void {
    this.waiting.delete(member);
    if (this.waiting.size === 0 && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private arm(waitMs: number): void {
    this.timer = setTimeout(() => this.fire(), Math.max(0, waitMs));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    const now = performance.now();
    for (const [member, deadline] of this.waiting) {
      if (deadline > now) {
        this.arm(deadline - now);
        return;
      }
      this.waiting.delete(member);
      try {
        member.onDeadline();
      } catch (err) {
        this.onError(err);
      }
    }
  }
}

const shared = new Map<number, DeadlineQueue>();

/** The process's queue for `delayMs` (every listener with that Hello timeout shares one). */
export function sharedDeadlineQueue(delayMs: number): DeadlineQueue {
  let queue = shared.get(delayMs);
  if (queue === undefined) {
    queue = new DeadlineQueue(delayMs);
    shared.set(delayMs, queue);
  }
  return queue;
}
