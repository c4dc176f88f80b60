/** Something a wheel visits once per period; `wheelSlot` is the wheel's bookkeeping (-1: not in one). */
export interface WheelMember {
  wheelSlot: number;
  onWheelTick(): void;
}

/** The wheel's tick at least this long: finer slots cost wake-ups and buy nothing. */
const MIN_TICK_MS = 50;
const MAX_SLOTS = 64;

/**
 * Visits each member once per `periodMs` from one interval timer for all of them, instead of an
 * interval per session: the members are spread over slots, one slot visited per tick, so 10,000
 * sessions pinged every 10 s are 156 pings every 156 ms rather than 10,000 timers (and a burst
 * when they were started together). A member is first visited about one period after it joins.
 */
export class TimerWheel {
  private readonly slots: Set<WheelMember>[];
  private readonly tickMs: number;
  private cursor = 0;
  private members = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly periodMs: number,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    const count = Math.max(1, Math.min(MAX_SLOTS, Math.floor(periodMs / MIN_TICK_MS)));
    this.slots = Array.from({ length: count }, () => new Set<WheelMember>());
    this.tickMs = periodMs / count;
  }

  get size(): number {
    return this.members;
  }

  add(member: WheelMember): void {
    if (member.wheelSlot >= 0) return;
    // The slot visited last: the member's first visit comes a whole period from now.
    const slot = (this.cursor + this.slots.length - 1) % this.slots.length;
    this.slots[slot].add(member);
    member.wheelSlot = slot;
    if (this.members++ === 0) {
      this.timer = setInterval(() => this.tick(), this.tickMs);
      this.timer.unref();
    }
  }

  remove(member: WheelMember): void {
    if (member.wheelSlot < 0) return;
    this.slots[member.wheelSlot].delete(member);
    member.wheelSlot = -1;
    if (--this.members === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private tick(): void {
    const slot = this.slots[this.cursor];
    // Advanced after the visit: a member added meanwhile joins the slot before, not this one.
    for (const member of slot) {
      try {
        member.onWheelTick();
      } catch (err) {
        this.onError(err);
      }
    }
    this.cursor = (this.cursor + 1) % this.slots.length;
  }
}

const shared = new Map<number, TimerWheel>();

/** The process's wheel for `periodMs` (every listener with that ping period shares one). */
export function sharedTimerWheel(periodMs: number): TimerWheel {
  let wheel = shared.get(periodMs);
  if (wheel === undefined) {
    wheel = new TimerWheel(periodMs);
    shared.set(periodMs, wheel);
  }
  return wheel;
}
