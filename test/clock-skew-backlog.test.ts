/**
 * Clock skew is measured on the agent's send time, so a backlog replayed after an outage (old
 * batch timestamps, a correct clock) is not reported as skew, while a wrong clock still is.
 */
import * as fs from 'node:fs';
import t from 'tap';
import { adminApi } from './helpers/admin-api';
import { batchFrame, openSession, sendAndWait } from './helpers/raw-agent';
import { createToken, startCollector } from './helpers/system';

const HOUR = 3_600_000;
const SKEW_LINE = 'agent clock skew above 5 s';

t.test('an hour-old backlog sent now is no skew; a send time a minute ahead is', async (t) => {
  const c = await startCollector(t);
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const { token } = await createToken(c.cliConfig, 'replayer');
  const { c: client, next } = await openSession(c.agentUrl, ca, token, 'replayer');
  const def = [{ id: 1, name: 'node_load1', labels: [] }];
  for (let i = 0; i < 5; i++) {
    const old = batchFrame(next + i, i === 0 ? def : [], [1], Date.now() - HOUR + i * 1000);
    t.equal(await sendAndWait(client, { ...old, sentUnixMs: Date.now() } as typeof old), 'ack', `backlog batch ${i + 1} stored`);
  }
  t.notOk(c.logs.some((l) => l.includes(SKEW_LINE)), 'replayed backlog is not mistaken for clock skew');
  // The fleet row: an hour-old batch sent now has about an hour of 1 s batches behind it.
  const api = await adminApi(c);
  const replaying = JSON.parse((await api('GET', '/api/v1/agents/replayer')).body) as { clock_skew_ms: number; spool_backlog: number; token_expires_at: string };
  t.ok(replaying.spool_backlog >= 3590 && replaying.spool_backlog <= 3600, `spool backlog estimated from the latest batch: ${replaying.spool_backlog}`);
  t.ok(Math.abs(replaying.clock_skew_ms) < 5000, `no clock skew shown: ${replaying.clock_skew_ms}`);
  t.ok(Date.parse(replaying.token_expires_at) > Date.now(), 'the token expiry is shown');

  const ahead = batchFrame(next + 5, [], [1]);
  t.equal(await sendAndWait(client, { ...ahead, sentUnixMs: Date.now() + 60_000 } as typeof ahead), 'ack');
  const line = c.logs.find((l) => l.includes(SKEW_LINE));
  t.ok(line, 'a clock a minute ahead is warned about');
  t.ok(JSON.parse(line!).skew_ms >= 55_000, 'the skew is measured from the send time');
  // A clock a minute ahead stamps its batches a minute ahead too: skew, but no backlog.
  const stamp = Date.now() + 60_000;
  const aheadToo = batchFrame(next + 6, [], [1], stamp);
  t.equal(await sendAndWait(client, { ...aheadToo, sentUnixMs: stamp } as typeof aheadToo), 'ack');
  const ahead1 = JSON.parse((await api('GET', '/api/v1/agents/replayer')).body) as { clock_skew_ms: number; spool_backlog: number };
  t.ok(ahead1.clock_skew_ms >= 55_000 && ahead1.clock_skew_ms <= 60_000, `the API shows the same skew: ${ahead1.clock_skew_ms}`);
  t.equal(ahead1.spool_backlog, 0, 'a batch sent as it is made has no backlog behind it');
});
