import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes, ThrottledLog } from '@ximp/shared';
import type { RemoteWriteConfig } from '../src/config';
import { REMOTE_WRITE_DEFAULTS } from '../src/config';
import type { QueuedBatch } from '../src/store/remote-write/forward-queue';
import { RemoteWriter, type RemoteWriterQueue } from '../src/store/remote-write/remote-writer';
import type { RequestOutcome } from '../src/store/remote-write/remote-write-stats';
import { captureLogger } from '../../../test/helpers/system';
import { MemoryShardQueue, testBatch } from './helpers/memory-shard-queue';
import { remoteWritePki, startReceiver, type RemoteWritePki } from './helpers/remote-write-receiver';

/** Shards by node, as the forward queue does (here: a fixed map), with its stats. */
class MemoryQueue implements RemoteWriterQueue {
  readonly shards: MemoryShardQueue[];
  full = false;
  constructor(readonly shardCount: number) {
    this.shards = Array.from({ length: shardCount }, () => new MemoryShardQueue());
  }
  shard(i: number): MemoryShardQueue {
    return this.shards[i];
  }
  push(shard: number, ...batches: QueuedBatch[]): void {
    this.shards[shard].push(...batches);
  }
  stats() {
    let batches = 0;
    let samples = 0;
    for (const s of this.shards) {
      for (const b of s.batches.slice(s.confirmed)) {
        batches++;
        samples += b.values.length;
      }
    }
    return { bytes: samples * 16, batches, samples, oldestAgeMs: null };
  }
  hasRoom(): boolean {
    return !this.full;
  }
  async drained(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.drained()));
  }
}

function config(pki: RemoteWritePki, url: string, over: Partial<RemoteWriteConfig> = {}): RemoteWriteConfig {
  return {
    ...REMOTE_WRITE_DEFAULTS,
    name: 'prom',
    url,
    caFile: pki.caFile,
    certFile: pki.client.certFile,
    keyFile: pki.client.keyFile,
    managedClientCert: false,
    shards: 3,
    ...over,
  };
}

const quickSleep = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

t.test('forwards every shard over mTLS (worker encoder), order per shard kept; stats and the request hook', async (t) => {
  const pki = remoteWritePki(t);
  const rx = await startReceiver(t, pki);
  const queue = new MemoryQueue(3);
  const observed: [number, RequestOutcome][] = [];
  const { log } = captureLogger('test');
  const writer = new RemoteWriter({ config: config(pki, rx.url, { maxSamplesPerRequest: 9 }), queue, log, onRequest: (s, o) => observed.push([s, o]) });
  t.teardown(() => writer.stop());
  for (let i = 0; i < 10; i++) for (let s = 0; s < 3; s++) queue.push(s, testBatch(`node-${s}`, 1000 + i, 3, 'node_load1', i));
  await writer.start();
  await queue.drained();
  const perNode = new Map<string, number[]>();
  for (const r of rx.requests) {
    for (const series of r.decoded.timeseries) {
      const labels = Object.fromEntries(series.labels.map((l) => [l.name, l.value]));
      t.equal(labels.job, 'ximp');
      if (labels.i !== '0') continue;
      const list = perNode.get(labels.instance) ?? [];
      list.push(...series.samples.map((x) => x.timestamp));
      perNode.set(labels.instance, list);
    }
    t.ok(r.decoded.metadata.some((m) => m.metricFamilyName === 'node_load1'), 'metadata sent');
  }
  for (let s = 0; s < 3; s++) t.same(perNode.get(`node-${s}`), Array.from({ length: 10 }, (_, i) => 1000 + i), `node-${s} in order`);
  const stats = writer.stats();
  t.same(stats, {
    store: 'prom',
    url: rx.url,
    samplesForwarded: 90,
    samplesAlreadyStored: 0,
    retries: 0,
    requests: { success: rx.requests.length, already_stored: 0, rejected: 0, server_error: 0, throttled: 0, tls: 0, connect: 0, timeout: 0, reset: 0 },
    samplesDropped: {},
    lastError: null,
    lastErrorAtMs: null,
    queue: { bytes: 0, batches: 0, samples: 0, oldestAgeMs: null },
    backPressure: false,
  });
  t.equal(observed.length, rx.requests.length);
  queue.full = true;
  t.equal(writer.stats().backPressure, true);
});

