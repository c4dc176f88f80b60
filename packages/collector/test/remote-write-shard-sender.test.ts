import t from 'tap';
import { ThrottledLog } from '@ximp/shared';
import { RemoteWriteClient } from '../src/store/remote-write/remote-write-client';
import { RemoteWriteCounters, type RequestOutcome } from '../src/store/remote-write/remote-write-stats';
import { InlineRequestEncoder, type RequestEncoder } from '../src/store/remote-write/request-encoder';
import { RETRY_AFTER_CAP_MS, RETRY_MAX_MS, ShardSender, type RemoteWriteTransport } from '../src/store/remote-write/shard-sender';
import { captureLogger } from '../../../test/helpers/system';
import { MemoryShardQueue, testBatch } from './helpers/memory-shard-queue';
import { remoteWritePki, startReceiver, type Reply, type ReceivedRequest } from './helpers/remote-write-receiver';

interface Teardown {
  teardown(fn: () => unknown): void;
}

interface Harness {
  queue: MemoryShardQueue;
  counters: RemoteWriteCounters;
  sender: ShardSender;
  delays: number[];
  observed: [number, RequestOutcome][];
  lines: string[];
  clock: { ms: number };
}

function makeSender(t: Teardown, transport: RemoteWriteTransport, opts: { queue?: MemoryShardQueue; maxSamples?: number; encoder?: RequestEncoder } = {}): Harness {
  const queue = opts.queue ?? new MemoryShardQueue();
  const counters = new RemoteWriteCounters();
  const delays: number[] = [];
  const observed: [number, RequestOutcome][] = [];
  const { log, lines } = captureLogger('test');
  const clock = { ms: 1_000_000 };
  const sender = new ShardSender({
    store: 'prom',
    shard: 0,
    queue,
    encoder: opts.encoder ?? new InlineRequestEncoder(),
    transport,
    maxSamplesPerRequest: opts.maxSamples ?? 2000,
    counters,
    log,
    throttled: new ThrottledLog({ log, now: () => clock.ms }),
    now: () => clock.ms,
    // The clock moves by the delay; the wait itself is a turn of the event loop.
    sleep: (ms) => {
      delays.push(ms);
      clock.ms += ms;
      return new Promise((r) => setImmediate(r));
    },
    random: () => 0.5,
    onRequest: (seconds, outcome) => observed.push([seconds, outcome]),
  });
  t.teardown(() => sender.stop(1000));
  return { queue, counters, sender, delays, observed, lines, clock };
}

async function receiverAndClient(t: Teardown, script: (req: ReceivedRequest, i: number) => Reply) {
  const pki = remoteWritePki(t);
  const rx = await startReceiver(t, pki, script);
  const client = new RemoteWriteClient({ url: rx.url, caFile: pki.caFile, certFile: pki.client.certFile, keyFile: pki.client.keyFile, timeoutMs: 5000 });
  t.teardown(() => client.close());
  return { pki, rx, client };
}

