/**
 * A failed commit while later batches of the same stream are queued: the later ones are stored,
 * but neither an Ack nor the next Welcome may pass the batches that were not, since the agent
 * deletes every batch up to the number it is told.
 */
import * as fs from 'node:fs';
import t from 'tap';
import type { AgentFrame } from '@ximp/shared';
import { openDatabase } from '../packages/collector/src/store/database';
import { FaultyMetricStore } from './helpers/faulty-metric-store';
import { connectRawAgent, helloFrame } from './helpers/raw-agent';
import { createToken, startCollector, waitFor } from './helpers/system';

function batch(sequence: number, define: boolean): AgentFrame {
  return {
    type: 'batch',
    sequence,
    timestampUnixMs: Date.now(),
    definitions: define ? [{ id: 1, name: 'node_load1', labels: [] }] : [],
    seriesIds: [1],
    values: [sequence],
    droppedBatchesTotal: 0,
  };
}

t.test('Welcome and Ack carry the contiguous watermark after a failed commit', async (t) => {
  let store: FaultyMetricStore | undefined;
  const c = await startCollector(t, '', {
    createMetricStore: (db, options) => (store = new FaultyMetricStore(db, { ...options, maxBatchesPerCommit: 2 })),
  });
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const node = 'wm-node';
  const { token } = await createToken(c.cliConfig, node);

  const first = await connectRawAgent(c.agentUrl, ca, token, node);
  await first.send(helloFrame(node, 'wmstream'));
  await waitFor('welcome', () => first.frames.find((f) => f.type === 'welcome'));
  // Batches 1 and 2 share a commit that fails; 3 is queued behind them and commits on its own.
  store!.holdAppends();
  for (const seq of [1, 2, 3]) await first.send(batch(seq, seq === 1));
  await waitFor('three batches at the store', () => store!.gated === 3);
  store!.failNextCommits(1);
  store!.releaseAppends();
  const closed = await first.closed;
  t.equal(closed.code, 1011, 'the session closes with 1011 so the agent retries');
  await waitFor('the queue committed', () => store!.queued === 0);
  const db = openDatabase(c.dataDir);
  t.teardown(() => db.close());
  const stored = () => (db.prepare("SELECT sequence FROM batches WHERE node = ? AND stream_id = 'wmstream' ORDER BY sequence").all(node) as { sequence: number }[]).map((r) => r.sequence);
  // (The collector's own up batch may share the failed commit; batch 1 is in it either way.)
  t.ok(stored().includes(3) && !stored().includes(1), `batch 3 is stored, batch 1 is not (${stored().join(',')})`);
  t.same(first.frames.filter((f) => f.type === 'ack'), [], 'nothing was acknowledged: not even batch 3, which is stored');

  const second = await connectRawAgent(c.agentUrl, ca, token, node);
  await second.send(helloFrame(node, 'wmstream'));
  const welcome = await waitFor('welcome', () => second.frames.find((f) => f.type === 'welcome'));
  t.equal(welcome.type === 'welcome' && welcome.lastAckedSequence, 0, 'Welcome does not pass the batches that were not stored');

  for (const seq of [1, 2, 3]) await second.send(batch(seq, seq === 1));
  await waitFor('three acks', () => second.frames.filter((f) => f.type === 'ack').length === 3);
  t.same(second.frames.filter((f) => f.type === 'ack').map((f) => f.type === 'ack' && f.sequence), [1, 2, 3]);
  second.ws.close();
  await second.closed;

  const third = await connectRawAgent(c.agentUrl, ca, token, node);
  await third.send(helloFrame(node, 'wmstream'));
  const again = await waitFor('welcome', () => third.frames.find((f) => f.type === 'welcome'));
  t.equal(again.type === 'welcome' && again.lastAckedSequence, 3, 'once the gap is filled the watermark moves on');
  third.ws.close();
  await third.closed;

  t.same(stored(), [1, 2, 3], 'each batch stored once');
  t.ok(c.logs.some((l) => l.includes('collector fault')), 'the fault is logged');
});

t.test('a batch that does not follow the previous one of its session is a protocol error', async (t) => {
  const c = await startCollector(t);
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const node = 'seq-node';
  const { token } = await createToken(c.cliConfig, node);
  const a = await connectRawAgent(c.agentUrl, ca, token, node);
  await a.send(helloFrame(node));
  await a.send(batch(5, true));
  await waitFor('ack', () => a.frames.find((f) => f.type === 'ack'));
  await a.send(batch(5, false));
  t.equal((await a.closed).code, 4400);
});

t.test('an Ack is never sent past the watermark the store reports: the session closes 1011 instead', async (t) => {
  let store: FaultyMetricStore | undefined;
  const c = await startCollector(t, '', { createMetricStore: (db, options) => (store = new FaultyMetricStore(db, options)) });
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const node = 'lag-node';
  const { token } = await createToken(c.cliConfig, node);
  store!.lagging.add('lagstream');
  const a = await connectRawAgent(c.agentUrl, ca, token, node);
  await a.send(helloFrame(node, 'lagstream'));
  await a.send(batch(1, true));
  t.equal((await a.closed).code, 1011);
  t.same(a.frames.filter((f) => f.type === 'ack'), [], 'no ack');
  t.ok(c.logs.some((l) => l.includes('store_gap')), 'reported as a fault');
});

