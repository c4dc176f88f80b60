/**
 * Revoking a token closes its live session within 1 s (close code 4001), later attempts get 401,
 * the agent shows DISCONNECTED; rotating to a second token loses no batch.
 */
import t from 'tap';
import WebSocket from 'ws';
import * as fs from 'node:fs';
import { loadAgentConfig } from '../packages/agent/src/config';
import { AgentTokenStore } from '../packages/collector/src/auth/agent-token-store';
import { openDatabase } from '../packages/collector/src/store/database';
import { agentList, createToken, runCli, startAgent, startCollector, waitFor, writeAgentConfig } from './helpers/system';

/** Opens a raw agent connection and reports how the collector answered the upgrade. */
function tryUpgrade(url: string, ca: string, token: string, node: string): Promise<{ status: number; body: string } | { open: true }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'ximp.v1', { ca, headers: { Authorization: `Bearer ${token}`, 'X-Ximp-Node': node }, minVersion: 'TLSv1.3' });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('open', () => {
      ws.terminate();
      resolve({ open: true });
    });
    ws.on('error', () => undefined);
  });
}

t.test('revocation disconnects within 1 s, then 401 and DISCONNECTED', async (t) => {
  const c = await startCollector(t);
  const node = 'compute-node-04';
  const { id, token } = await createToken(c.cliConfig, node);
  const a = await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node });
  await waitFor('ACTIVE', async () => (await agentList(c.cliConfig)).find((x) => x.node === node && x.state === 'ACTIVE'));

  const revoked = await runCli(c.cliConfig, ['agent', 'token', 'revoke', id, '--output', 'json']);
  t.equal(revoked.code, 0, 'revoke exits 0');
  const body = JSON.parse(revoked.stdout);
  t.equal(body.id, id);
  t.equal(body.closed_sessions.length, 1, 'the live session is reported');
  t.equal(body.closed_sessions[0].node, node);
  t.match(body.closed_sessions[0].address, /127\.0\.0\.1/);

  // Measured from the revocation itself (its audit time, taken before the commit) to the agent's
  // log of the 4001 close, so a slow CLI start-up on a loaded machine does not count against it.
  const closeLine = await waitFor('agent sees 4001', () => a.logs.find((l) => l.includes('"reason":"revoked"')), 5000, 10);
  const audit = JSON.parse((await runCli(c.cliConfig, ['audit', 'list', '--output', 'json'])).stdout) as { time: string; action: string; target: string }[];
  const entry = audit.find((e) => e.action === 'agent_token.revoke' && e.target === id);
  t.ok(entry, 'the revocation is audited');
  const elapsed = Date.parse(JSON.parse(closeLine).time) - Date.parse(entry!.time);
  t.ok(elapsed >= 0 && elapsed < 1000, `the agent learned of the revocation ${elapsed} ms after it was committed`);
  const state = await waitFor('DISCONNECTED', async () => (await agentList(c.cliConfig)).find((x) => x.node === node && x.state === 'DISCONNECTED'));
  t.ok(state);

  const ca = fs.readFileSync(c.caFile, 'utf8');
  const again = await tryUpgrade(c.agentUrl, ca, token, node);
  t.same(again, { status: 401, body: JSON.stringify({ error: 'revoked' }) }, 'the revoked token is refused with 401');
  const wrongSecret = `${token.slice(0, -4)}${token.endsWith('aaaa') ? 'bbbb' : 'aaaa'}`;
  t.same(await tryUpgrade(c.agentUrl, ca, wrongSecret, node), { status: 401, body: JSON.stringify({ error: 'invalid_token' }) }, 'a wrong secret learns nothing about revocation');

  const twice = await runCli(c.cliConfig, ['agent', 'token', 'revoke', id]);
  t.equal(twice.code, 0, 'revoking a revoked token exits 0');
  t.match(twice.stdout, /already revoked/);
  const unknown = await runCli(c.cliConfig, ['agent', 'token', 'revoke', 'zzzzzzzzzzzz']);
  t.equal(unknown.code, 4, 'revoking an unknown id exits 4');
  t.equal(a.logs.filter((l) => l.includes('collector refused this agent')).length, 1, 'the refusal is logged once, not on every retry');
});

t.test('rotation with two tokens loses no batch', async (t) => {
  const c = await startCollector(t);
  const node = 'rotating-node';
  const first = await createToken(c.cliConfig, node);
  const a = await startAgent(t, { url: c.agentUrl, token: first.token, caFile: c.caFile, node, intervalMs: 100 });
  await waitFor('ACTIVE', async () => (await agentList(c.cliConfig)).find((x) => x.node === node && x.token === first.id));

  // 1. create, 2. deploy to agent.yaml, 3. reload, 4. verify, 5. revoke the old one.
  const second = await createToken(c.cliConfig, node);
  writeAgentConfig(a.configFile, { url: c.agentUrl, token: second.token, caFile: c.caFile, node, spoolDir: a.spoolDir });
  a.agent.reload({ ...loadAgentConfig(a.configFile), intervalMs: 100 });
  await waitFor('session on the new token', async () => (await agentList(c.cliConfig)).find((x) => x.node === node && x.state === 'ACTIVE' && x.token === second.id));
  const revoked = JSON.parse((await runCli(c.cliConfig, ['agent', 'token', 'revoke', first.id, '--output', 'json'])).stdout);
  t.same(revoked.closed_sessions, [], 'no live session used the old token any more');
  await new Promise((r) => setTimeout(r, 500));
  await a.stop();
  const produced = a.source!.cycles;
  t.ok(produced >= 5, `the agent produced ${produced} batches`);

  const db = openDatabase(c.dataDir);
  t.teardown(() => db.close());
  const rows = db.prepare("SELECT sequence FROM batches WHERE node = ? AND stream_id != 'ximp-collector' ORDER BY sequence").all(node) as { sequence: number }[];
  t.same(rows.map((r) => r.sequence), Array.from({ length: produced }, (_, i) => i + 1), 'every batch 1..N is stored exactly once');
});

t.test('expiry closes the live session at the expiry instant (4002), then 401 expired', async (t) => {
  const c = await startCollector(t);
  const node = 'short-lived';
  // The API's shortest expiry is a minute; a test token that expires in 3 s is made in the store.
  const expiresMs = Date.now() + 3000;
  const db = openDatabase(c.dataDir);
  const { token } = new AgentTokenStore(db).create(node, 3000, expiresMs - 3000);
  db.close();
  const a = await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node, intervalMs: 200 });
  await waitFor('ACTIVE', async () => (await agentList(c.cliConfig)).find((x) => x.node === node && x.state === 'ACTIVE'));
  t.ok(a.logs.some((l) => l.includes('agent token expires within 30 days')), 'the agent warns that its token expires soon');
  await waitFor('agent sees 4002', () => a.logs.some((l) => l.includes('"reason":"expired"')), 10_000, 10);
  const lateness = Date.now() - expiresMs;
  t.ok(lateness >= 0 && lateness < 1000, `the session ended ${lateness} ms after the expiry instant`);
  const ca = fs.readFileSync(c.caFile, 'utf8');
  t.same(await tryUpgrade(c.agentUrl, ca, token, node), { status: 401, body: JSON.stringify({ error: 'expired' }) });
});
