/**
 * Clock skew is measured on the agent's send time, so a backlog replayed after an outage (old
 * batch timestamps, a correct clock) is not reported as skew, while a wrong clock still is.
 */
import * as fs from 'node:fs';
import t from 'tap';
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

  const ahead = batchFrame(next + 5, [], [1]);
  t.equal(await sendAndWait(client, { ...ahead, sentUnixMs: Date.now() + 60_000 } as typeof ahead), 'ack');
  const line = c.logs.find((l) => l.includes(SKEW_LINE));
  t.ok(line, 'a clock a minute ahead is warned about');
  t.ok(JSON.parse(line!).skew_ms >= 55_000, 'the skew is measured from the send time');
});
