import { hashSeriesKey, keyHash } from './series-key-hash';

/** What one entry costs: its key's 64-bit hash, its id and its stamp's hour, four 32-bit words. */
const ENTRY_BYTES = 16;
/** What a node's index costs beyond its name and entries: its object and array headers. */
const NODE_OVERHEAD_BYTES = 256;
const WORDS = 4;
const MIN_CAPACITY = 8;
/** A full array grows by a quarter: at most a fifth of it stands empty, at a few more copies. */
const GROWTH = 1.25;
const HOUR_MS = 3600_000;
const ID_SPAN = 2 ** 32;

/**
 * A series as the index holds it, in one number (no object per series): its id (32 bits) and
 * the hour its row was last stamped (`last_used_ms`, rounded down, so never newer than the row).
 */
export function packSeries(id: number, stampMs: number): number {
  return Math.floor(stampMs / HOUR_MS) * ID_SPAN + id;
}
export function idOf(packed: number): number {
  return packed % ID_SPAN;
}
export function stampOf(packed: number): number {
  return Math.floor(packed / ID_SPAN) * HOUR_MS;
}

/**
 * The series of one node the store knows: the 64-bit hashes of their keys (`name \0 labelsJson`,
 * see `series-key-hash.ts`), each with its packed id and stamp, in one typed array of four words
 * an entry (hash high, hash low, id, hour). No string and no object per series: the garbage
 * collector never walks them, and a series takes 16 bytes. The entries are a sorted run followed
 * by a short sorted tail that takes new entries; a full tail is merged into the run, so adding
 * 500 series moves about 60 kB in all, where shifting the run for each one would move 2 MB.
 */
export class NodeSeries {
  private words = new Uint32Array(MIN_CAPACITY * WORDS);
  /** Entries in the sorted run; the tail is `[runCount, count)`. */
  private runCount = 0;
  private count = 0;
  bytes: number;
  /**
   * Every row of the node (and every series of it waiting for its commit) is here, so a miss is
   * a new series and needs no read. Cleared when the node's series outgrow its share of the
   * bound: the entries are then a cache of some of them, a miss reads the table.
   */
  complete = true;

  constructor(
    readonly node: string,
    /** False when even an empty index does not fit the bound: nothing is kept. */
    readonly kept: boolean,
  ) {
    this.bytes = kept ? nodeCost(node) : 0;
  }

  /** Series held. */
  get size(): number {
    return this.count;
  }

  /** The packed id and stamp of the series with this key, or undefined. */
  get(key: string): number | undefined {
    hashSeriesKey(key);
    return this.getHashed();
  }

  /** The packed id and stamp of the series whose hash is the current `keyHash`, or undefined. */
  getHashed(): number | undefined {
    const at = this.locate();
    if (at < 0) return undefined;
    const w = at * WORDS;
    return this.words[w + 3] * ID_SPAN + this.words[w + 2];
  }

  /** The entries' bytes as allocated. */
  get arrayBytes(): number {
    return this.words.length * 4;
  }

  /** The bytes the entries would take with one more. */
  get grownArrayBytes(): number {
    return this.count * WORDS < this.words.length ? this.arrayBytes : grownCapacity(this.words.length / WORDS) * ENTRY_BYTES;
  }

  /** Makes room for `entries` in all, in one allocation (a load or a first definition knows how many come). */
  reserve(entries: number): void {
    if (entries * WORDS <= this.words.length) return;
    const grown = new Uint32Array(entries * WORDS);
    grown.set(this.words.subarray(0, this.count * WORDS));
    this.words = grown;
  }

  /** Sets the entry of the current `keyHash`; false when it was there already (its packed value replaced). */
  setHashed(packed: number): boolean {
    const at = this.locate();
    if (at >= 0) {
      this.pack(at, packed);
      return false;
    }
    if (this.count * WORDS === this.words.length) this.reserve(grownCapacity(this.count));
    const slot = ~search(this.words, this.runCount, this.count, keyHash[0], keyHash[1]);
    const w = slot * WORDS;
    this.words.copyWithin(w + WORDS, w, this.count * WORDS);
    this.words[w] = keyHash[0];
    this.words[w + 1] = keyHash[1];
    this.pack(slot, packed);
    this.count++;
    if (this.count - this.runCount >= TAIL_ENTRIES) this.mergeTail();
    return true;
  }

