/**
 * Bulk revocation (`POST /api/v1/agent-tokens/revoke`) on a real collector over TLS 1.3, with
 * agents connected: one call revokes every known id in one transaction, closes every session of
 * them with 4001 (their retries are refused), answers each id's status in request order, audits
 * only what it newly revoked and logs one line; a bad body is refused naming the field; a storage
 * fault during the transaction revokes nothing, answers 503 and the collector keeps serving.
 * `ximp agent token revoke` with several IDs uses it (one call per 1,000), prints one row per ID
 * and exits 4 when any was unknown, the others revoked all the same.
 */
import t from 'tap';
import * as fs from 'node:fs';
import WebSocket from 'ws';
import type { Database } from '../packages/collector/src/store/database';
import { MetricStore } from '../packages/collector/src/store/metric-store';
import { adminApi, type AdminApi } from './helpers/admin-api';
import { connectRawAgent, helloFrame, type RawAgent } from './helpers/raw-agent';
import { runCli, startCollector, waitFor } from './helpers/system';

const AGENTS = 20;
const REVOKE = '/api/v1/agent-tokens/revoke';

interface Result {
  id: string | null;
  status: string;
  closed_sessions: { node: string; address: string }[];
}

async function auditedRevocations(api: AdminApi): Promise<string[]> {
  const audit = JSON.parse((await api('GET', '/api/v1/audit?limit=1000')).body) as { action: string; target: string }[] | { entries: { action: string; target: string }[] };
  const entries = Array.isArray(audit) ? audit : audit.entries;
  return entries.filter((e) => e.action === 'agent_token.revoke').map((e) => e.target).sort();
}

