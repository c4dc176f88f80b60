/**
 * kill -9 of the collector while agents stream, then a restart: every batch each agent produced
 * is in the store exactly once (the agents replay from their spools; duplicates are dropped on
 * (node, stream, sequence)).
 */
import t from 'tap';
import { BIN, createToken, freePort, prepareCollector, spawnNode, startAgent, waitFor, writeCollectorConfig, type TestAgent } from './helpers/system';
import { assertEveryBatchStoredOnce } from './helpers/stored-once';

async function startCollectorProcess(t: Parameters<typeof spawnNode>[0], configFile: string): Promise<ReturnType<typeof spawnNode>> {
  const child = spawnNode(t, [BIN.collector, '--config', configFile]);
  await waitFor('collector listening', () => child.output().includes('collector listening'), 20_000);
  return child;
}

t.test('kill -9 of the collector loses and duplicates nothing', async (t) => {
  const ports = { agents: await freePort(), api: await freePort() };
  const paths = prepareCollector(t, '', ports);
  writeCollectorConfig(paths.configFile, ports);
  let collector = await startCollectorProcess(t, paths.configFile);
  const url = `wss://127.0.0.1:${ports.agents}/v1/agent`;

  const nodes = ['node-a', 'node-b', 'node-c'];
  const agents: TestAgent[] = [];
  for (const node of nodes) {
    const { token } = await createToken(paths.cliConfig, node);
    agents.push(await startAgent(t, { url, token, caFile: paths.caFile, node, intervalMs: 50 }));
  }
  await waitFor('agents streaming', () => agents.every((a) => a.source!.cycles > 10));

  collector.kill('SIGKILL');
  await new Promise((resolve) => collector.once('exit', resolve));
  const atCrash = agents.map((a) => a.source!.cycles);
  await waitFor('agents spool while the collector is away', () => agents.every((a, i) => a.source!.cycles > atCrash[i] + 10));
  t.ok(agents.every((a) => a.agent.pendingBatches() > 5), 'batches wait in the spools');

  collector = await startCollectorProcess(t, paths.configFile);
  await waitFor('agents drained after the restart', () => agents.every((a) => a.agent.pendingBatches() <= 2), 30_000);
  for (const a of agents) await a.stop();
  collector.kill('SIGTERM');
  await new Promise((resolve) => collector.once('exit', resolve));
  t.equal(collector.exitCode, 0, 'SIGTERM stops the collector with status 0');

  assertEveryBatchStoredOnce(t, paths.dataDir, nodes, agents);
});
