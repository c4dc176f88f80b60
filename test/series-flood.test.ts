/**
 * A token holder cannot exhaust the collector: a client defining 1,000,000 series is stopped at
 * the per-node limits (4400, a log line, counted) however often it reconnects, within a stated
 * memory bound, while a real agent streams without a gap.
 */
import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import t from 'tap';
import { openDatabase } from '../packages/collector/src/store/database';
import { batchFrame, numberedSeries as defs, openSession as session, sendAndWait } from './helpers/raw-agent';
import { agentList, createToken, startAgent, startCollector, waitFor } from './helpers/system';

const MIB = 1024 * 1024;

/** A full garbage collection, so what the flood left behind can be told from garbage not yet collected. */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

t.test('1,000,000 series from one token are stopped at the limits; a real agent streams without a gap', async (t) => {
  // The flood reconnects ~200 times with one token: the per-token upgrade rate (token-limits.test.ts)
  // would stop it first, so it is lifted here to show that the series limits alone hold.
  const c = await startCollector(t, '  upgrades_per_token_per_minute: 1000000');
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const good = await createToken(c.cliConfig, 'steady');
  const agent = await startAgent(t, { url: c.agentUrl, token: good.token, caFile: c.caFile, node: 'steady', intervalMs: 50 });
  await waitFor('agent streaming', () => agent.source!.cycles > 5 && agent.agent.pendingBatches() <= 1);
  const { token } = await createToken(c.cliConfig, 'flood');

  let maxPending = 0;
  const watch = setInterval(() => (maxPending = Math.max(maxPending, agent.agent.pendingBatches())), 20);
  t.teardown(() => clearInterval(watch));
  collectGarbage();
  const heapBefore = process.memoryUsage().heapUsed;
  const rssBefore = process.memoryUsage().rss;
  let rssMax = rssBefore;
  const started = Date.now();

  const TOTAL = 1_000_000;
  const PER_BATCH = 5_000;
  let defined = 0;
  let accepted = 0;
  const closes: number[] = [];
  let { c: client, next } = await session(c.agentUrl, ca, token, 'flood');
  while (defined < TOTAL) {
    const ids = Array.from({ length: PER_BATCH }, (_, k) => defined + 1 + k);
    const outcome = await sendAndWait(client, batchFrame(next, defs(defined + 1, PER_BATCH), ids));
    defined += PER_BATCH;
    // Collect now and then, so RSS shows what is held rather than when V8 chose to collect.
    if ((defined / PER_BATCH) % 10 === 0) collectGarbage();
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
    if (outcome === 'ack') {
      accepted += PER_BATCH;
      next++;
      continue;
    }
    closes.push(outcome);
    // The client reconnects at once and carries on with the series it has not defined yet.
    ({ c: client, next } = await session(c.agentUrl, ca, token, 'flood'));
  }
  client.ws.close();
  await client.closed;
  const seconds = (Date.now() - started) / 1000;
  const rssGrowthMiB = (rssMax - rssBefore) / MIB;
  collectGarbage();
  const heapGrowthMiB = (process.memoryUsage().heapUsed - heapBefore) / MIB;
  t.comment(
    `1M-series flood: ${seconds.toFixed(1)} s, ${closes.length} sessions refused, ${accepted} series accepted, ` +
      `RSS ${(rssBefore / MIB).toFixed(0)} -> max ${(rssMax / MIB).toFixed(0)} MiB (+${rssGrowthMiB.toFixed(0)} MiB), ` +
      `heap retained after GC +${heapGrowthMiB.toFixed(1)} MiB, agent max pending ${maxPending}`,
  );

  t.ok(accepted <= 20_000, `at most max_new_series_per_minute (20000) accepted within the minute (${accepted})`);
  t.ok(closes.length >= (TOTAL - 20_000) / PER_BATCH, `every further session was refused (${closes.length})`);
  t.ok(closes.every((code) => code === 4400), 'each with 4400');
  const refusal = c.logs.find((l) => l.includes('agent session refused'));
  t.ok(refusal, 'the refusal is logged');
  t.match(JSON.parse(refusal!), { node: 'flood', kind: 'series_limit', reason: /max_new_series_per_minute/ });
  t.ok(c.logs.filter((l) => l.includes('agent session refused')).length <= 2, 'throttled: one line per node and kind per minute');
  // Bound stated by this test: the flood (the collector, the agent and this client in one process) adds under 128 MiB of RSS.
  t.ok(rssGrowthMiB < 128, `RSS grew ${rssGrowthMiB.toFixed(0)} MiB at most, under 128 MiB`);
  t.ok(heapGrowthMiB < 32, `the heap retains ${heapGrowthMiB.toFixed(1)} MiB after the flood, under 32 MiB`);

  const db = openDatabase(c.dataDir);
  t.teardown(() => db.close());
  const rows = (db.prepare("SELECT COUNT(*) AS n FROM series WHERE node = 'flood' AND name != 'up'").get() as { n: number }).n;
  t.ok(rows <= 20_000, `series rows of the flooding node stay within the limit (${rows})`);

  t.ok(maxPending <= 40, `the real agent never had more than ${maxPending} batches waiting (2 s at 50 ms)`);
  await waitFor('agent drained', () => agent.agent.pendingBatches() === 0);
  t.not((await agentList(c.cliConfig)).find((a) => a.node === 'steady')?.state, 'DISCONNECTED', 'the agent stayed connected');
  await agent.stop();
  await c.stop();
  const produced = agent.source!.cycles;
  const stored = db.prepare("SELECT sequence FROM batches WHERE node = 'steady' AND stream_id != 'ximp-collector' ORDER BY sequence").all() as { sequence: number }[];
  t.same(stored.map((r) => r.sequence), Array.from({ length: produced }, (_, k) => k + 1), `the agent's ${produced} batches, each once, no gap`);
});
