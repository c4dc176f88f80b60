/**
 * Storage faults never take the collector down: while two agents stream, chosen commits fail,
 * chosen syncs fail after their commit, and series resolution throws. Each fault closes its sessions with 1011, the agents reconnect
 * with backoff, and in the end every batch each agent produced is stored exactly once.
 */
import t from 'tap';
import { FaultyMetricStore } from './helpers/faulty-metric-store';
import { agentList, createToken, startAgent, startCollector, waitFor, type TestAgent } from './helpers/system';
import { assertEveryBatchStoredOnce } from './helpers/stored-once';

t.test('commit, sync and series faults while two agents stream: nothing lost, nothing doubled', async (t) => {
  let store: FaultyMetricStore | undefined;
  const c = await startCollector(t, '', { createMetricStore: (db, options) => (store = new FaultyMetricStore(db, options)) });
  const nodes = ['fault-a', 'fault-b'];
  const agents: TestAgent[] = [];
  for (const node of nodes) {
    const { token } = await createToken(c.cliConfig, node);
    agents.push(await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node, intervalMs: 50 }));
  }
  await waitFor('agents streaming', () => agents.every((a) => a.source!.cycles > 10 && a.agent.pendingBatches() <= 2), 20_000);

  // Series resolution throws on the next two calls (each reconnecting agent defines its series again).
  store!.failResolutions.add(store!.resolutions + 1).add(store!.resolutions + 2);
  // The next commit fails, then another a little later.
  store!.failNextCommits(1);
  await waitFor('first commit fault', () => store!.injected >= 1);
  await new Promise((r) => setTimeout(r, 300));
  store!.failNextCommits(2);
  await waitFor('faults injected', () => store!.injected >= 4, 20_000);
  // Then two syncs fail after their commits went through (a failed fdatasync).
  await new Promise((r) => setTimeout(r, 300));
  store!.failNextSyncs(2);
  await waitFor('sync faults injected', () => store!.injected >= 6, 20_000);

  const before = agents.map((a) => a.source!.cycles);
  await waitFor(
    'agents streaming and drained again',
    () => agents.every((a, i) => a.source!.cycles > before[i] + 10 && a.agent.pendingBatches() === 0),
    30_000,
  );
  // ACTIVE means a batch within 3 intervals (150 ms here): poll, as a loaded machine may stall that long.
  const states = await waitFor('both agents ACTIVE', async () => {
    const list = (await agentList(c.cliConfig)).map((a) => a.state).sort();
    return list.join() === 'ACTIVE,ACTIVE' ? list : undefined;
  }, 20_000);
  t.same(states, ['ACTIVE', 'ACTIVE'], 'the collector is up and both agents are ACTIVE');
  t.ok(
    agents.some((a) => a.logs.some((l) => l.includes('"code":1011'))),
    'sessions were closed with 1011',
  );
  const faultLines = c.logs.filter((l) => l.includes('collector fault'));
  t.ok(faultLines.length >= 1, 'faults are logged');
  t.ok(faultLines.length <= 4, `at most one line per fault kind per minute (${faultLines.length})`);
  t.ok(!c.logs.some((l) => l.includes('"level":60')), 'nothing fatal');

  for (const a of agents) await a.stop();
  await c.stop();
  assertEveryBatchStoredOnce(t, c.dataDir, nodes, agents);
});