t.test('one call revokes many tokens with their agents connected; faults revoke nothing', async (t) => {
  let db: Database | undefined;
  const c = await startCollector(t, '', { createMetricStore: (d, options) => ((db = d), new MetricStore(d, options)) });
  const api = await adminApi(c);
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const tokens: { id: string; token: string; node: string }[] = [];
  const agents: RawAgent[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const node = `bulk-node-${i}`;
    const created = JSON.parse((await api('POST', '/api/v1/agent-tokens', { node })).body) as { id: string; token: string };
    tokens.push({ id: created.id, token: created.token, node });
    const agent = await connectRawAgent(c.agentUrl, ca, created.token, node);
    t.teardown(() => agent.ws.terminate());
    await agent.send(helloFrame(node, `stream${i}`));
    await waitFor(`welcome ${i}`, () => agent.frames.find((f) => f.type === 'welcome'));
    agents.push(agent);
  }
  t.equal((await api('DELETE', `/api/v1/agent-tokens/${tokens[0].id}`)).status, 200, 'token 0 revoked alone first');
  await agents[0].closed;

  await t.test('mixed ids: per-id statuses in request order, sessions closed, retries refused', async (t) => {
    const pasted = tokens[13].token; // a whole token given as an id: malformed, never sent back
    const ids = [tokens[1].id, 'zzzzzzzzzzzz', tokens[0].id, ...tokens.slice(2, 12).map((x) => x.id), tokens[1].id, pasted];
    const res = await api('POST', REVOKE, { ids });
    t.equal(res.status, 200, res.body);
    t.notMatch(res.body, pasted, 'the pasted token is not echoed');
    t.notMatch(res.body, pasted.slice(18), 'nor its secret');
    const { results } = JSON.parse(res.body) as { results: Result[] };
    t.same(
      results.map((r) => [r.id, r.status]),
      [
        [tokens[1].id, 'revoked'],
        ['zzzzzzzzzzzz', 'not_found'],
        [tokens[0].id, 'already_revoked'],
        ...tokens.slice(2, 12).map((x) => [x.id, 'revoked']),
        [null, 'not_found'],
      ],
      'each distinct id once, in request order; the duplicate counted once',
    );
    for (const r of results.filter((x) => x.status === 'revoked')) {
      const node = tokens.find((x) => x.id === r.id)!.node;
      t.same(r.closed_sessions.map((s) => s.node), [node], `${node}: its session named`);
      t.equal(r.closed_sessions[0].address, '127.0.0.1');
    }
    t.same(results[1].closed_sessions, []);
    for (let i = 1; i < 12; i++) t.equal((await agents[i].closed).code, 4001, `session ${i} closes with 4001`);
    await new Promise((r) => setTimeout(r, 200));
    t.same(
      agents.map((a, i) => (a.ws.readyState === WebSocket.OPEN ? i : -1)).filter((i) => i >= 0),
      [12, 13, 14, 15, 16, 17, 18, 19],
      'the sessions of tokens not revoked stay open (token 13 was only pasted malformed)',
    );
    for (const i of [1, 5, 11]) {
      await t.rejects(connectRawAgent(c.agentUrl, ca, tokens[i].token, tokens[i].node), /upgrade refused with 401/, `agent ${i} retrying is refused`);
    }
    t.same(await auditedRevocations(api), tokens.slice(0, 12).map((x) => x.id).sort(), 'audited once per token newly revoked, never the others');
    const lines = c.logs.filter((l) => l.includes('"msg":"agent tokens revoked"'));
    t.equal(lines.length, 1, 'one log line for the call');
    t.match(JSON.parse(lines[0]), { requested: 14, revoked: 11, already_revoked: 1, not_found: 2, closed_sessions: 11 });
    t.notOk(c.logs.some((l) => l.includes(pasted.slice(18))), 'no secret in the logs');
    const listed = JSON.parse((await api('GET', '/api/v1/agent-tokens')).body) as { id: string; status: string }[];
    t.same(listed.filter((x) => x.status === 'revoked').map((x) => x.id).sort(), tokens.slice(0, 12).map((x) => x.id).sort());
  });

  await t.test('a bad body is refused naming the field', async (t) => {
    const cases: [unknown, RegExp][] = [
      [{ ids: Array.from({ length: 1001 }, (_, i) => `a${String(i).padStart(11, '0')}`) }, /^ids: at most 1000 /],
      [{ ids: [] }, /^ids: /],
      [{ ids: tokens[12].id }, /^ids: expected an array/],
      [{ ids: [tokens[12].id, 7] }, /^ids\[1\]: expected a string/],
      [{ ids: [tokens[12].id], force: true }, /^force: unknown field/],
      [{}, /^ids: required/],
    ];
    for (const [body, message] of cases) {
      const res = await api('POST', REVOKE, body);
      t.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
      t.match(JSON.parse(res.body), { error: 'invalid_request', message });
    }
    t.equal(agents[12].ws.readyState, WebSocket.OPEN, 'nothing was revoked');
  });

  await t.test('the literal /revoke is no token id for the other methods', async (t) => {
    for (const method of ['GET', 'DELETE']) {
      const res = await api(method, REVOKE);
      t.equal(res.status, 405, method);
      t.match(res.headers.allow, /^POST$/);
    }
  });

  await t.test('a storage fault during the transaction revokes nothing, answers 503, and the collector serves on', async (t) => {
    const doomed = tokens.slice(14, 18);
    // The third audit entry of the call fails, after two revocations were written in the transaction.
    db!.exec(
      `CREATE TEMP TRIGGER bulk_fault BEFORE INSERT ON audit_log WHEN NEW.target = '${doomed[2].id}' ` +
        `BEGIN SELECT RAISE(ABORT, 'injected fault'); END`,
    );
    const res = await api('POST', REVOKE, { ids: doomed.map((x) => x.id) });
    t.equal(res.status, 503, res.body);
    t.match(JSON.parse(res.body), { error: 'unavailable' });
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 14; i < 18; i++) t.equal(agents[i].ws.readyState, WebSocket.OPEN, `session ${i} still open`);
    const listed = JSON.parse((await api('GET', '/api/v1/agent-tokens')).body) as { id: string; status: string }[];
    t.same(listed.filter((x) => doomed.some((d) => d.id === x.id)).map((x) => x.status), ['valid', 'valid', 'valid', 'valid'], 'none revoked');
    t.same(await auditedRevocations(api), tokens.slice(0, 12).map((x) => x.id).sort(), 'no audit entry of the failed call');

    db!.exec('DROP TRIGGER bulk_fault');
    const retry = await api('POST', REVOKE, { ids: doomed.map((x) => x.id) });
    t.equal(retry.status, 200, 'the same call succeeds once storage is back');
    t.same((JSON.parse(retry.body) as { results: Result[] }).results.map((r) => r.status), ['revoked', 'revoked', 'revoked', 'revoked']);
    for (let i = 14; i < 18; i++) t.equal((await agents[i].closed).code, 4001, `session ${i} closes with 4001`);
  });

  await t.test('the CLI with several IDs: one row each, exit 4 when one is unknown, JSON rows', async (t) => {
    const table = await runCli(c.cliConfig, ['agent', 'token', 'revoke', tokens[12].id, 'yyyyyyyyyyyy', tokens[18].id]);
    t.equal(table.code, 4, 'an unknown ID exits 4');
    const lines = table.stdout.trimEnd().split('\n');
    t.match(lines[0], /^ID\s+STATUS\s+CLOSED-SESSIONS$/);
    t.match(lines[1], new RegExp(`^${tokens[12].id}\\s+revoked\\s+1$`));
    t.match(lines[2], /^yyyyyyyyyyyy\s+not_found\s+0$/);
    t.match(lines[3], new RegExp(`^${tokens[18].id}\\s+revoked\\s+1$`));
    t.match(table.stderr, /not found: 1 of 3 token IDs \(the others were revoked\)/);
    t.equal((await agents[12].closed).code, 4001);
    t.equal((await agents[18].closed).code, 4001);

    const json = await runCli(c.cliConfig, ['agent', 'token', 'revoke', tokens[12].id, tokens[19].id, '--output', 'json']);
    t.equal(json.code, 0, 'already revoked and revoked exit 0');
    t.same(JSON.parse(json.stdout), [
      { id: tokens[12].id, status: 'already_revoked', closed_sessions: [] },
      { id: tokens[19].id, status: 'revoked', closed_sessions: [{ node: tokens[19].node, address: '127.0.0.1' }] },
    ]);

    // 1,001 IDs take two calls (the API refuses more than 1,000 in one).
    const callsBefore = c.logs.filter((l) => l.includes('"msg":"agent tokens revoked"')).length;
    const unknown = Array.from({ length: 1000 }, (_, i) => `u${String(i).padStart(11, '0')}`);
    const many = await runCli(c.cliConfig, ['agent', 'token', 'revoke', ...unknown, tokens[13].id, '--output', 'json']);
    t.equal(many.code, 4);
    const rows = JSON.parse(many.stdout) as Result[];
    t.equal(rows.length, 1001);
    t.same(rows[1000], { id: tokens[13].id, status: 'revoked', closed_sessions: [{ node: tokens[13].node, address: '127.0.0.1' }] });
    t.ok(rows.slice(0, 1000).every((r) => r.status === 'not_found'));
    t.equal(c.logs.filter((l) => l.includes('"msg":"agent tokens revoked"')).length - callsBefore, 2, 'two calls');
    t.equal((await agents[13].closed).code, 4001);
  });
});
