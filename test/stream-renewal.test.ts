/**
 * A host whose series come and go keeps defining new ones. Past a bound, a drained agent starts a
 * new stream with an empty series table; across the switch every cycle is stored exactly once,
 * under the right series.
 */
import t from 'tap';
import { openDatabase } from '../packages/collector/src/store/database';
import { MetricStore } from '../packages/collector/src/store/metric-store';
import { createToken, startAgent, startCollector, waitFor } from './helpers/system';

t.test('a churning host starts new streams and loses nothing', async (t) => {
  const c = await startCollector(t);
  const node = 'churn';
  const { token } = await createToken(c.cliConfig, node);
  const perCycle = 30;
  const churn = {
    name: 'churn',
    cycles: 0,
    async collect() {
      const gen = ++churn.cycles;
      // Every cycle, 30 series that never come back (like a short-lived container's interfaces).
      return Array.from({ length: perCycle }, (_, k) => ({ name: 'node_churn_value', labels: { gen: String(gen), k: String(k) }, value: gen }));
    },
  };
  const a = await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node, intervalMs: 300, sources: [churn], newStreamAfterSeries: 100 });
  const renewals = () => a.logs.filter((l) => l.includes('spool started a new stream')).length;
  await waitFor('three new streams', () => renewals() >= 3, 30_000);
  // A cycle of the new stream, acknowledged: stopping while the agent reconnects for its new
  // stream would leave that cycle in the spool (kept for the next start, not counted here).
  const renewedAt = churn.cycles;
  await waitFor('the new stream acknowledged', () => churn.cycles >= renewedAt + 2 && a.agent.pendingBatches() === 0, 10_000);
  await a.stop();
  const cycles = churn.cycles;

  const db = openDatabase(c.dataDir);
  t.teardown(() => db.close());
  const streams = db.prepare("SELECT count(DISTINCT stream_id) AS n FROM batches WHERE node = ? AND stream_id != 'ximp-collector'").get(node) as { n: number };
  t.ok(streams.n >= 4, `${streams.n} streams for ${cycles} cycles`);
  const series = new MetricStore(db).query(node, 'node_churn_value', 0, Date.now() + 60_000);
  t.equal(series.length, cycles * perCycle, 'every series of every cycle is stored');
  const wrong = series.filter((s) => s.points.length !== 1 || s.points[0]![1] !== Number(s.labels.gen));
  t.same(wrong, [], 'each series has exactly one point, its own cycle\'s value');
});