t.test('a committed batch whose sync has not completed: no Ack, and a reconnect\'s Welcome does not pass it', async (t) => {
  let store: FaultyMetricStore | undefined;
  const c = await startCollector(t, '', { createMetricStore: (db, options) => (store = new FaultyMetricStore(db, options)) });
  t.teardown(() => store?.releaseSyncs());
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const node = 'sync-node';
  const { token } = await createToken(c.cliConfig, node);
  const first = await connectRawAgent(c.agentUrl, ca, token, node);
  await first.send(helloFrame(node, 'syncstream'));
  await waitFor('welcome', () => first.frames.find((f) => f.type === 'welcome'));
  await first.send(batch(1, true));
  await waitFor('ack 1', () => first.frames.find((f) => f.type === 'ack'));

  store!.holdSyncs();
  const db = openDatabase(c.dataDir);
  t.teardown(() => db.close());
  const stored = () => (db.prepare("SELECT sequence FROM batches WHERE node = ? AND stream_id = 'syncstream' ORDER BY sequence").all(node) as { sequence: number }[]).map((r) => r.sequence);
  await first.send(batch(2, false));
  await waitFor('batch 2 committed', () => stored().includes(2));
  await waitFor('its sync held', () => store!.syncsHeld > 0);
  await new Promise((r) => setTimeout(r, 100));
  const acked = () => first.frames.filter((f) => f.type === 'ack').map((f) => f.type === 'ack' && f.sequence);
  t.same(acked(), [1], 'batch 2 is not acknowledged before its sync');
  store!.releaseSyncs();
  await waitFor('ack 2', () => acked().length === 2);
  t.same(acked(), [1, 2], 'acknowledged once synced');

  store!.holdSyncs();
  const held = store!.syncsHeld;
  await first.send(batch(3, false));
  await waitFor('batch 3 committed', () => stored().includes(3));
  await waitFor('its sync held', () => store!.syncsHeld > held);
  // A reconnect (the old session's socket may look dead to the agent) is told the durable watermark.
  const second = await connectRawAgent(c.agentUrl, ca, token, node);
  await second.send(helloFrame(node, 'syncstream'));
  const welcome = await waitFor('welcome', () => second.frames.find((f) => f.type === 'welcome'));
  t.equal(welcome.type === 'welcome' && welcome.lastAckedSequence, 2, 'Welcome carries the durable watermark, not the committed one');
  store!.releaseSyncs();
  // The sync runs on the thread pool after its release: the next Welcome is checked once it is done.
  await waitFor('batch 3 durable', () => store!.lastSequence(node, 'syncstream') === 3);
  second.ws.close();
  await second.closed;
  const third = await connectRawAgent(c.agentUrl, ca, token, node);
  await third.send(helloFrame(node, 'syncstream'));
  const again = await waitFor('welcome', () => third.frames.find((f) => f.type === 'welcome'));
  t.equal(again.type === 'welcome' && again.lastAckedSequence, 3, 'after the sync the watermark includes it');
  third.ws.close();
  first.ws.close();
  await Promise.all([first.closed, third.closed]);
});

t.test('a failed sync: nothing acknowledged, the session closes 1011, the replay is a duplicate and is acknowledged', async (t) => {
  let store: FaultyMetricStore | undefined;
  const c = await startCollector(t, '', { createMetricStore: (db, options) => (store = new FaultyMetricStore(db, options)) });
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const node = 'syncfail-node';
  const { token } = await createToken(c.cliConfig, node);
  const first = await connectRawAgent(c.agentUrl, ca, token, node);
  await first.send(helloFrame(node, 'sfstream'));
  await waitFor('welcome', () => first.frames.find((f) => f.type === 'welcome'));
  // Every sync fails until the test says otherwise.
  store!.failNextSyncs(1_000_000);
  await first.send(batch(1, true));
  t.equal((await first.closed).code, 1011, 'the session closes with 1011 so the agent retries');
  t.same(first.frames.filter((f) => f.type === 'ack'), [], 'nothing acknowledged');
  const db = openDatabase(c.dataDir);
  t.teardown(() => db.close());
  t.same(db.prepare("SELECT sequence FROM batches WHERE node = ? AND stream_id = 'sfstream'").all(node), [{ sequence: 1 }], 'the commit went through');

  const second = await connectRawAgent(c.agentUrl, ca, token, node);
  await second.send(helloFrame(node, 'sfstream'));
  const welcome = await waitFor('welcome', () => second.frames.find((f) => f.type === 'welcome'));
  t.equal(welcome.type === 'welcome' && welcome.lastAckedSequence, 0, 'Welcome does not pass a batch whose sync failed');
  store!.failSyncs.clear();
  await second.send(batch(1, true));
  await second.send(batch(2, false));
  await waitFor('two acks', () => second.frames.filter((f) => f.type === 'ack').length === 2);
  t.same(second.frames.filter((f) => f.type === 'ack').map((f) => f.type === 'ack' && f.sequence), [1, 2], 'the replay and the next batch are acknowledged');
  second.ws.close();
  await second.closed;
  t.ok(c.logs.some((l) => l.includes('collector fault')), 'the fault is logged');
  t.ok(!c.logs.some((l) => l.includes('"level":60')), 'nothing fatal');
});