  /** Replaces the packed value of the current `keyHash` if held (a node full to its share still restamps what it holds). */
  replaceHashed(packed: number): void {
    const at = this.locate();
    if (at >= 0) this.pack(at, packed);
  }

  /** Removes the entry of the current `keyHash`; false when absent. */
  removeHashed(): boolean {
    const at = this.locate();
    if (at < 0) return false;
    const w = at * WORDS;
    this.words.copyWithin(w, w + WORDS, this.count * WORDS);
    if (at < this.runCount) this.runCount--;
    this.count--;
    return true;
  }

  private pack(at: number, packed: number): void {
    const w = at * WORDS;
    this.words[w + 2] = packed % ID_SPAN;
    this.words[w + 3] = Math.floor(packed / ID_SPAN);
  }

  /** The position of the current `keyHash` in the run or the tail, or -1. */
  private locate(): number {
    const high = keyHash[0];
    const low = keyHash[1];
    const inRun = search(this.words, 0, this.runCount, high, low);
    if (inRun >= 0) return inRun;
    const inTail = search(this.words, this.runCount, this.count, high, low);
    return inTail >= 0 ? inTail : -1;
  }

  /** Merges the tail into the run, from the back, through a copy of the tail. */
  private mergeTail(): void {
    const words = this.words;
    tailCopy.set(words.subarray(this.runCount * WORDS, this.count * WORDS));
    let i = this.runCount - 1;
    let j = this.count - this.runCount - 1;
    for (let k = this.count - 1; j >= 0; k--) {
      const fromRun = i >= 0 && after(words, i * WORDS, tailCopy, j * WORDS);
      const src = fromRun ? words : tailCopy;
      const at = (fromRun ? i-- : j--) * WORDS;
      words[k * WORDS] = src[at];
      words[k * WORDS + 1] = src[at + 1];
      words[k * WORDS + 2] = src[at + 2];
      words[k * WORDS + 3] = src[at + 3];
    }
    this.runCount = this.count;
  }
}

/** Entries the tail takes before it is merged into the run. */
const TAIL_ENTRIES = 32;
const tailCopy = new Uint32Array(TAIL_ENTRIES * WORDS);

function grownCapacity(entries: number): number {
  return Math.max(MIN_CAPACITY, Math.ceil(entries * GROWTH));
}

/** Whether entry `a` of `x` sorts after entry `b` of `y` (by hash high, then low word). */
function after(x: Uint32Array, a: number, y: Uint32Array, b: number): boolean {
  return x[a] > y[b] || (x[a] === y[b] && x[a + 1] > y[b + 1]);
}

/** The position of (high, low) among the sorted entries `[from, to)`, or its insertion point as `~position`. */
function search(words: Uint32Array, from: number, to: number, high: number, low: number): number {
  let lo = from;
  let hi = to - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const h = words[mid * WORDS];
    if (h < high) lo = mid + 1;
    else if (h > high) hi = mid - 1;
    else {
      const l = words[mid * WORDS + 1];
      if (l < low) lo = mid + 1;
      else if (l > low) hi = mid - 1;
      else return mid;
    }
  }
  return ~lo;
}

/**
 * The series-id index: per node, its series' key hashes to ids, loaded with one read when the
 * node first defines and then resolved in memory. Bounded in bytes (16 per entry as allocated,
 * plus a fixed cost per node), whatever the keys' lengths; least recently used nodes are dropped
 * whole (a later definition reloads them), and one node may take at most half of the bound.
 */
export class SeriesIndex {
  private readonly nodes = new Map<string, NodeSeries>();
  private readonly nodeShare: number;
  private usedBytes = 0;
  private entryCount = 0;
  private recent: NodeSeries | undefined;

  constructor(private readonly maxBytes: number) {
    this.nodeShare = Math.floor(maxBytes / 2);
  }

  /** The node's index, now the most recently used, or undefined when it is not loaded. */
  get(node: string): NodeSeries | undefined {
    const ns = this.nodes.get(node);
    if (ns !== undefined && ns !== this.recent) {
      this.nodes.delete(node);
      this.nodes.set(node, ns);
      this.recent = ns;
    }
    return ns;
  }

  /** More rows than this cannot fit in one node's share: a load reads no more. */
  get maxNodeEntries(): number {
    return Math.floor(this.nodeShare / ENTRY_BYTES);
  }

