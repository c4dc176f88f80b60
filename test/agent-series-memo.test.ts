/**
 * The agent maps a cycle's points to series ids by position when they repeat the last cycle's:
 * whatever changes between cycles (a source reusing its label objects with new values, points in
 * another order, a series that comes or goes, new extra labels after a reload) still reaches the
 * collector under the right series.
 */
import t from 'tap';
import type { MetricBatch, SeriesDefinition } from '@ximp/shared';
import type { Point } from '../packages/agent/src/point';
import { FAKE_TOKEN, startFakeCollector } from './helpers/fake-collector';
import { startAgent, waitFor } from './helpers/system';

const HOUR = 3_600_000;

/** Each batch's samples as "name{label=value,...} value", resolved through the session's definitions. */
function resolve(batches: MetricBatch[]): string[][] {
  const defs = new Map<number, SeriesDefinition>();
  return batches.map((b) => {
    for (const d of b.definitions) defs.set(d.id, d);
    return b.seriesIds
      .map((id, i) => {
        const d = defs.get(id);
        const labels = d ? d.labels.map((l) => `${l.name}=${l.value}`).join(',') : '?';
        return `${d?.name ?? '?'}{${labels}} ${b.values[i]}`;
      })
      .filter((s) => !s.startsWith('ximp_agent_source_'))
      .sort();
  });
}

t.test('points that change between cycles keep their own series', async (t) => {
  const fake = await startFakeCollector(t);
  const shared = { device: 'sda' }; // one labels object the source hands out every cycle
  const cycles: (() => Point[])[] = [
    () => [
      { name: 'm_a', labels: shared, value: 1 },
      { name: 'm_b', labels: { x: '1' }, value: 2 },
    ],
    () => {
      shared.device = 'sdb';
      return [
        { name: 'm_a', labels: shared, value: 3 },
        { name: 'm_b', labels: { x: '1' }, value: 4 },
      ];
    },
    (): Point[] => [
      { name: 'm_b', labels: { x: '1' }, value: 5 },
      { name: 'm_a', labels: { device: 'sdb' }, value: 6 },
      { name: 'm_a', labels: { device: 'sdb', extra: 'y' }, value: 7 },
      { name: 'bad name', labels: {}, value: 8 },
    ],
    (): Point[] => [
      { name: 'm_b', labels: { x: '1' }, value: 9 },
      { name: 'm_a', labels: { device: 'sdb' }, value: 10 },
      { name: 'm_a', labels: { device: 'sdb', extra: 'z' }, value: 11 },
      { name: 'bad name', labels: {}, value: 12 },
    ],
    () => [{ name: 'm_b', labels: { x: '2' }, value: 13 }],
  ];
  let cycle = 0;
  const source = { name: 'changing', collect: async () => cycles[Math.min(cycle++, cycles.length - 1)]!() };
  const a = await startAgent(t, { url: fake.url, token: FAKE_TOKEN, caFile: fake.caFile, node: 'memo', intervalMs: HOUR, sources: [source] });
  await a.agent.collectOnce(); // the first cycle, begun by start()
  for (let i = 1; i < cycles.length; i++) await a.agent.collectOnce();
  await waitFor('every cycle sent', () => (fake.sessions[0]?.batches.length ?? 0) >= cycles.length);
  t.same(resolve(fake.sessions[0]!.batches), [
    ['m_a{device=sda} 1', 'm_b{x=1} 2'],
    ['m_a{device=sdb} 3', 'm_b{x=1} 4'],
    ['m_a{device=sdb,extra=y} 7', 'm_a{device=sdb} 6', 'm_b{x=1} 5'],
    ['m_a{device=sdb,extra=z} 11', 'm_a{device=sdb} 10', 'm_b{x=1} 9'],
    ['m_b{x=2} 13'],
  ]);
});
