import { execFile } from 'node:child_process';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes } from '@ximp/shared';
import { familyMetadata, MetricType } from '../src/store/remote-write/node-exporter-metadata';
import type { QueuedBatch } from '../src/store/remote-write/forward-queue';
import { EncoderLostError, InlineRequestEncoder, WorkerRequestEncoder, createRequestEncoder, encodeWorkerFile } from '../src/store/remote-write/request-encoder';
import { encodeBatches, encodeBatchesUncompressed, WriteRequestType } from '../src/store/remote-write/write-request';
import { decodeBody } from './helpers/remote-write-receiver';
import { testBatch } from './helpers/memory-shard-queue';

const cpu = (node: string, ts: number, idle: number, user: number): QueuedBatch => ({
  node,
  timestampMs: ts,
  series: [
    { name: 'node_cpu_seconds_total', labels: [{ name: 'mode', value: 'idle' }, { name: 'cpu', value: '0' }] },
    { name: 'node_cpu_seconds_total', labels: [{ name: 'mode', value: 'user' }, { name: 'cpu', value: '0' }] },
    // An agent's own instance/job labels are replaced: every series leaves with the node's.
    { name: 'node_memory_MemAvailable_bytes', labels: [{ name: 'job', value: 'mine' }, { name: 'instance', value: 'spoof' }] },
  ],
  values: Float64Array.of(idle, user, 1024),
});

t.test('series leave with __name__, instance=<node>, job="ximp", labels sorted; one TimeSeries per series, samples in batch order', async (t) => {
  const decoded = decodeBody(encodeBatches([cpu('web-1', 1000, 10, 1), cpu('web-2', 1000, 20, 2), cpu('web-1', 2000, 11, 1.5)]));
  t.equal(decoded.timeseries.length, 6, 'three series of two nodes');
  const first = decoded.timeseries[0];
  t.same(first.labels, [
    { name: '__name__', value: 'node_cpu_seconds_total' },
    { name: 'cpu', value: '0' },
    { name: 'instance', value: 'web-1' },
    { name: 'job', value: 'ximp' },
    { name: 'mode', value: 'idle' },
  ]);
  t.same(first.samples, [
    { value: 10, timestamp: 1000 },
    { value: 11, timestamp: 2000 },
  ]);
  const mem = decoded.timeseries[2];
  t.same(mem.labels, [
    { name: '__name__', value: 'node_memory_MemAvailable_bytes' },
    { name: 'instance', value: 'web-1' },
    { name: 'job', value: 'ximp' },
  ]);
  t.same(decoded.timeseries[3].labels.find((l) => l.name === 'instance'), { name: 'instance', value: 'web-2' });
  t.same(decoded.timeseries[3].samples, [{ value: 20, timestamp: 1000 }]);
  for (const s of decoded.timeseries) {
    const names = s.labels.map((l) => l.name);
    t.same(names, [...names].sort(), 'sorted by name');
  }
});

t.test('metadata: type, unit and help for the node_exporter families present, once each', async (t) => {
  const decoded = decodeBody(encodeBatches([cpu('web-1', 1000, 10, 1), testBatch('web-1', 1000, 1, 'node_load1'), testBatch('web-1', 1000, 1, 'my_own_metric')]));
  t.same(
    decoded.metadata.map((m) => m.metricFamilyName),
    ['node_cpu_seconds_total', 'node_memory_MemAvailable_bytes', 'node_load1'],
    'unknown families get none',
  );
  t.same(decoded.metadata[0], { type: MetricType.COUNTER, metricFamilyName: 'node_cpu_seconds_total', help: 'Seconds the CPUs spent in each mode.', unit: 'seconds' });
  t.same(decoded.metadata[1], { type: MetricType.GAUGE, metricFamilyName: 'node_memory_MemAvailable_bytes', help: 'Memory information field MemAvailable_bytes.', unit: 'bytes' });
  t.same(decoded.metadata[2], { type: MetricType.GAUGE, metricFamilyName: 'node_load1', help: '1m load average.', unit: '' });
});

