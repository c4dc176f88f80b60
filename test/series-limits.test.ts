/**
 * What a token holder may store is bounded: the per-node series limit survives reconnects;
 * redefining a live id, stamping batches far ahead, or using the collector's own `up` series or
 * stream id closes the session with 4400 (series-flood.test.ts floods a million series).
 */
import * as fs from 'node:fs';
import t from 'tap';
import { openDatabase } from '../packages/collector/src/store/database';
import { batchFrame, connectRawAgent, helloFrame, numberedSeries as defs, openSession as session, sendAndWait } from './helpers/raw-agent';
import { createToken, startCollector } from './helpers/system';


t.test('the per-node series limit survives reconnects', async (t) => {
  const c = await startCollector(t, '  max_series_per_node: 5000\n  max_new_series_per_minute: 1000000');
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const { token } = await createToken(c.cliConfig, 'grower');
  let { c: client, next } = await session(c.agentUrl, ca, token, 'grower');
  t.equal(await sendAndWait(client, batchFrame(next, defs(1, 5000), Array.from({ length: 5000 }, (_, k) => k + 1))), 'ack', '5000 series fit');
  client.ws.close();
  await client.closed;
  ({ c: client, next } = await session(c.agentUrl, ca, token, 'grower', 'newstream'));
  t.equal(await sendAndWait(client, batchFrame(next, defs(1, 10), Array.from({ length: 10 }, (_, k) => k + 1))), 'ack', 'a new session may use the known series');
  t.equal(await sendAndWait(client, batchFrame(next + 1, defs(20_000, 1), [20_000])), 4400, 'one more series of the node is refused');
  const line = c.logs.find((l) => l.includes('agent session refused'));
  t.match(JSON.parse(line!), { kind: 'series_limit', reason: /max_series_per_node/ });
});

t.test('redefining a live id as another series closes 4400; as the same series is fine', async (t) => {
  const c = await startCollector(t);
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const { token } = await createToken(c.cliConfig, 'redefiner');
  const { c: client, next } = await session(c.agentUrl, ca, token, 'redefiner');
  const a = { id: 1, name: 'node_load1', labels: [] };
  t.equal(await sendAndWait(client, batchFrame(next, [a], [1])), 'ack');
  t.equal(await sendAndWait(client, batchFrame(next + 1, [a], [1])), 'ack', 'the same series again');
  t.equal(await sendAndWait(client, batchFrame(next + 2, [{ id: 1, name: 'node_load5', labels: [] }], [1])), 4400, 'another series under a live id');
  t.match(JSON.parse(c.logs.find((l) => l.includes('agent session refused'))!), { kind: 'series_redefined' });
  const db = openDatabase(c.dataDir);
  t.teardown(() => db.close());
  t.equal((db.prepare("SELECT COUNT(*) AS n FROM series WHERE node = 'redefiner'").get() as { n: number }).n, 1, 'no row for the refused definition');
});

t.test('batches stamped beyond max_future_skew are refused', async (t) => {
  const c = await startCollector(t, '  max_future_skew: 1m');
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const { token } = await createToken(c.cliConfig, 'ahead');
  const { c: client, next } = await session(c.agentUrl, ca, token, 'ahead');
  const def = [{ id: 1, name: 'node_load1', labels: [] }];
  t.equal(await sendAndWait(client, batchFrame(next, def, [1], Date.now() + 50_000)), 'ack', 'within the skew');
  t.equal(await sendAndWait(client, batchFrame(next + 1, [], [1], Date.now() + 120_000)), 4400, 'beyond it');
  t.match(JSON.parse(c.logs.find((l) => l.includes('agent session refused'))!), { kind: 'future_batch' });
});

t.test('the up series and the collector\'s stream id are the collector\'s', async (t) => {
  const c = await startCollector(t);
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const { token } = await createToken(c.cliConfig, 'impostor');
  const { c: client, next } = await session(c.agentUrl, ca, token, 'impostor');
  t.equal(await sendAndWait(client, batchFrame(next, [{ id: 1, name: 'up', labels: [] }], [1])), 4400, 'an agent may not define up');
  const own = await connectRawAgent(c.agentUrl, ca, token, 'impostor');
  await own.send(helloFrame('impostor', 'ximp-collector'));
  t.equal((await own.closed).code, 4400, 'nor use the collector\'s stream id');
});