  /** The node's index without making it the most recently used. */
  peek(node: string): NodeSeries | undefined {
    return this.nodes.get(node);
  }

  /** A new, empty, complete index for `node` (replacing any), to be filled with `fill`. */
  open(node: string): NodeSeries {
    this.drop(node);
    const ns = new NodeSeries(node, nodeCost(node) + MIN_CAPACITY * ENTRY_BYTES <= this.nodeShare);
    if (!ns.kept) {
      ns.complete = false;
      return ns;
    }
    ns.bytes += ns.arrayBytes;
    this.nodes.set(node, ns);
    this.recent = ns;
    this.usedBytes += ns.bytes;
    this.evictOthers(ns);
    return ns;
  }

  /**
   * Makes room for `count` more entries of `ns` at once, within its share: what a load reads, or
   * the definitions of a node's first batch (fewer allocations, and no grown-out arrays left).
   */
  reserve(ns: NodeSeries, count: number): void {
    if (!ns.kept) return;
    const entries = Math.min(ns.size + count, Math.floor((this.nodeShare - (ns.bytes - ns.arrayBytes)) / ENTRY_BYTES));
    const before = ns.arrayBytes;
    ns.reserve(entries);
    this.chargeGrowth(ns, before);
  }

  /** Adds a row while loading; false (and the index no longer complete) once the node's share is full. */
  fill(ns: NodeSeries, key: string, packed: number): boolean {
    if (!this.room(ns)) {
      ns.complete = false;
      return false;
    }
    hashSeriesKey(key);
    this.put(ns, packed);
    return true;
  }

  /** Adds a series (new, or read from the table); beyond the node's share it is not held, and the index is no longer complete. */
  add(ns: NodeSeries, key: string, packed: number): void {
    if (!ns.kept) return;
    hashSeriesKey(key);
    this.addHashed(ns, packed);
  }

  /** `add` for the series whose hash is the current `keyHash` (just looked up by it). */
  addHashed(ns: NodeSeries, packed: number): void {
    if (!ns.kept) return;
    if (!this.room(ns)) {
      ns.complete = false;
      ns.replaceHashed(packed);
      return;
    }
    this.put(ns, packed);
  }

  /** Replaces the packed id and stamp of a series the node's index holds (its row was stamped again). */
  restamp(ns: NodeSeries, key: string, packed: number): void {
    hashSeriesKey(key);
    ns.replaceHashed(packed);
  }

  /** Forgets one series of `node` (its row was removed). */
  delete(node: string, key: string): void {
    const ns = this.nodes.get(node);
    if (!ns) return;
    hashSeriesKey(key);
    if (ns.removeHashed()) this.entryCount--;
  }

  /** Entries over every node. */
  get size(): number {
    return this.entryCount;
  }

  /** Bytes the indexes are taken to cost, at most the bound. */
  get bytes(): number {
    return this.usedBytes;
  }

  /** Whether one more entry fits the node's share, its array grown if need be. */
  private room(ns: NodeSeries): boolean {
    return ns.kept && ns.bytes - ns.arrayBytes + ns.grownArrayBytes <= this.nodeShare;
  }

  private put(ns: NodeSeries, packed: number): void {
    const before = ns.arrayBytes;
    if (!ns.setHashed(packed)) return;
    this.entryCount++;
    this.chargeGrowth(ns, before);
  }

  /** Counts what `ns`'s array grew by since it was `before` bytes, dropping other nodes if the bound is passed. */
  private chargeGrowth(ns: NodeSeries, before: number): void {
    const grown = ns.arrayBytes - before;
    if (grown === 0) return;
    ns.bytes += grown;
    this.usedBytes += grown;
    if (this.usedBytes > this.maxBytes) this.evictOthers(ns);
  }

  /** Drops least recently used nodes other than `keep` until the bound holds. */
  private evictOthers(keep: NodeSeries): void {
    for (const ns of this.nodes.values()) {
      if (this.usedBytes <= this.maxBytes) return;
      if (ns !== keep) this.drop(ns.node);
    }
  }

  private drop(node: string): void {
    const ns = this.nodes.get(node);
    if (!ns) return;
    this.nodes.delete(node);
    this.usedBytes -= ns.bytes;
    this.entryCount -= ns.size;
    if (this.recent === ns) this.recent = undefined;
  }
}

function nodeCost(node: string): number {
  return node.length * 2 + NODE_OVERHEAD_BYTES;
}