t.test('a refused certificate: counted as tls, one log line, nothing lost; reloadTls with the right pair drains the queue', async (t) => {
  const pki = remoteWritePki(t);
  const rx = await startReceiver(t, pki);
  const certFile = path.join(pki.dir, 'store-client.pem');
  const keyFile = path.join(pki.dir, 'store-client-key.pem');
  fs.copyFileSync(pki.otherClient.certFile, certFile);
  fs.copyFileSync(pki.otherClient.keyFile, keyFile);
  const queue = new MemoryQueue(2);
  const { log, lines } = captureLogger('test');
  const throttledLog = new ThrottledLog({ log, now: Date.now });
  const writer = new RemoteWriter({ config: config(pki, rx.url, { certFile, keyFile, shards: 2, encodeInWorker: false }), queue, log, throttledLog, sleep: quickSleep });
  t.teardown(() => writer.stop());
  queue.push(0, testBatch('a', 1));
  queue.push(1, testBatch('b', 1));
  await writer.start();
  while (writer.stats().requests.tls < 4) await new Promise((r) => setTimeout(r, 10));
  const stats = writer.stats();
  t.equal(stats.samplesForwarded, 0);
  t.equal(stats.queue.samples, 6, 'nothing lost');
  t.match(stats.lastError, /client certificate/);
  t.equal(lines.filter((l) => l.includes('got no answer')).length, 1, 'one line a minute per store');
  t.ok(throttledLog.total('remote_write_tls') >= 4, 'counted per kind for /metrics');

  fs.copyFileSync(pki.client.certFile, certFile);
  fs.copyFileSync(pki.client.keyFile, keyFile);
  t.same(writer.reloadTls(), { ok: true });
  await queue.drained();
  t.equal(writer.stats().samplesForwarded, 6);
  t.ok(rx.requests.every((r) => r.client === 'store-client'));
  t.ok(lines.some((l) => l.includes('TLS files reloaded')));
});

t.test('start refuses unusable TLS files; stop is idempotent and safe before start', async (t) => {
  const pki = remoteWritePki(t);
  const { log } = captureLogger('test');
  const idle = new RemoteWriter({ config: config(pki, 'https://127.0.0.1:1/api/v1/write'), queue: new MemoryQueue(1), log });
  await idle.stop();
  await idle.stop();
  t.same(idle.reloadTls(), { ok: true });
  const broken = new RemoteWriter({ config: config(pki, 'https://127.0.0.1:1/api/v1/write', { certFile: path.join(pki.dir, 'nope.pem') }), queue: new MemoryQueue(1), log });
  await t.rejects(broken.start(), { code: ErrorCodes.PKI_INVALID });
  await broken.stop();
});

t.test('stop with requests under way: they are aborted at the deadline and stay queued for the next start', async (t) => {
  const pki = remoteWritePki(t);
  let slow = true;
  const rx = await startReceiver(t, pki, () => (slow ? { status: 204, delayMs: 10_000 } : { status: 204 }));
  const queue = new MemoryQueue(2);
  const { log } = captureLogger('test');
  const first = new RemoteWriter({ config: config(pki, rx.url, { shards: 2 }), queue, log });
  queue.push(0, testBatch('a', 1));
  queue.push(1, testBatch('b', 1));
  await first.start();
  await rx.waitForRequests(2);
  await first.stop(100);
  t.equal(queue.stats().samples, 6, 'still queued');
  slow = false;
  const second = new RemoteWriter({ config: config(pki, rx.url, { shards: 2 }), queue, log });
  t.teardown(() => second.stop());
  await second.start();
  await queue.drained();
  t.equal(second.stats().samplesForwarded, 6);
});
