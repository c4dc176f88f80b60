/**
 * Revocation among many connected agents: revoking one token closes exactly its session (4001)
 * and no other; many revocations sent at once (committed together) each close their own session,
 * each answer names it, each is audited once, and the sessions of unrevoked tokens stay open.
 */
import t from 'tap';
import * as fs from 'node:fs';
import WebSocket from 'ws';
import { adminApi } from './helpers/admin-api';
import { connectRawAgent, helloFrame, type RawAgent } from './helpers/raw-agent';
import { startCollector, waitFor } from './helpers/system';

const AGENTS = 12;

t.test('revoking one of many tokens closes its session only; a bulk revocation closes all of them', async (t) => {
  const c = await startCollector(t);
  const api = await adminApi(c);
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const tokens: { id: string; node: string }[] = [];
  const agents: RawAgent[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const node = `fleet-node-${i}`;
    const created = JSON.parse((await api('POST', '/api/v1/agent-tokens', { node })).body) as { id: string; token: string };
    tokens.push({ id: created.id, node });
    const agent = await connectRawAgent(c.agentUrl, ca, created.token, node);
    t.teardown(() => agent.ws.terminate());
    await agent.send(helloFrame(node, `stream${i}`));
    await waitFor(`welcome ${i}`, () => agent.frames.find((f) => f.type === 'welcome'));
    agents.push(agent);
  }

  const one = await api('DELETE', `/api/v1/agent-tokens/${tokens[3].id}`);
  t.equal(one.status, 200);
  t.same(JSON.parse(one.body).closed_sessions.map((s: { node: string }) => s.node), ['fleet-node-3'], 'the answer names its session only');
  t.equal((await agents[3].closed).code, 4001, 'its session closes with 4001');
  await new Promise((r) => setTimeout(r, 200));
  const open = agents.filter((a) => a.ws.readyState === WebSocket.OPEN).length;
  t.equal(open, AGENTS - 1, 'every other session stays open');

  // Tokens 0..7 but 3 at once, token 5 twice in the same group: revoked once, then already revoked.
  const bulk = [0, 1, 2, 4, 5, 5, 6, 7];
  const answers = await Promise.all(bulk.map((i) => api('DELETE', `/api/v1/agent-tokens/${tokens[i].id}`)));
  t.same(answers.map((a) => a.status), bulk.map(() => 200));
  const bodies = answers.map((a) => JSON.parse(a.body) as { id: string; status: string; closed_sessions: { node: string }[] });
  t.same(bodies.map((b) => b.status).sort(), ['already_revoked', 'revoked', 'revoked', 'revoked', 'revoked', 'revoked', 'revoked', 'revoked']);
  bodies.forEach((b, k) => {
    const i = bulk[k];
    t.equal(b.id, tokens[i].id);
    // A second revocation in the same moment may find the session already closing: it names it again or not at all.
    t.ok(b.closed_sessions.every((s) => s.node === tokens[i].node), `answer ${k} names only its own node`);
  });
  for (const i of [0, 1, 2, 4, 5, 6, 7]) t.equal((await agents[i].closed).code, 4001, `session ${i} closes with 4001`);
  await new Promise((r) => setTimeout(r, 200));
  t.same(
    agents.map((a, i) => (a.ws.readyState === WebSocket.OPEN ? i : -1)).filter((i) => i >= 0),
    [8, 9, 10, 11],
    'the sessions of unrevoked tokens stay open',
  );

  const audit = JSON.parse((await api('GET', '/api/v1/audit?limit=100')).body) as { action: string; target: string }[] | { entries: { action: string; target: string }[] };
  const entries = Array.isArray(audit) ? audit : audit.entries;
  const revokes = entries.filter((e) => e.action === 'agent_token.revoke').map((e) => e.target).sort();
  t.same(revokes, [0, 1, 2, 3, 4, 5, 6, 7].map((i) => tokens[i].id).sort(), 'each revocation is audited once');
});
