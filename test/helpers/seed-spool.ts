import { Spool } from '../../packages/agent/src/spool';

/**
 * Spools batches 1..count of one series, acknowledging up to `acked`, as an earlier run of the
 * agent would have left them; returns the stream id.
 */
export async function seedSpool(dir: string, count: number, acked = 0): Promise<string> {
  const spool = new Spool({ dir, maxBytes: 1024 * 1024, fsync: false });
  await spool.open();
  const id = spool.seriesTable.idFor('ximp_test_cycle', {});
  for (let s = 1; s <= count; s++) await spool.append({ sequence: s, timestampUnixMs: Date.now(), seriesIds: [id], values: [s] });
  if (acked > 0) await spool.ack(acked);
  const stream = spool.streamId;
  await spool.close();
  return stream;
}
