/**
 * What the agent sends after its spool was damaged: with stream.json lost or corrupt it resumes
 * the same stream, so nothing the collector acknowledged goes out again (under a new stream id
 * the collector would store it twice) and nothing unacknowledged is lost; a record that fails its
 * checksum when read back is counted as dropped and reported in the next batch.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SEGMENT_START_BYTES, batchRecordBytes } from '../packages/agent/src/spool-segment';
import { FAKE_TOKEN, startFakeCollector } from './helpers/fake-collector';
import { seedSpool } from './helpers/seed-spool';
import { startAgent, tempDir, waitFor } from './helpers/system';

const HOUR = 3_600_000;

for (const [damage, spoil] of [
  ['lost', (file: string) => fs.rmSync(file)],
  ['corrupt', (file: string) => fs.writeFileSync(file, '{"version":1,"streamId":"x')],
] as const) {
  t.test(`a ${damage} stream.json: no acknowledged batch is resent, no unacknowledged one lost`, async (t) => {
    const fake = await startFakeCollector(t);
    const spoolDir = path.join(tempDir(t), 'spool');
    // An earlier run spooled 1..5; the collector stored and acknowledged 1..3, and the agent
    // recorded the ack; then stream.json was lost.
    const stream = await seedSpool(spoolDir, 5, 3);
    fake.acked.set(stream, 3);
    spoil(path.join(spoolDir, 'stream.json'));

    const a = await startAgent(t, { url: fake.url, token: FAKE_TOKEN, caFile: fake.caFile, node: `spool-${damage}`, spoolDir, intervalMs: HOUR });
    await a.agent.collectOnce();
    await waitFor('everything acknowledged', () => a.agent.pendingBatches() === 0 && fake.sessions[0]?.batches.length >= 3);
    const session = fake.sessions[0];
    t.equal(session.hello?.streamId, stream, 'the agent resumed its stream');
    t.same(session.batches.map((b) => b.sequence), [4, 5, 6], 'only what the collector had not stored, and the new cycle');
  });
}

t.test('a record that fails its checksum when read back is counted and reported in the next batch', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const fake = await startFakeCollector(t, { welcome: async () => (await gate, {}) });
  const spoolDir = path.join(tempDir(t), 'spool');
  await seedSpool(spoolDir, 3);
  const a = await startAgent(t, { url: fake.url, token: FAKE_TOKEN, caFile: fake.caFile, node: 'spool-flip', spoolDir, intervalMs: HOUR });
  await a.agent.collectOnce();

  // The disk damages batch 2 after the agent opened its spool.
  const segment = path.join(spoolDir, fs.readdirSync(spoolDir).filter((f) => f.endsWith('.seg')).sort()[0]);
  const fd = fs.openSync(segment, 'r+');
  fs.writeSync(fd, Buffer.from([0xff, 0xff]), 0, 2, SEGMENT_START_BYTES + batchRecordBytes(1) + 30);
  fs.closeSync(fd);
  release();

  await waitFor('batches 1, 3 and 4 sent', () => fake.sessions[0]?.batches.length >= 3);
  const batches = fake.sessions[0].batches;
  t.same(batches.map((b) => b.sequence), [1, 3, 4], 'the damaged batch is skipped');
  t.equal(batches[0].droppedBatchesTotal, 0, 'before it: nothing dropped');
  t.equal(batches[1].droppedBatchesTotal, 1, 'the next batch reports the drop');
  t.equal(batches[2].droppedBatchesTotal, 1, 'counted once');
  t.ok(a.logs.some((l) => l.includes('spool record unreadable, skipped')));
});
