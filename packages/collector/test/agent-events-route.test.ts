/**
 * GET /api/v1/agents/events over real TLS 1.3 (dashboard contract, "Live fleet updates"): a
 * snapshot, then a row per change (told by the registry, or found by the poll), `removed` when
 * an agent leaves the list; a node-scoped caller gets only its nodes; comments at each
 * heartbeat; the stream ends once the caller's token no longer holds; at most N streams (503);
 * every stream ends when the server stops; a reader that stops reading is dropped, not buffered
 * for without end.
 */
import t from 'tap';
import { parseNodeGlob } from '@ximp/shared';
import type { AgentView } from '../dist/api/api-deps';
import { request, startApi, type Harness } from './helpers/api-harness';
import { openEventStream } from './helpers/sse-client';

const PATH = '/api/v1/agents/events';

function agent(node: string, state: AgentView['state'] = 'ACTIVE'): AgentView {
  return { node, state, lastSeenMs: Date.now(), address: '192.0.2.1:4000', version: '0.1.0', tokenId: 'aaaaaaaaaaaa', runtime: 'node v20.20.2' };
}

function setState(h: Harness, node: string, state: AgentView['state']): void {
  const i = h.agents.findIndex((a) => a.node === node);
  h.agents[i] = { ...h.agents[i], state };
}

t.test('snapshot, then a row per change within the same turn, and only the nodes a scoped caller may see', async (t) => {
  const h = await startApi(t);
  h.agents.push(agent('web-1'), agent('db-1'));
  const viewer = h.accessToken(h.createClient('monitoring-viewer'));
  const scopedClient = h.deps.clients.create('scoped', 'monitoring-viewer', Date.now(), parseNodeGlob('web-*'));
  const scoped = h.deps.accessTokens.issue(scopedClient.clientId, 60_000, Date.now()).accessToken;

  const all = await openEventStream(h, PATH, viewer);
  const web = await openEventStream(h, PATH, scoped);
  t.teardown(() => (all.close(), web.close()));
  t.equal(all.status, 200);
  t.match(all.headers['content-type'], /^text\/event-stream/);
  t.equal(all.headers['cache-control'], 'no-store');
  t.ok(all.headers['strict-transport-security'], 'HSTS as on every answer');
  const snapshot = await all.next((e) => e.event === 'snapshot');
  t.same((snapshot.data as { node: string }[]).map((a) => a.node), ['web-1', 'db-1']);
  t.match((snapshot.data as unknown[])[0], { node: 'web-1', state: 'ACTIVE', token_expires_at: null, clock_skew_ms: null, spool_backlog: null });
  const webSnapshot = await web.next((e) => e.event === 'snapshot');
  t.same((webSnapshot.data as { node: string }[]).map((a) => a.node), ['web-1'], 'the scoped caller sees only web-*');

  setState(h, 'db-1', 'DISCONNECTED');
  setState(h, 'web-1', 'STALE');
  const told = performance.now();
  h.agentsChanged('db-1');
  const db = await all.next((e) => e.event === 'agent' && (e.data as { node: string }).node === 'db-1');
  t.match(db.data, { node: 'db-1', state: 'DISCONNECTED' });
  t.ok(db.at - told < 200, `the change arrives at once when the registry tells (${Math.round(db.at - told)} ms)`);
  await web.next((e) => e.event === 'agent' && (e.data as { node: string }).node === 'web-1');
  t.notOk(web.events.some((e) => e.event === 'agent' && (e.data as { node: string }).node === 'db-1'), 'db-1 is never sent to the web-* caller');

  // A change nobody tells of (time passing) is found by the poll within a second.
  const before = all.events.length;
  h.agents.push(agent('web-2', 'PENDING'));
  const polled = await all.next((e) => e.event === 'agent' && (e.data as { node: string }).node === 'web-2', 2000, before);
  t.match(polled.data, { state: 'PENDING' });
  // An agent that leaves the list.
  h.agents.splice(h.agents.findIndex((a) => a.node === 'web-2'), 1);
  h.agentsChanged();
  t.same((await web.next((e) => e.event === 'removed')).data, { node: 'web-2' });
  // last_seen alone moving is no change.
  const count = all.events.length;
  h.agents[0] = { ...h.agents[0], lastSeenMs: Date.now() + 5 };
  h.agentsChanged();
  await new Promise((r) => setTimeout(r, 1200));
  t.equal(all.events.length, count, 'a newer last_seen alone sends nothing');
  t.equal((await request(h, 'GET', PATH)).status, 401, 'no token: 401');
  t.equal((await request(h, 'GET', `${PATH}?x=1`, { bearer: viewer })).status, 400, 'unknown parameters are refused');
});

