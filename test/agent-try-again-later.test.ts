/**
 * A collector held back by a full remote-store queue stops acknowledging and, once the queue has
 * room, closes the session with 1013: the agent reconnects at once (not after its backoff) and
 * replays every unacknowledged batch, oldest first.
 */
import t from 'tap';
import * as path from 'node:path';
import { CloseCodes } from '@ximp/shared';
import { FAKE_TOKEN, startFakeCollector } from './helpers/fake-collector';
import { seedSpool } from './helpers/seed-spool';
import { startAgent, tempDir, waitFor } from './helpers/system';

const HOUR = 3_600_000;

t.test('after 1013 the agent reconnects within a second and replays from the last acknowledged batch', async (t) => {
  const fake = await startFakeCollector(t, {
    onBatch: (batch, session) => {
      // The first session is held back: nothing acknowledged; the second stores and acks as usual.
      if (fake.sessions.indexOf(session) === 0) {
        if (session.batches.length === 3) session.ws.close(CloseCodes.TRY_AGAIN_LATER, 'remote store queue has room again: replay');
        return;
      }
      fake.acked.set(session.hello!.streamId, batch.sequence);
      session.send({ type: 'ack', sequence: batch.sequence });
    },
  });
  const spoolDir = path.join(tempDir(t), 'spool');
  await seedSpool(spoolDir, 3, 0);
  const a = await startAgent(t, { url: fake.url, token: FAKE_TOKEN, caFile: fake.caFile, node: 'held-back', spoolDir, intervalMs: HOUR });
  const first = await waitFor('the held session closed', () => fake.sessions[0]?.closed);
  t.equal(first.code, CloseCodes.TRY_AGAIN_LATER);
  const second = await waitFor('a second session replayed all three', () => ((fake.sessions[1]?.batches.length ?? 0) >= 3 ? fake.sessions[1] : undefined));
  t.ok(second.welcomedAt! - first.at < 1500, `reconnected ${second.welcomedAt! - first.at} ms after the close, not after a backoff`);
  const sequences = second.batches.map((b) => b.sequence);
  t.same(sequences.slice(0, 3), [1, 2, 3], 'replayed in order from the first unacknowledged');
  t.same(sequences, [...sequences].sort((x, y) => x - y), 'and everything after in order (the cycle taken at start included)');
  await waitFor('all acknowledged', () => a.agent.pendingBatches() === 0);
});
