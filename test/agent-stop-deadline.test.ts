/**
 * SIGTERM ends the agent within systemd's 10 s (TimeoutStopSec) in every case, even with a
 * source that never answers and a collector that never acknowledges: the running cycle and the
 * drain are bounded by one deadline, and the spool is closed cleanly before stop() resolves (the
 * agent's main then exits 0).
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLogger } from '@ximp/shared';
import { loadAgentConfig } from '../packages/agent/src/config';
import { Spool } from '../packages/agent/src/spool';
import { FAKE_TOKEN, startFakeCollector } from './helpers/fake-collector';
import { startAgent, tempDir, waitFor } from './helpers/system';

t.test('a hanging source and a collector that never acknowledges: stopped within 9 s, spool closed cleanly', async (t) => {
  const fake = await startFakeCollector(t, { onBatch: () => undefined }); // never acknowledges
  let called = 0;
  const hanging = {
    name: 'hanging',
    collect: () => {
      called++;
      return new Promise<never>(() => undefined);
    },
  };
  const spoolDir = path.join(tempDir(t), 'spool');
  // The production interval: a source gets 5 s before the cycle gives up on it.
  const a = await startAgent(t, { url: fake.url, token: FAKE_TOKEN, caFile: fake.caFile, node: 'stop-node', spoolDir, intervalMs: 10_000, sources: [hanging] });
  await waitFor('the session is up and the source hangs', () => fake.sessions[0]?.welcomedAt !== undefined && called === 1);

  const started = Date.now();
  await a.stop();
  const took = Date.now() - started;
  t.ok(took < 9_000, `stopped in ${took} ms, within systemd's 10 s with room for the process to exit`);

  const log = createLogger({ name: 'check', level: 'silent' });
  const reopened = new Spool({ dir: spoolDir, maxBytes: 16 * 1024 * 1024, log });
  await reopened.open();
  t.teardown(() => reopened.close());
  t.equal(reopened.droppedTotal, 0, 'no damage: the spool was closed cleanly');
  t.equal(reopened.pendingCount(), 1, 'the cycle that finished during the stop is spooled, unacknowledged');
  t.ok(fs.existsSync(path.join(spoolDir, 'stream.json')));
});

t.test('a reload that comes after stop starts nothing again', async (t) => {
  const fake = await startFakeCollector(t);
  const a = await startAgent(t, { url: fake.url, token: FAKE_TOKEN, caFile: fake.caFile, node: 'late-reload', intervalMs: 60_000 });
  await a.stop();
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();
  a.agent.reload({ ...loadAgentConfig(a.configFile), intervalMs: 20 });
  // A timer started now would keep a stopping process alive and collect into a closed spool.
  t.equal(timers(), before, 'no collection timer is started again, though the reload asked for a 20 ms interval');
});