t.test('comments every heartbeat; the stream ends once the token is revoked', async (t) => {
  const h = await startApi(t, { server: { agentEvents: { heartbeatMs: 200 } } });
  h.agents.push(agent('web-1'));
  const client = h.createClient('monitoring-viewer');
  const token = h.accessToken(client);
  const stream = await openEventStream(h, PATH, token);
  t.teardown(() => stream.close());
  await stream.next((e) => e.event === 'snapshot');
  await new Promise((r) => setTimeout(r, 700));
  t.ok(stream.comments.length >= 2, `comment lines keep the stream alive (${stream.comments.length})`);
  h.deps.clients.revoke(client.id, Date.now());
  const revoked = performance.now();
  await stream.ended;
  t.ok(performance.now() - revoked < 1000, 'ended at the next check after the client was revoked');
});

t.test('at most maxStreams streams (503 beyond); a closed one frees its slot; all end when the server stops', async (t) => {
  const h = await startApi(t, { server: { agentEvents: { maxStreams: 2 } } });
  const viewer = h.accessToken(h.createClient('monitoring-viewer'));
  const a = await openEventStream(h, PATH, viewer);
  const b = await openEventStream(h, PATH, viewer);
  t.teardown(() => (a.close(), b.close()));
  const third = await request(h, 'GET', PATH, { bearer: viewer });
  t.equal(third.status, 503);
  t.equal(third.json.error, 'too_many_streams');
  t.equal(third.headers['retry-after'], '5');
  a.close();
  await new Promise((r) => setTimeout(r, 100));
  const c = await openEventStream(h, PATH, viewer);
  t.equal(c.status, 200, 'a slot is free again once a reader goes away');
  const stopping = performance.now();
  await h.server.stop();
  await Promise.all([b.ended, c.ended]);
  t.ok(performance.now() - stopping < 2000, 'stop ends the streams instead of waiting out its deadline');
});

t.test('a reader that stops reading is dropped once its unsent backlog passes the bound', async (t) => {
  const h = await startApi(t, { server: { agentEvents: { maxBufferedBytes: 64 * 1024 } } });
  for (let i = 0; i < 500; i++) h.agents.push({ ...agent(`web-${i}`), version: 'v'.repeat(200) });
  const viewer = h.accessToken(h.createClient('monitoring-viewer'));
  const slow = await openEventStream(h, PATH, viewer);
  t.teardown(() => slow.close());
  await slow.next((e) => e.event === 'snapshot');
  slow.pause();
  const heapBefore = process.memoryUsage().heapUsed;
  let flips = 0;
  const deadline = Date.now() + 60_000;
  // Every agent flips state each pass (~200 KB of events a pass) until the slow stream is cut.
  while (Date.now() < deadline && !/reader too slow/.test(h.logText())) {
    flips++;
    for (let i = 0; i < h.agents.length; i++) h.agents[i] = { ...h.agents[i], state: flips % 2 ? 'STALE' : 'ACTIVE' };
    h.agentsChanged();
    await new Promise((r) => setTimeout(r, 10));
  }
  t.match(h.logText(), /agent event stream dropped: reader too slow/, `dropped after ${flips} passes (${Math.round((flips * 225) / 1024)} MB sent at it)`);
  t.ok(process.memoryUsage().heapUsed - heapBefore < 64 * 1024 * 1024, 'the server did not hold what the reader did not take');
  slow.close();
  const next = await openEventStream(h, PATH, viewer);
  t.teardown(() => next.close());
  t.equal(((await next.next((e) => e.event === 'snapshot')).data as unknown[]).length, 500, 'a new reader is served');
});

t.test('a storage fault under the snapshot answers 503, and the next stream is served', async (t) => {
  const h = await startApi(t);
  h.agents.push(agent('web-1'));
  const viewer = h.accessToken(h.createClient('monitoring-viewer'));
  const list = h.deps.agents.list;
  h.deps.agents.list = () => {
    throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
  };
  const failed = await request(h, 'GET', PATH, { bearer: viewer });
  t.equal(failed.status, 503);
  t.equal(failed.json.error, 'unavailable');
  h.deps.agents.list = list;
  const stream = await openEventStream(h, PATH, viewer);
  t.teardown(() => stream.close());
  t.same(((await stream.next((e) => e.event === 'snapshot')).data as { node: string }[]).map((a) => a.node), ['web-1']);
});
