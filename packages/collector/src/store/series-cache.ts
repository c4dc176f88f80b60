/**
 * A bounded map from series key to id with least-recently-used eviction (a Map keeps insertion
 * order; a hit moves the key to the end), so the cache stays within its size however many series
 * the fleet defines over time.
 */
export class SeriesCache {
  private readonly map = new Map<string, number>();

  constructor(private readonly maxSize: number) {}

  get(key: string): number | undefined {
    const id = this.map.get(key);
    if (id !== undefined) {
      this.map.delete(key);
      this.map.set(key, id);
    }
    return id;
  }

  set(key: string, id: number): void {
    this.map.delete(key);
    this.map.set(key, id);
    while (this.map.size > this.maxSize) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
    }
  }

  get size(): number {
    return this.map.size;
  }
}
