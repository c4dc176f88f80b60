import type { Test } from 'tap';
import { openDatabase } from '../../packages/collector/src/store/database';
import type { TestAgent } from './system';


/**
 * The promise behind every fault test: each batch an agent produced (one per cycle of its
 * counting source) is in the store exactly once, sequences 1..N with no gap and no repeat.
 * Call after the agents and the collector stopped.
 */
export function assertEveryBatchStoredOnce(t: Test, dataDir: string, nodes: readonly string[], agents: readonly TestAgent[]): void {
  const db = openDatabase(dataDir);
  t.teardown(() => db.close());
  for (const [i, node] of nodes.entries()) {
    const produced = agents[i].source!.cycles;
    const rows = db
      .prepare("SELECT sequence FROM batches WHERE node = ? AND stream_id != 'ximp-collector' ORDER BY sequence")
      .all(node) as { sequence: number }[];
    t.equal(rows.length, produced, `${node}: ${produced} batches produced, ${rows.length} stored`);
    t.same(
      rows.map((r) => r.sequence),
      Array.from({ length: produced }, (_, k) => k + 1),
      `${node}: each sequence exactly once`,
    );
  }
}
