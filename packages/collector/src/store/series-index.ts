/** What one entry is taken to cost beyond its key's characters: Map slot, number, string header. */
const ENTRY_OVERHEAD_BYTES = 64;
/** What a node's index costs beyond its name and entries: its object and Map. */
const NODE_OVERHEAD_BYTES = 256;
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

/** The series of one node the store knows, keyed by `name \0 labelsJson`. */
export class NodeSeries {
  readonly entries = new Map<string, number>();
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
}

/**
 * The series-id index: per node, its series' keys to ids, loaded with one read when the node
 * first defines and then resolved in memory. Bounded in bytes (two per key character plus a fixed
 * overhead per entry and per node), not entries, so a token holder defining series with long
 * label values cannot grow it past its bound; least recently used nodes are dropped whole (a
 * later definition reloads them), and one node may take at most half of the bound.
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

  /** More rows than this cannot fit in one node's share (each costs at least its fixed overhead): a load reads no more. */
  get maxNodeEntries(): number {
    return Math.floor(this.nodeShare / ENTRY_OVERHEAD_BYTES);
  }

  /** The node's index without making it the most recently used. */
  peek(node: string): NodeSeries | undefined {
    return this.nodes.get(node);
  }

  /** A new, empty, complete index for `node` (replacing any), to be filled with `fill`. */
  open(node: string): NodeSeries {
    this.drop(node);
    const ns = new NodeSeries(node, nodeCost(node) <= this.nodeShare);
    if (!ns.kept) {
      ns.complete = false;
      return ns;
    }
    this.nodes.set(node, ns);
    this.recent = ns;
    this.usedBytes += ns.bytes;
    this.evictOthers(ns);
    return ns;
  }

  /** Adds a row while loading; false (and the index no longer complete) once the node's share is full. */
  fill(ns: NodeSeries, key: string, packed: number): boolean {
    const cost = entryCost(key);
    if (!ns.kept || ns.bytes + cost > this.nodeShare) {
      ns.complete = false;
      return false;
    }
    this.put(ns, key, packed, cost);
    return true;
  }

  /** Adds a series (new, or read from the table); beyond the node's share the index becomes a cache of its oldest-dropped entries. */
  add(ns: NodeSeries, key: string, packed: number): void {
    if (!ns.kept) return;
    const cost = entryCost(key);
    if (ns.bytes + cost > this.nodeShare) {
      ns.complete = false;
      for (const old of ns.entries.keys()) {
        if (ns.bytes + cost <= this.nodeShare) break;
        this.remove(ns, old);
      }
      if (ns.bytes + cost > this.nodeShare) return;
    }
    this.put(ns, key, packed, cost);
  }

  /** Replaces the packed id and stamp of a series the node's index holds (its row was stamped again). */
  restamp(ns: NodeSeries, key: string, packed: number): void {
    if (ns.entries.has(key)) ns.entries.set(key, packed);
  }

  /** Forgets one series of `node` (its row was removed). */
  delete(node: string, key: string): void {
    const ns = this.nodes.get(node);
    if (ns) this.remove(ns, key);
  }

  /** Entries over every node. */
  get size(): number {
    return this.entryCount;
  }

  /** Bytes the indexes are taken to cost, at most the bound. */
  get bytes(): number {
    return this.usedBytes;
  }

  private put(ns: NodeSeries, key: string, packed: number, cost: number): void {
    const before = ns.entries.size;
    ns.entries.set(key, packed);
    if (ns.entries.size === before) return;
    ns.bytes += cost;
    this.usedBytes += cost;
    this.entryCount++;
    if (this.usedBytes > this.maxBytes) this.evictOthers(ns);
  }

  private remove(ns: NodeSeries, key: string): void {
    if (!ns.entries.delete(key)) return;
    const cost = entryCost(key);
    ns.bytes -= cost;
    this.usedBytes -= cost;
    this.entryCount--;
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
    this.entryCount -= ns.entries.size;
    if (this.recent === ns) this.recent = undefined;
  }
}

function entryCost(key: string): number {
  return key.length * 2 + ENTRY_OVERHEAD_BYTES;
}

function nodeCost(node: string): number {
  return node.length * 2 + NODE_OVERHEAD_BYTES;
}
