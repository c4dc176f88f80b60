// The sender on the real on-disk forward queue: everything queued reaches the store over mTLS in
// order per series, nothing leaves the queue unconfirmed, and a restart replays what was not.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import type { RemoteWriteConfig } from '../src/config';
import { REMOTE_WRITE_DEFAULTS } from '../src/config';
import { ForwardQueue, type SeriesDescription } from '../src/store/remote-write/forward-queue';
import { RemoteWriter } from '../src/store/remote-write/remote-writer';
import { captureLogger } from '../../../test/helpers/system';
import { prometheusLike, remoteWritePki, startReceiver, type ReceivedRequest, type RemoteWritePki } from './helpers/remote-write-receiver';

function queueDir(t: { teardown(fn: () => unknown): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-rwq-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'queue', 'prom');
}

function config(pki: RemoteWritePki, url: string, over: Partial<RemoteWriteConfig> = {}): RemoteWriteConfig {
  return { ...REMOTE_WRITE_DEFAULTS, name: 'prom', url, caFile: pki.caFile, certFile: pki.client.certFile, keyFile: pki.client.keyFile, managedClientCert: false, ...over };
}

const describe = (id: number): SeriesDescription => ({ name: id % 2 === 0 ? 'node_load1' : 'node_cpu_seconds_total', labels: [{ name: 'id', value: String(id) }] });

/** Agents' batches: `nodes` nodes, `batches` each, series ids 0..series-1. */
function append(queue: ForwardQueue, nodes: number, batches: number, series: number, t0 = 1_700_000_000_000): number {
  for (let b = 0; b < batches; b++) {
    const list = Array.from({ length: nodes }, (_, n) => ({
      node: `node-${n}`,
      timestampMs: t0 + b * 1000,
      seriesIds: Uint32Array.from({ length: series }, (_, i) => i),
      values: Float64Array.from({ length: series }, (_, i) => b * 100 + i),
    }));
    queue.append(list, describe);
  }
  queue.sync();
  return nodes * batches * series;
}

/** Per (instance, id): the timestamps received, in arrival order. */
function received(requests: ReceivedRequest[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const r of requests) {
    for (const s of r.decoded.timeseries) {
      const l = Object.fromEntries(s.labels.map((x) => [x.name, x.value]));
      const key = `${l.instance}/${l.id}`;
      out.set(key, [...(out.get(key) ?? []), ...s.samples.map((x) => x.timestamp)]);
    }
  }
  return out;
}

async function until(cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

t.test('a ForwardQueue drains to the store: every sample once, in order per series, with instance and job', async (t) => {
  const pki = remoteWritePki(t);
  const rx = await startReceiver(t, pki);
  const queue = ForwardQueue.open({ dir: queueDir(t), shards: 4, maxBytes: 64 * 1024 * 1024 });
  t.teardown(() => queue.close());
  const { log } = captureLogger('test');
  const writer = new RemoteWriter({ config: config(pki, rx.url, { shards: 4, maxSamplesPerRequest: 500 }), queue, log });
  t.teardown(() => writer.stop());
  const total = append(queue, 8, 20, 40);
  await writer.start();
  // More arrives while it sends.
  const more = append(queue, 8, 5, 40, 1_700_000_020_000);
  await until(() => writer.stats().samplesForwarded === total + more);
  const got = received(rx.requests);
  t.equal(got.size, 8 * 40);
  for (const [key, stamps] of got) {
    t.same(stamps, Array.from({ length: 25 }, (_, b) => 1_700_000_000_000 + b * 1000), `${key}: each sample once, in order`);
  }
  t.ok(rx.requests.every((r) => r.decoded.timeseries.every((s) => s.labels.some((l) => l.name === 'job' && l.value === 'ximp'))));
  t.same(writer.stats().queue.samples, 0);
  t.equal(writer.stats().queue.oldestAgeMs, null);
});

t.test('a store that is away: the queue keeps everything; after a restart of the collector it all arrives, a replayed request the store already had counts as already stored', async (t) => {
  const pki = remoteWritePki(t);
  const dir = queueDir(t);
  const { log } = captureLogger('test');
  // The store keeps every request but its answers are lost (500), so they stay queued.
  let down = true;
  const prom = prometheusLike(() => down);
  const rx = await startReceiver(t, pki, prom.script);
  let queue = ForwardQueue.open({ dir, shards: 2, maxBytes: 64 * 1024 * 1024 });
  const total = append(queue, 2, 3, 10);
  const firstBatches = 3;
  let writer = new RemoteWriter({ config: config(pki, rx.url, { shards: 2 }), queue, log, sleep: () => new Promise((r) => setTimeout(r, 5)) });
  await writer.start();
  await until(() => writer.stats().requests.server_error >= 4);
  await writer.stop(1000);
  t.equal(queue.stats().samples, total, 'nothing left the queue');
  queue.close();

  // The restart: the queue reopens in replay; agents' replays added batches the store never got,
  // which the first request after the restart carries beside the ones it has; the store is back.
  down = false;
  queue = ForwardQueue.open({ dir, shards: 2, maxBytes: 64 * 1024 * 1024 });
  t.teardown(() => queue.close());
  const added = append(queue, 2, 2, 10, 1_700_000_000_000 + firstBatches * 1000);
  writer = new RemoteWriter({ config: config(pki, rx.url, { shards: 2 }), queue, log });
  t.teardown(() => writer.stop());
  await writer.start();
  await until(() => queue.stats().samples === 0);
  const stats = writer.stats();
  // The replayed batch at a series' newest timestamp is accepted again as a duplicate; the older
  // ones are refused as out of order: already stored.
  t.equal(stats.samplesAlreadyStored + stats.samplesForwarded, total + added);
  t.equal(stats.samplesAlreadyStored, total - 2 * 10, 'the replayed batches before the newest were already there');
  t.equal(stats.samplesForwarded, added + 2 * 10, 'the new ones were sent, not counted away with the old');
  t.same(stats.samplesDropped, {}, 'nothing dropped');
  t.equal(prom.stored.size, 2 * 10);
  for (const [key, stamps] of prom.stored) {
    t.same(stamps, Array.from({ length: firstBatches + 2 }, (_, b) => 1_700_000_000_000 + b * 1000), `${key}: every sample once, in order`);
  }
});
