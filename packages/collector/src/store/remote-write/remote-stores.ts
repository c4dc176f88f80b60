import * as path from 'node:path';
import type { Logger, ThrottledLog } from '@ximp/shared';
import type { RemoteWriteConfig } from '../../config';
import type { RemoteStoreStats } from '../../collector-metrics';
import type { ForwardTarget } from '../forward-target';
import { ForwardQueue } from './forward-queue';
import type { RequestOutcome } from './remote-write-stats';
import { RemoteWriter } from './remote-writer';
import { trustBundleFor } from '../../pki/trust-bundle';

export interface RemoteStoresOptions {
  configs: readonly RemoteWriteConfig[];
  dataDir: string;
  log: Logger;
  /** Repeated send failures of every store, one line per store and kind a minute. */
  throttledLog?: ThrottledLog;
  onRequest?: (store: string, seconds: number, outcome: RequestOutcome) => void;
  now?: () => number;
}

/** One configured store: its durable queue and the writer that drains it. */
interface RemoteStore {
  queue: ForwardQueue;
  writer: RemoteWriter;
  target: ForwardTarget;
}

/**
 * Every `store.remote_write` entry of the collector: each has its own queue under
 * `<data_dir>/queue/<name>` and its own writer, so one slow store never holds back another.
 * The metric store appends to `targets` inside its commit; the writers drain the queues.
 */
export class RemoteStores {
  private readonly stores: RemoteStore[];

  /** Opens every queue (recovering what a previous run left); nothing is sent before start(). */
  constructor(private readonly o: RemoteStoresOptions) {
    this.stores = [];
    try {
      for (const config of o.configs) this.stores.push(this.open(config));
    } catch (err) {
      for (const s of this.stores) s.queue.close();
      throw err;
    }
  }

  /** The queues, for the metric store's commit. */
  get targets(): readonly ForwardTarget[] {
    return this.stores.map((s) => s.target);
  }

  async start(): Promise<void> {
    for (const s of this.stores) await s.writer.start();
  }

  /** Stops the writers (requests under way get a deadline) and closes the queues; queued data stays on disk. */
  async stop(deadlineMs?: number): Promise<void> {
    await Promise.all(this.stores.map((s) => s.writer.stop(deadlineMs)));
    for (const s of this.stores) s.queue.close();
  }

  /** SIGHUP: every store re-reads its CA and client pair; a store whose files do not load keeps its old ones. */
  reloadTls(): void {
    for (const s of this.stores) s.writer.reloadTls();
  }

  /**
   * One store re-reads its CA and client pair for its next connections (its cert_file or key_file
   * changed). Throws the reason when the files do not load; the store then keeps its old ones.
   */
  reloadTlsOf(name: string): void {
    const store = this.stores.find((s) => s.target.name === name);
    if (!store) throw new Error(`no remote store named ${JSON.stringify(name)}`);
    const result = store.writer.reloadTls();
    if (!result.ok) throw result.error;
  }

  /** Each store's figures, for /metrics. */
  stats(): RemoteStoreStats[] {
    return this.stores.map(({ writer }) => {
      const w = writer.stats();
      return {
        name: w.store,
        queue: { bytes: w.queue.bytes, samples: w.queue.samples, oldestAgeMs: w.queue.oldestAgeMs, full: w.backPressure },
        samplesForwarded: w.samplesForwarded,
        samplesAlreadyStored: w.samplesAlreadyStored,
        requests: w.requests,
        retries: w.retries,
        droppedSamples: w.samplesDropped,
      };
    });
  }

  private open(config: RemoteWriteConfig): RemoteStore {
    const { o } = this;
    const queue = ForwardQueue.open({
      dir: path.join(o.dataDir, 'queue', config.name),
      shards: config.shards,
      maxBytes: config.maxBytes,
      now: o.now,
      log: o.log.child({ store: config.name }),
    });
    const writer = new RemoteWriter({
      config,
      trustBundleFile: trustBundleFor(this.o.dataDir, config.caFile),
      queue,
      log: o.log,
      throttledLog: o.throttledLog,
      now: o.now,
      onRequest: o.onRequest ? (seconds, outcome) => o.onRequest?.(config.name, seconds, outcome) : undefined,
    });
    const target: ForwardTarget = {
      name: config.name,
      hasRoom: () => queue.hasRoom(),
      append: (batches, describe) => queue.append(batches, describe),
      syncAsync: () => queue.syncAsync(),
    };
    return { queue, writer, target };
  }
}
