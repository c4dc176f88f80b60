/**
 * Issue 6 "done when": samples older than the retention are gone from the embedded store after
 * the retention job, newer ones stay. A real collector stores a node's backlog of old and recent
 * batches, an admin sets the retention with the CLI, and the job's next pass (the one a restart
 * runs at once, instead of waiting for the hourly one) deletes only what is older.
 */
import * as fs from 'node:fs';
import t from 'tap';
import { Collector } from '../packages/collector/src/collector';
import { loadCollectorConfig } from '../packages/collector/src/config';
import { batchFrame, openSession, sendAndWait } from './helpers/raw-agent';
import { captureLogger, createToken, runCli, startCollector } from './helpers/system';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Series {
  labels: Record<string, string>;
  points: [string, number | null][];
}

t.test('after the retention job, samples older than the retention are gone and newer ones stay', async (t) => {
  const c = await startCollector(t);
  const { token } = await createToken(c.cliConfig, 'web-1');
  const { c: agent, next } = await openSession(c.agentUrl, fs.readFileSync(c.caFile, 'utf8'), token, 'web-1');
  const now = Date.now();
  // A backlog as an agent replays it after an outage: oldest first, two old, two recent.
  const ages = [3 * DAY, 2 * DAY + HOUR, 2 * HOUR, HOUR];
  const def = [{ id: 1, name: 'node_load1', labels: [] }];
  for (const [i, age] of ages.entries()) {
    t.equal(await sendAndWait(agent, batchFrame(next + i, i === 0 ? def : [], [1], now - age)), 'ack', `batch ${age / HOUR}h old stored`);
  }
  agent.ws.close();

  const query = ['metrics', 'query', '--node', 'web-1', '--metric', 'node_load1', '--since', '4d', '--output', 'json'];
  const ageOf = (out: string): number[] => (JSON.parse(out) as Series[]).flatMap((s) => s.points.map(([iso]) => Math.round((now - Date.parse(iso)) / HOUR)));
  t.same(ageOf((await runCli(c.cliConfig, query)).stdout), [72, 49, 2, 1], 'all stored under the default 15d');

  const set = await runCli(c.cliConfig, ['store', 'retention', 'set', '2d']);
  t.equal(set.code, 0, set.stderr);
  await c.stop();

  // The same collector started again: its retention job runs a pass at once.
  const { log, lines } = captureLogger('ximp-collector');
  const again = new Collector(loadCollectorConfig(c.configFile), { log });
  await again.start();
  t.teardown(() => again.stop());
  const cli = fs.readFileSync(c.cliConfig, 'utf8').replace(/^server: .*$/m, `server: https://localhost:${again.apiAddress().port}`);
  fs.writeFileSync(c.cliConfig, cli, { mode: 0o600 });

  const retention = await runCli(c.cliConfig, ['store', 'retention', '--output', 'json']);
  t.same(JSON.parse(retention.stdout), { retention: '2d', retention_seconds: 2 * DAY / 1000, source: 'setting' }, 'the setting survived the restart');
  t.same(ageOf((await runCli(c.cliConfig, query)).stdout), [2, 1], 'older than 2d: gone; newer: kept');
  const pass = lines.map((l) => JSON.parse(l) as { msg: string; deleted_batches?: number; retention_ms?: number }).find((l) => l.msg === 'retention applied');
  t.match(pass, { deleted_batches: 2, retention_ms: 2 * DAY }, 'the job logged what it deleted');
});
