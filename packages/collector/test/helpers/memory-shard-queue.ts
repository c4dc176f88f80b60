// An in-memory ShardQueue with the forward queue's contract (peek repeats until confirm, whole
// batches up to a sample count, waitForData), so the sender is tested without the on-disk queue.
import type { QueuedBatch, ShardQueue } from '../../src/store/remote-write/forward-queue';

export class MemoryShardQueue implements ShardQueue {
  readonly batches: QueuedBatch[] = [];
  /** Index of the first unconfirmed batch. */
  confirmed = 0;
  /** Every confirm, as the batch index it advanced to. */
  readonly confirms: number[] = [];
  replaying: boolean;
  private waiters: (() => void)[] = [];

  constructor(options: { replaying?: boolean } = {}) {
    this.replaying = options.replaying ?? false;
  }

  push(...batches: QueuedBatch[]): void {
    this.batches.push(...batches);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  peek(maxSamples: number): { batches: QueuedBatch[]; samples: number; end: unknown } | undefined {
    if (this.confirmed >= this.batches.length) return undefined;
    const out: QueuedBatch[] = [];
    let samples = 0;
    for (let i = this.confirmed; i < this.batches.length; i++) {
      const n = this.batches[i].values.length;
      if (out.length > 0 && samples + n > maxSamples) break;
      out.push(this.batches[i]);
      samples += n;
    }
    return { batches: out, samples, end: this.confirmed + out.length };
  }

  confirm(end: unknown): void {
    this.confirmed = end as number;
    this.confirms.push(end as number);
    this.replaying = false;
  }

  waitForData(signal?: AbortSignal): Promise<void> {
    if (this.confirmed < this.batches.length || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  /** Resolves once every batch pushed so far is confirmed. */
  async drained(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.confirmed < this.batches.length) {
      if (Date.now() > deadline) throw new Error(`queue not drained: ${this.confirmed}/${this.batches.length} confirmed`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** A batch of `node` at `timestampMs`: series `name{i="0..n-1"}`, values `base + i`. */
export function testBatch(node: string, timestampMs: number, n = 3, name = 'node_load1', base = 0): QueuedBatch {
  const series = Array.from({ length: n }, (_, i) => ({ name, labels: [{ name: 'i', value: String(i) }] }));
  return { node, timestampMs, series, values: Float64Array.from(series, (_, i) => base + i) };
}
