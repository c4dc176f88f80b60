/**
 * The agent believes no Ack or Welcome above what it has sent: a collector that claims to have
 * stored more would make it delete batches never stored. Such a session closes with 4400 and the
 * spool stays exactly as it was.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FAKE_TOKEN, startFakeCollector } from './helpers/fake-collector';
import { seedSpool } from './helpers/seed-spool';
import { startAgent, tempDir, waitFor } from './helpers/system';

const HOUR = 3_600_000;

/** Every file of the spool and its bytes. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) out[name] = fs.readFileSync(path.join(dir, name)).toString('base64');
  return out;
}

t.test('a Welcome above the highest spooled sequence closes the session with 4400; the spool is untouched', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  // The reconnect after the close is held until the spool was checked: its Welcome (100 again)
  // is then at or below the sequences skipped, so the agent rightly believes it.
  let releaseReconnect!: () => void;
  const reconnectGate = new Promise<void>((resolve) => (releaseReconnect = resolve));
  let welcomes = 0;
  const fake = await startFakeCollector(t, {
    welcome: async () => {
      await (welcomes++ === 0 ? gate : reconnectGate);
      return { lastAckedSequence: 100 };
    },
  });
  const spoolDir = path.join(tempDir(t), 'spool');
  await seedSpool(spoolDir, 5, 2);
  const a = await startAgent(t, { url: fake.url, token: FAKE_TOKEN, caFile: fake.caFile, node: 'guard-welcome', spoolDir, intervalMs: HOUR });
  await a.agent.collectOnce(); // the first cycle (sequence 6) is spooled before the Welcome arrives
  const before = snapshot(spoolDir);
  release();
  const session = await waitFor('the session closed', () => fake.sessions.find((s) => s.closed));
  t.equal(session.closed!.code, 4400, 'closed as a protocol violation');
  t.ok(a.logs.some((l) => l.includes('collector broke the protocol') && l.includes('welcome acknowledges sequence 100')), 'and logged');
  t.equal(a.agent.pendingBatches(), 4, 'batches 3..6 are still pending');
  t.same(snapshot(spoolDir), before, 'not a byte of the spool changed: nothing deleted');
  releaseReconnect();
  await a.agent.collectOnce();
  const next = await waitFor('the next cycle sent', () => fake.sessions.flatMap((s) => s.batches).find((b) => b.sequence > 6));
  t.equal(next.sequence, 101, 'the next batch is numbered above what the collector says it holds, reusing none of its sequences');
});

t.test('an Ack above the highest sent closes the session with 4400; the spool is untouched', async (t) => {
  const fake = await startFakeCollector(t, {
    onBatch: (batch, session) => session.send({ type: 'ack', sequence: batch.sequence + 100 }),
  });
  const spoolDir = path.join(tempDir(t), 'spool');
  await seedSpool(spoolDir, 5, 2);
  const a = await startAgent(t, { url: fake.url, token: FAKE_TOKEN, caFile: fake.caFile, node: 'guard-ack', spoolDir, intervalMs: HOUR });
  await a.agent.collectOnce();
  const before = snapshot(spoolDir);
  const session = await waitFor('the session closed', () => fake.sessions.find((s) => s.closed));
  t.equal(session.closed!.code, 4400);
  t.ok(session.batches.length >= 1, 'a batch was sent and answered with a too-high ack');
  t.ok(a.logs.some((l) => l.includes('collector broke the protocol') && /ack of sequence \d+, above the highest sent/.test(l)));
  t.equal(a.agent.pendingBatches(), 4);
  t.same(snapshot(spoolDir), before, 'nothing deleted');
});
