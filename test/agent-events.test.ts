/**
 * The live fleet stream with a real collector and a real agent (issue 9, "a revoked agent turns
 * DISCONNECTED without a reload"): revoking the agent's token sends its row as DISCONNECTED
 * within 1 s; a caller limited to other nodes never hears of it.
 */
import * as fs from 'node:fs';
import * as https from 'node:https';
import t from 'tap';
import { openEventStream } from '../packages/collector/test/helpers/sse-client';
import { adminApi } from './helpers/admin-api';
import { createToken, startAgent, startCollector } from './helpers/system';

function grant(c: { apiPort: number }, ca: Buffer, id: string, secret: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: c.apiPort, method: 'POST', path: '/api/v1/token', ca, servername: 'localhost', minVersion: 'TLSv1.3', agent: false, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve((JSON.parse(text) as { access_token: string }).access_token));
      },
    );
    req.on('error', reject);
    req.end(new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }).toString());
  });
}

t.test('a revoked agent is sent as DISCONNECTED within 1 s; a caller scoped to other nodes hears nothing of it', async (t) => {
  const c = await startCollector(t);
  const ca = fs.readFileSync(c.caFile);
  const api = await adminApi(c);
  const target = { url: `https://127.0.0.1:${c.apiPort}`, caPem: ca, servername: 'localhost' };
  const client = async (role: string, nodes?: string): Promise<string> => {
    const res = await api('POST', '/api/v1/clients', { name: `events ${role} ${nodes ?? 'all'}`, role, ...(nodes ? { nodes } : {}) });
    const { client_id: id, client_secret: secret } = JSON.parse(res.body) as { client_id: string; client_secret: string };
    return grant(c, ca, id, secret);
  };
  const viewer = await client('monitoring-viewer');
  const dbOnly = await client('monitoring-viewer', 'db-*');

  const { id, token } = await createToken(c.cliConfig, 'web-1');
  const stream = await openEventStream(target, '/api/v1/agents/events', viewer);
  const scoped = await openEventStream(target, '/api/v1/agents/events', dbOnly);
  t.teardown(() => (stream.close(), scoped.close()));
  t.equal(stream.status, 200);
  const snapshot = await stream.next((e) => e.event === 'snapshot');
  t.match(snapshot.data, [{ node: 'web-1', state: 'PENDING' }], 'the token makes the node PENDING');
  t.same((await scoped.next((e) => e.event === 'snapshot')).data, [], 'the db-* caller sees no web node');

  await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node: 'web-1' });
  const active = await stream.next((e) => e.event === 'agent' && (e.data as { state: string }).state === 'ACTIVE', 10_000);
  t.match(active.data, { node: 'web-1', address: /^127\.0\.0\.1/, token_expires_at: /^\d{4}-/, spool_backlog: 0 });
  t.type((active.data as { clock_skew_ms: unknown }).clock_skew_ms, 'number', 'clock skew from the agent\'s send time');

  const from = stream.events.length;
  const revoking = performance.now();
  const revoke = await api('DELETE', `/api/v1/agent-tokens/${id}`);
  t.equal(revoke.status, 200);
  const gone = await stream.next((e) => e.event === 'agent' && (e.data as { state: string }).state === 'DISCONNECTED', 5000, from);
  const ms = gone.at - revoking;
  t.ok(ms <= 1000, `DISCONNECTED arrived ${Math.round(ms)} ms after the revocation was asked for`);
  t.match(gone.data, { node: 'web-1', state: 'DISCONNECTED' });
  await new Promise((r) => setTimeout(r, 300));
  t.same(scoped.events.map((e) => e.event), ['snapshot'], 'the db-* caller got nothing about web-1');
});
