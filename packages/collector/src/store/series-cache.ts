/** What one entry is taken to cost beyond its key's characters: Map slot, number, string header. */
const ENTRY_OVERHEAD_BYTES = 64;

/**
 * A bounded map from series key to id with least-recently-used eviction (a Map keeps insertion
 * order; a hit moves the key to the end). The bound is in bytes (two per key character plus a
 * fixed overhead per entry), not entries: a token holder defining series with long label values
 * cannot grow the cache past its bound by keeping the count low.
 */
export class SeriesCache {
  private readonly map = new Map<string, number>();
  private usedBytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string): number | undefined {
    const id = this.map.get(key);
    if (id !== undefined) {
      this.map.delete(key);
      this.map.set(key, id);
    }
    return id;
  }

  set(key: string, id: number): void {
    this.delete(key);
    this.map.set(key, id);
    this.usedBytes += costOf(key);
    while (this.usedBytes > this.maxBytes && this.map.size > 0) {
      this.delete(this.map.keys().next().value as string);
    }
  }

  delete(key: string): void {
    if (this.map.delete(key)) this.usedBytes -= costOf(key);
  }

  get size(): number {
    return this.map.size;
  }

  /** Bytes the entries are taken to cost, at most the bound. */
  get bytes(): number {
    return this.usedBytes;
  }
}

function costOf(key: string): number {
  return key.length * 2 + ENTRY_OVERHEAD_BYTES;
}
