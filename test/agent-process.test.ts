/**
 * The real ximp-agent process: SIGHUP applies a new token without losing buffered data, SIGTERM
 * flushes and exits 0 within 10 s, and a restart (even after kill -9) replays the spool, so the
 * store ends with every sequence 1..N exactly once.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openDatabase } from '../packages/collector/src/store/database';
import { BIN, agentList, createToken, spawnNode, startCollector, tempDir, waitFor, writeAgentConfig } from './helpers/system';

function exited(child: ReturnType<typeof spawnNode>): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

t.test('SIGHUP rotates the token, kill -9 and SIGTERM lose nothing', async (t) => {
  const c = await startCollector(t);
  const node = 'process-node';
  const first = await createToken(c.cliConfig, node);
  const dir = tempDir(t, 'ximp-agent-proc-');
  const configFile = path.join(dir, 'agent.yaml');
  const spoolDir = path.join(dir, 'spool');
  const yaml = (token: string) => ({ url: c.agentUrl, token, caFile: c.caFile, node, spoolDir, interval: '1s' });
  writeAgentConfig(configFile, yaml(first.token));

  let agent = spawnNode(t, [BIN.agent, '--config', configFile]);
  await waitFor('ACTIVE on the first token', async () => (await agentList(c.cliConfig)).find((a) => a.node === node && a.state === 'ACTIVE' && a.token === first.id), 20_000);

  const second = await createToken(c.cliConfig, node);
  writeAgentConfig(configFile, yaml(second.token));
  agent.kill('SIGHUP');
  await waitFor('ACTIVE on the second token', async () => (await agentList(c.cliConfig)).find((a) => a.node === node && a.state === 'ACTIVE' && a.token === second.id), 20_000);
  t.equal(agent.exitCode, null, 'SIGHUP did not stop the agent');
  t.match(agent.output(), /agent configuration reloaded/);

  agent.kill('SIGKILL');
  await exited(agent);
  agent = spawnNode(t, [BIN.agent, '--config', configFile]);
  await waitFor('ACTIVE after the restart', async () => (await agentList(c.cliConfig)).find((a) => a.node === node && a.state === 'ACTIVE'), 20_000);
  // Let the restarted agent stream a few cycles, counted in the store rather than guessed from
  // the clock, so that a slow machine still gives the sequence check below something to check.
  const db = openDatabase(c.dataDir);
  t.teardown(() => db.close());
  const countBatches = db.prepare('SELECT count(*) AS n FROM batches WHERE node = ?');
  const storedBatches = () => (countBatches.get(node) as { n: number }).n;
  const atRestart = storedBatches();
  await waitFor('two cycles stored after the restart', async () => storedBatches() >= Math.max(6, atRestart + 2), 20_000);

  const stopAt = Date.now();
  agent.kill('SIGTERM');
  const code = await exited(agent);
  const took = Date.now() - stopAt;
  t.equal(code, 0, 'SIGTERM exits 0');
  t.ok(took < 10_000, `and within 10 s (${took} ms)`);
  t.notMatch(agent.output(), new RegExp(second.token.split('_')[2]), 'the token is in no log line');

  const stream = JSON.parse(fs.readFileSync(path.join(spoolDir, 'stream.json'), 'utf8')) as { streamId: string; ackedSequence: number };
  const rows = db.prepare('SELECT sequence FROM batches WHERE node = ? AND stream_id = ? ORDER BY sequence').all(node, stream.streamId) as { sequence: number }[];
  t.ok(rows.length > 5, `${rows.length} batches stored`);
  t.same(rows.map((r) => r.sequence), Array.from({ length: rows.length }, (_, i) => i + 1), 'every sequence from 1 is stored once, no gaps');
  t.equal(stream.ackedSequence, rows.length, 'everything the agent spooled was acknowledged before it exited');
});