t.test('the metadata table covers every family the agent emits', async (t) => {
  for (const name of [
    'up',
    'node_cpu_seconds_total',
    'node_boot_time_seconds',
    'node_time_seconds',
    'node_load15',
    'node_memory_MemTotal_bytes',
    'node_memory_HugePages_Total',
    'node_network_receive_bytes_total',
    'node_network_transmit_drop_total',
    'node_filesystem_avail_bytes',
    'node_filesystem_device_error',
    'node_disk_read_bytes_total',
    'node_disk_io_now',
    'node_disk_flush_requests_time_seconds_total',
  ]) {
    t.ok(familyMetadata(name), name);
  }
  t.same(familyMetadata('node_network_receive_bytes_total'), { type: MetricType.COUNTER, unit: 'bytes', help: 'Network device statistic receive_bytes.' });
  t.same(familyMetadata('node_memory_HugePages_Total'), { type: MetricType.GAUGE, unit: '', help: 'Memory information field HugePages_Total.' });
  t.equal(familyMetadata('ximp_agent_source_success'), undefined);
});

t.test('the hand-written encoding is byte for byte what protobufjs encodes for the same message', async (t) => {
  const long = 'ü'.repeat(300); // a UTF-8 label value longer than 127 bytes: two-byte lengths
  const batches: QueuedBatch[] = [
    cpu('web-1', 1_700_000_000_123, 1.5, 2.5),
    { node: 'wéb-2', timestampMs: 0, series: [{ name: 'node_load1', labels: [{ name: 'x', value: long }] }, { name: 'custom', labels: [{ name: 'empty', value: '' }] }], values: Float64Array.of(0, -1e300) },
    { node: 'wéb-2', timestampMs: -5, series: [{ name: 'node_load1', labels: [{ name: 'x', value: long }] }], values: Float64Array.of(3) },
    cpu('web-1', 1_700_000_010_123, 2, 3),
  ];
  // The same message built the slow way: series grouped in first-seen order, labels sorted.
  const groups = new Map<string, { labels: { name: string; value: string }[]; samples: { value: number; timestamp: number }[] }>();
  for (const b of batches) {
    b.series.forEach((s, i) => {
      const key = JSON.stringify([b.node, s.name, s.labels]);
      let g = groups.get(key);
      if (!g) {
        const labels = [{ name: '__name__', value: s.name }, { name: 'instance', value: b.node }, { name: 'job', value: 'ximp' }, ...s.labels.filter((l) => !['__name__', 'instance', 'job'].includes(l.name))];
        labels.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
        g = { labels, samples: [] };
        groups.set(key, g);
      }
      g.samples.push({ value: b.values[i], timestamp: b.timestampMs });
    });
  }
  const families = [...new Set(batches.flatMap((b) => b.series.map((s) => s.name)))];
  const metadata = families.flatMap((f) => {
    const m = familyMetadata(f);
    if (!m) return [];
    return [m.unit === '' ? { type: m.type, metricFamilyName: f, help: m.help } : { type: m.type, metricFamilyName: f, help: m.help, unit: m.unit }];
  });
  const reference = WriteRequestType.encode(WriteRequestType.fromObject({ timeseries: [...groups.values()], metadata })).finish();
  t.same(Buffer.from(encodeBatchesUncompressed(batches)), Buffer.from(reference));
});

t.test('special values survive', async (t) => {
  const batch: QueuedBatch = { node: 'n', timestampMs: 5, series: [1, 2, 3, 4].map((i) => ({ name: `m${i}`, labels: [] })), values: Float64Array.of(NaN, Infinity, -Infinity, -0) };
  const values = decodeBody(encodeBatches([batch])).timeseries.map((s) => s.samples[0].value);
  t.ok(Number.isNaN(values[0]));
  t.same(values.slice(1, 3), [Infinity, -Infinity]);
  t.ok(Object.is(values[3], -0));
});

t.test('a damaged batch (values and series differ in number) is an encode error, not a crash', async (t) => {
  const bad: QueuedBatch = { ...testBatch('n', 1, 3), values: Float64Array.of(1) };
  await t.rejects(new InlineRequestEncoder().encode([bad]), { code: ErrorCodes.REMOTE_WRITE_ENCODE });
  const worker = new WorkerRequestEncoder();
  t.teardown(() => worker.close());
  await t.rejects(worker.encode([bad]), { code: ErrorCodes.REMOTE_WRITE_ENCODE });
  t.ok((await worker.encode([testBatch('n', 1, 3)])).length > 0, 'the worker goes on');
});

t.test('the worker encoder (the compiled worker file) gives the inline encoder\'s bytes, in order', async (t) => {
  t.match(encodeWorkerFile(), /dist\/store\/remote-write\/encode-worker\.js$/);
  const worker = createRequestEncoder(true);
  const inline = createRequestEncoder(false);
  t.ok(worker instanceof WorkerRequestEncoder);
  t.ok(inline instanceof InlineRequestEncoder);
  t.teardown(() => worker.close());
  const requests = Array.from({ length: 20 }, (_, i) => [cpu(`node-${i}`, 1000 * i, i, i / 2), testBatch(`node-${i}`, 1000 * i, 200, 'node_filesystem_size_bytes', i)]);
  const fromWorker = await Promise.all(requests.map((r) => worker.encode(r)));
  for (let i = 0; i < requests.length; i++) {
    t.same(Buffer.from(fromWorker[i]), Buffer.from(await inline.encode(requests[i])), `request ${i}`);
  }
});