t.test('2xx: confirmed once, samples counted; order kept across many requests', async (t) => {
  const { rx, client } = await receiverAndClient(t, () => ({ status: 200 }));
  const h = makeSender(t, client, { maxSamples: 6 });
  for (let i = 0; i < 20; i++) h.queue.push(testBatch('web-1', 1000 + i * 10, 3, 'node_load1', i));
  h.sender.start();
  await h.queue.drained();
  t.equal(rx.requests.length, 10, 'two batches (6 samples) a request');
  const seen = rx.requests.flatMap((r) => r.decoded.timeseries.filter((s) => s.labels.some((l) => l.name === 'i' && l.value === '0')).flatMap((s) => s.samples.map((x) => x.timestamp)));
  t.same(seen, Array.from({ length: 20 }, (_, i) => 1000 + i * 10), 'series i=0 arrives in order');
  t.same(h.queue.confirms, [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
  t.equal(h.counters.samplesForwarded, 60);
  t.equal(h.counters.requests.get('success'), 10);
  t.equal(h.observed.length, 10);
  t.ok(h.observed.every(([s, o]) => s >= 0 && o === 'success'));
  // new data after the queue ran dry is picked up
  h.queue.push(testBatch('web-1', 5000));
  await h.queue.drained();
  t.equal(rx.requests.length, 11);
});

t.test('500 then 200: the same body is retried after a backoff, confirmed once', async (t) => {
  const { rx, client } = await receiverAndClient(t, (_r, i) => (i < 2 ? { status: 500, body: 'tsdb busy' } : { status: 200 }));
  const h = makeSender(t, client);
  h.queue.push(testBatch('web-1', 1000));
  h.sender.start();
  await h.queue.drained();
  t.equal(rx.requests.length, 3);
  t.same(rx.requests[1].body, rx.requests[0].body);
  t.same(rx.requests[2].body, rx.requests[0].body);
  t.same(h.queue.confirms, [1], 'confirmed once');
  t.same(h.delays, [15, 30], 'full jitter of 30 ms, then 60 ms (random 0.5)');
  t.equal(h.counters.retries, 2);
  t.equal(h.counters.requests.get('server_error'), 2);
  t.equal(h.counters.samplesForwarded, 3);
  t.match(h.counters.lastError, /500: tsdb busy/);
  const warn = h.lines.filter((l) => l.includes('retrying'));
  t.equal(warn.length, 1, 'logged once a minute, not per failure');
  t.match(warn[0], /"store":"prom"/);
});

t.test('the backoff doubles up to 5 s and starts again after a success', async (t) => {
  let fail = 12;
  const transport: RemoteWriteTransport = { send: () => Promise.resolve(fail-- > 0 ? { status: 503, message: '' } : { status: 204, message: '' }) };
  const h = makeSender(t, transport);
  h.queue.push(testBatch('a', 1));
  h.sender.start();
  await h.queue.drained();
  t.same(h.delays, [15, 30, 60, 120, 240, 480, 960, 1920, 2500, 2500, 2500, 2500]);
  t.ok(h.delays.every((d) => d <= RETRY_MAX_MS));
  fail = 1;
  h.queue.push(testBatch('a', 2));
  await h.queue.drained();
  t.equal(h.delays[12], 15, 'reset after the success');
});

t.test('429 with Retry-After: that long (capped at 5 min), then the same request', async (t) => {
  const { rx, client } = await receiverAndClient(t, (_r, i) =>
    i === 0 ? { status: 429, headers: { 'Retry-After': '2' } } : i === 1 ? { status: 503, headers: { 'Retry-After': '86400' } } : { status: 204 },
  );
  const h = makeSender(t, client);
  h.queue.push(testBatch('web-1', 1000));
  h.sender.start();
  await h.queue.drained();
  t.same(h.delays, [2000, RETRY_AFTER_CAP_MS]);
  t.equal(rx.requests.length, 3);
  t.same(rx.requests[2].body, rx.requests[0].body);
  t.equal(h.counters.requests.get('throttled'), 1);
  t.equal(h.counters.requests.get('server_error'), 1);
});

t.test('400: that request is dropped and counted by reason, logged with the store\'s message; the next goes on', async (t) => {
  const { rx, client } = await receiverAndClient(t, (_r, i) => (i === 0 ? { status: 400, body: 'label name "i" is not allowed\n' } : { status: 204 }));
  const h = makeSender(t, client, { maxSamples: 3 });
  h.queue.push(testBatch('web-1', 1000), testBatch('web-1', 2000));
  h.sender.start();
  await h.queue.drained();
  t.equal(rx.requests.length, 2, 'not retried');
  t.same(h.queue.confirms, [1, 2]);
  t.same(Object.fromEntries(h.counters.samplesDropped), { status_400: 3 });
  t.equal(h.counters.samplesForwarded, 3);
  t.equal(h.counters.requests.get('rejected'), 1);
  t.same(h.delays, [], 'no wait');
  const line = h.lines.find((l) => l.includes('refused a request'));
  t.ok(line);
  t.match(line, /label name \\"i\\" is not allowed/);
  t.match(line, /"store":"prom"/);
});

t.test('400 out of order on a retry, or on the first request after a restart, is already_stored; on a first attempt it is a drop', async (t) => {
  const order = { status: 400, body: 'out of order sample' };
  // A lost answer: the store took the request, answered 500 late; the retry is out of order.
  {
    const { client } = await receiverAndClient(t, (_r, i) => (i === 0 ? { status: 500 } : i === 1 ? order : { status: 204 }));
    const h = makeSender(t, client);
    h.queue.push(testBatch('a', 1));
    h.sender.start();
    await h.queue.drained();
    t.equal(h.counters.samplesAlreadyStored, 3);
    t.same(Object.fromEntries(h.counters.samplesDropped), {});
    t.equal(h.counters.requests.get('already_stored'), 1);
    await h.sender.stop(1000);
  }
  // A replay after a restart: the queue says the first request may repeat one the store took.
  {
    const { client } = await receiverAndClient(t, () => order);
    const h = makeSender(t, client, { queue: new MemoryShardQueue({ replaying: true }) });
    h.queue.push(testBatch('a', 1), testBatch('a', 2));
    h.sender.start();
    await h.queue.drained();
    t.equal(h.counters.samplesAlreadyStored, 6, 'the replayed request (both batches)');
    await h.sender.stop(1000);
  }
  {
    const { client } = await receiverAndClient(t, (_r, i) => (i === 0 ? order : { status: 204 }));
    const h = makeSender(t, client, { maxSamples: 3, queue: new MemoryShardQueue({ replaying: true }) });
    h.queue.push(testBatch('a', 1), testBatch('a', 2));
    h.queue.replaying = false;
    h.sender.start();
    await h.queue.drained();
    t.same(Object.fromEntries(h.counters.samplesDropped), { status_400: 3 }, 'a fresh request refused out of order is a loss, counted');
    t.equal(h.counters.samplesAlreadyStored, 0);
  }
});

t.test('a replay carrying batches the store never had loses none of them', async (t) => {
  // Before the crash the store took batch 1; the first request after open carries 1, 2 and 3.
  // Prometheus refuses a request whole when one of its samples is older than what it holds.
  const { rx, client } = await receiverAndClient(t, (r) =>
    r.decoded.timeseries.some((s) => s.samples.some((x) => x.timestamp === 1)) ? { status: 400, body: 'out of order sample' } : { status: 204 },
  );
  const h = makeSender(t, client, { queue: new MemoryShardQueue({ replaying: true }) });
  h.queue.push(testBatch('a', 1), testBatch('a', 2), testBatch('a', 3));
  h.sender.start();
  await h.queue.drained();
  t.equal(h.counters.samplesAlreadyStored, 3, 'only the repeated batch counts as already stored');
  t.equal(h.counters.samplesForwarded, 6, 'the two new batches reach the store');
  t.same(Object.fromEntries(h.counters.samplesDropped), {});
  const stamps = (): number[][] => rx.requests.map((r) => [...new Set(r.decoded.timeseries.flatMap((s) => s.samples.map((x) => x.timestamp)))]);
  t.same(stamps(), [[1, 2, 3], [1], [2], [3]], 'the refused replay goes again one batch a request');
  h.queue.push(testBatch('a', 4), testBatch('a', 5));
  await h.queue.drained();
  t.same(stamps().slice(4), [[4, 5]], 'then requests hold several batches again');
});

t.test('a refused client certificate: classified tls, retried, logged once, nothing lost', async (t) => {
  const pki = remoteWritePki(t);
  const rx = await startReceiver(t, pki);
  const client = new RemoteWriteClient({ url: rx.url, caFile: pki.caFile, certFile: pki.otherClient.certFile, keyFile: pki.otherClient.keyFile, timeoutMs: 5000 });
  t.teardown(() => client.close());
  const h = makeSender(t, client);
  h.queue.push(testBatch('a', 1));
  h.sender.start();
  while (h.delays.length < 3) await new Promise((r) => setTimeout(r, 10));
  t.equal(h.queue.confirmed, 0, 'still queued');
  t.ok((h.counters.requests.get('tls') ?? 0) >= 3);
  t.match(h.counters.lastError, /client certificate/);
  t.equal(h.lines.filter((l) => l.includes('got no answer')).length, 1);
  t.match(h.lines.find((l) => l.includes('got no answer')), /"kind":"tls"/);
  await h.sender.stop(1000);
  t.equal(rx.requests.length, 0);
});

t.test('an undecodable batch is dropped as encode_error; the shard goes on', async (t) => {
  const { rx, client } = await receiverAndClient(t, () => ({ status: 204 }));
  const h = makeSender(t, client, { maxSamples: 3 });
  h.queue.push({ ...testBatch('a', 1), values: Float64Array.of(1) }, testBatch('a', 2));
  h.sender.start();
  await h.queue.drained();
  t.same(Object.fromEntries(h.counters.samplesDropped), { encode_error: 1 });
  t.equal(rx.requests.length, 1);
});

t.test('stop: waits for the request under way, aborts it at the deadline; unconfirmed data stays queued', async (t) => {
  const { rx, client } = await receiverAndClient(t, () => ({ status: 204, delayMs: 10_000 }));
  const h = makeSender(t, client);
  h.queue.push(testBatch('a', 1));
  h.sender.start();
  await rx.waitForRequests(1);
  const started = Date.now();
  await h.sender.stop(200);
  t.ok(Date.now() - started < 5000, 'the deadline, not the request, ended it');
  t.equal(h.queue.confirmed, 0);
  t.equal(h.counters.requests.get('success'), 0);
});

t.test('a queue fault (confirm or peek throws): logged, retried after a backoff, the repeat may count as already stored; the shard goes on', async (t) => {
  const { rx, client } = await receiverAndClient(t, (_r, i) => (i === 1 ? { status: 400, body: 'out of order sample' } : { status: 204 }));
  const queue = new MemoryShardQueue();
  let confirmFaults = 1;
  let peekFaults = 1;
  const confirm = queue.confirm.bind(queue);
  const peek = queue.peek.bind(queue);
  queue.confirm = (end) => {
    if (confirmFaults-- > 0) throw new Error('EIO writing the cursor');
    confirm(end);
  };
  queue.peek = (max) => {
    if (queue.confirms.length === 1 && peekFaults-- > 0) throw new Error('EIO reading a segment');
    return peek(max);
  };
  const h = makeSender(t, client, { queue, maxSamples: 3 });
  queue.push(testBatch('a', 1), testBatch('a', 2));
  h.sender.start();
  await queue.drained();
  t.equal(rx.requests.length, 3, 'the first request again after the failed confirm, then the second');
  t.same(rx.requests[1].body, rx.requests[0].body);
  t.equal(h.counters.samplesAlreadyStored, 3, 'the repeat that the store refused as out of order was already there');
  t.equal(h.counters.samplesForwarded, 3, 'the first 2xx could not be recorded; the second batch');
  t.same(Object.fromEntries(h.counters.samplesDropped), {});
  t.equal(h.delays.length, 2, 'a backoff after each fault');
  t.equal(h.lines.filter((l) => l.includes('not sent; retrying')).length, 1, 'one line a minute');
});
