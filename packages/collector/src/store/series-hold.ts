const HOUR_MS = 3600_000;
const EMPTY = new Uint32Array(0);

/**
 * The series one holder (a session, or the store for its own series) holds, each with the hour of
 * its `last_used_ms` stamp as the holder last saw it (rounded down, never newer than the row's).
 * Retention never removes a held series, and the store stamps a held series again once that
 * stamp is a day old, and when the holder lets go of it.
 *
 * Two typed arrays and no hash table per series: a reconnecting fleet defines millions of series
 * a minute, and hash tables of the fleet's size cost more than resolving the series itself.
 * The holder resolves each of its series once, so the arrays grow with what it defined.
 */
export class SeriesHold {
  private heldIds = EMPTY;
  private stampHours = EMPTY;
  private count = 0;
  /** The nodes the store has it listed under (one for a session). */
  readonly nodes: string[] = [];

  get size(): number {
    return this.count;
  }

  add(id: number, stampMs: number): void {
    if (this.count === this.heldIds.length) this.grow();
    this.heldIds[this.count] = id;
    this.stampHours[this.count] = Math.floor(stampMs / HOUR_MS);
    this.count++;
  }

  /** The held series' ids, in the order they were added (a copy). */
  ids(): Uint32Array {
    return this.heldIds.slice(0, this.count);
  }

  has(id: number): boolean {
    return this.heldIds.subarray(0, this.count).includes(id);
  }

  /** Calls `fn` with every series whose stamp is older than `beforeMs`. */
  forEachStampedBefore(beforeMs: number, fn: (id: number) => void): void {
    const hour = hourAfter(beforeMs);
    for (let i = 0; i < this.count; i++) if (this.stampHours[i] < hour) fn(this.heldIds[i]);
  }

  /** Series stamped before `beforeMs` are now taken as stamped at `stampMs` (the caller writes that stamp). */
  restampBefore(beforeMs: number, stampMs: number): void {
    const hour = hourAfter(beforeMs);
    const stamp = Math.floor(stampMs / HOUR_MS);
    for (let i = 0; i < this.count; i++) if (this.stampHours[i] < hour) this.stampHours[i] = stamp;
  }

  /** Lets go of every series and node (the store's `releaseSeries` does this, after unlisting it). */
  clear(): void {
    this.heldIds = EMPTY;
    this.stampHours = EMPTY;
    this.count = 0;
    this.nodes.length = 0;
  }

  private grow(): void {
    const length = Math.max(64, this.heldIds.length * 2);
    const ids = new Uint32Array(length);
    const hours = new Uint32Array(length);
    ids.set(this.heldIds);
    hours.set(this.stampHours);
    this.heldIds = ids;
    this.stampHours = hours;
  }
}

/** The first hour whose start is not before `ms`: a stamp kept as hour `h` may be older than `ms` exactly when h < this. */
function hourAfter(ms: number): number {
  return Math.ceil(ms / HOUR_MS);
}