t.test('series cross to the worker once; a small id bound makes both sides start again, output unchanged', async (t) => {
  const shared = testBatch('n', 0, 4, 'node_load1').series; // one object per series, as the queue hands them out
  const batchAt = (ts: number, series = shared): QueuedBatch => ({ node: 'n', timestampMs: ts, series, values: Float64Array.from(series, (_, i) => ts + i) });
  const inline = new InlineRequestEncoder();
  for (const bound of [1_000, 10]) {
    const worker = new WorkerRequestEncoder(encodeWorkerFile(), bound);
    t.teardown(() => worker.close());
    const posted: { defs: unknown[]; reset: boolean }[] = [];
    const internal = worker as unknown as { toWire(id: number, b: readonly QueuedBatch[]): { defs: unknown[]; reset: boolean } };
    const toWire = internal.toWire.bind(worker);
    internal.toWire = (id, b) => {
      const job = toWire(id, b);
      posted.push(job);
      return job;
    };
    const jobs = [[batchAt(1), batchAt(2)], [batchAt(3)], [batchAt(4, testBatch('n', 0, 3, 'node_load5').series)], [batchAt(5)]];
    for (const job of jobs) t.same(Buffer.from(await worker.encode(job)), Buffer.from(await inline.encode(job)), `bound ${bound}`);
    if (bound === 1_000) {
      t.same(posted.map((p) => p.defs.length), [4, 0, 3, 0], 'each description sent once');
      t.notOk(posted.some((p) => p.reset));
    } else {
      t.same(posted.map((p) => p.reset), [false, false, false, true], 'numbering restarts before a job that could pass 10');
      t.same(posted.map((p) => p.defs.length), [4, 0, 3, 4]);
    }
  }
});

t.test('a worker that dies fails its jobs as retryable, and the next job gets a new worker', async (t) => {
  // The real worker, behind a listener that ends the thread on a job for timestamp 2: a death in
  // the middle of a job, on the worker's own side. (Terminating it from this side instead races
  // the answer: an answer that arrives during terminate() unrefs the dying worker.)
  const dir = t.testdir({
    'dying-worker.js': `
      const { parentPort } = require('node:worker_threads');
      parentPort.on('message', (job) => { if (job.batches.some((b) => b.timestampMs === 2)) process.exit(7); });
      require(${JSON.stringify(encodeWorkerFile())});`,
  });
  const worker = new WorkerRequestEncoder(path.join(dir, 'dying-worker.js'));
  t.teardown(() => worker.close());
  const before = await worker.encode([testBatch('n', 1)]);
  t.same(Buffer.from(before), Buffer.from(encodeBatches([testBatch('n', 1)])), 'answered by the real encoder');
  const err = await worker.encode([testBatch('n', 2)]).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(err instanceof EncoderLostError, 'the job under way fails as retryable');
  t.match((err as Error).message, /exited with code 7/);
  const after = await worker.encode([testBatch('n', 3)]);
  t.same(Buffer.from(after), Buffer.from(encodeBatches([testBatch('n', 3)])), 'the next job, on a new worker, encodes its series again');
  await worker.close();
  await t.rejects(worker.encode([testBatch('n', 4)]), { code: ErrorCodes.STORE_STOPPED });
});

t.test('a job under way keeps the process alive; an idle worker encoder does not', async (t) => {
  const dist = path.resolve(__dirname, '..', 'dist', 'store', 'remote-write', 'request-encoder.js');
  const script = `
    const { WorkerRequestEncoder } = require(${JSON.stringify(dist)});
    const w = new WorkerRequestEncoder();
    w.encode([{ node: 'n', timestampMs: 1, series: [{ name: 'a', labels: [] }], values: Float64Array.of(1) }])
      .then((b) => console.log('encoded ' + b.length));`;
  const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    const child = execFile(process.execPath, ['-e', script], { timeout: 20_000 }, (err, stdout) => resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stdout }));
    child.stdin?.end();
  });
  t.equal(out.code, 0, 'exited by itself, before the timeout');
  t.match(out.stdout, /^encoded \d+/, 'after the answer arrived');
});
