/**
 * Bad input closes only the session that sent it: another node's token gets 403, garbage,
 * truncated and oversized frames get 4400/1009, a burst of failures from one address gets 429
 * (yet a correct token from there gets in), a burst of protocol violations gets that token 429,
 * and a well-behaved agent keeps streaming throughout.
 */
import t from 'tap';
import WebSocket from 'ws';
import * as fs from 'node:fs';
import * as https from 'node:https';
import { decodeCollectorFrame, encodeAgentFrame } from '@ximp/shared';
import { helloFrame } from './helpers/raw-agent';
import { agentList, createToken, startAgent, startCollector, waitFor } from './helpers/system';

interface Outcome {
  status?: number;
  body?: string;
  closeCode?: number;
  frames: Buffer[];
}

/** Connects as `node`, sends `frames` after the upgrade, and reports how the collector ended it. */
function session(url: string, ca: string, token: string, node: string, frames: (Uint8Array | string)[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    const ws = new WebSocket(url, 'ximp.v1', {
      ca,
      headers: { Authorization: `Bearer ${token}`, 'X-Ximp-Node': node },
      minVersion: 'TLSv1.3',
      maxPayload: 8 * 1024 * 1024,
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode, body, frames: received }));
    });
    ws.on('open', () => {
      for (const f of frames) ws.send(f);
    });
    ws.on('message', (d: Buffer) => received.push(d));
    ws.on('close', (code) => resolve({ closeCode: code, frames: received }));
    ws.on('error', () => undefined);
  });
}

/** Opens an upgrade and closes it at once: 101 when accepted, else the refusal's status. */
function upgradeStatus(url: string, ca: string, token: string, node: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'ximp.v1', { ca, headers: { Authorization: `Bearer ${token}`, 'X-Ximp-Node': node }, minVersion: 'TLSv1.3' });
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', () => resolve(0));
  });
}

function hello(node: string): Uint8Array {
  return encodeAgentFrame(helloFrame(node));
}

t.test('bad input closes only the offending session', async (t) => {
  const c = await startCollector(t);
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const good = await createToken(c.cliConfig, 'good-node');
  const bad = await createToken(c.cliConfig, 'bad-node');
  const a = await startAgent(t, { url: c.agentUrl, token: good.token, caFile: c.caFile, node: 'good-node', intervalMs: 200 });
  await waitFor('good agent ACTIVE', async () => (await agentList(c.cliConfig)).find((x) => x.node === 'good-node' && x.state === 'ACTIVE'));

  const wrongNode = await session(c.agentUrl, ca, bad.token, 'good-node', []);
  t.equal(wrongNode.status, 403, 'a token of another node gets 403');
  t.equal(wrongNode.body, JSON.stringify({ error: 'wrong_node' }));

  const malformedToken = await session(c.agentUrl, ca, 'not-a-token', 'bad-node', []);
  t.equal(malformedToken.status, 401, 'a malformed token gets 401');
  t.equal(malformedToken.body, JSON.stringify({ error: 'invalid_token' }));

  const garbage = await session(c.agentUrl, ca, bad.token, 'bad-node', [Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])]);
  t.equal(garbage.closeCode, 4400, 'garbage closes with 4400');

  const h = hello('bad-node');
  const truncated = await session(c.agentUrl, ca, bad.token, 'bad-node', [h.subarray(0, h.length - 3)]);
  t.equal(truncated.closeCode, 4400, 'a truncated frame closes with 4400');

  const text = await session(c.agentUrl, ca, bad.token, 'bad-node', ['{"hello":1}']);
  t.equal(text.closeCode, 4400, 'a text frame closes with 4400');

  const oversized = await session(c.agentUrl, ca, bad.token, 'bad-node', [Buffer.alloc(2 * 1024 * 1024, 1)]);
  t.equal(oversized.closeCode, 1009, 'an oversized frame closes with 1009');

  const batchFirst = encodeAgentFrame({ type: 'batch', sequence: 1, timestampUnixMs: Date.now(), definitions: [], seriesIds: [1], values: [1], droppedBatchesTotal: 0 });
  const noHello = await session(c.agentUrl, ca, bad.token, 'bad-node', [batchFirst]);
  t.equal(noHello.closeCode, 4400, 'a batch before hello closes with 4400');

  const undefinedSeries = await session(c.agentUrl, ca, bad.token, 'bad-node', [hello('bad-node'), batchFirst]);
  t.equal(undefinedSeries.closeCode, 4400, 'a batch using an undefined series id closes with 4400');
  t.same(
    undefinedSeries.frames.map((f) => decodeCollectorFrame(f)).map((f) => (f.type === 'error' ? [f.type, f.code] : [f.type])),
    [['welcome'], ['error', 4400]],
    'the hello was answered with a welcome, the violation with an error frame before the close',
  );

  t.ok(c.logs.some((l) => l.includes('agent broke the protocol') && l.includes('4400')), 'the collector logs each violation with its code');
  // The good agent kept streaming throughout.
  const before = a.source!.cycles;
  await waitFor('good agent keeps streaming', () => a.source!.cycles > before + 2 && a.agent.pendingBatches() <= 1);
  t.equal((await agentList(c.cliConfig)).find((x) => x.node === 'good-node')?.state, 'ACTIVE', 'the good agent is still ACTIVE');
});

t.test('no hello in time closes with 4408', async (t) => {
  const c = await startCollector(t, '  hello_timeout: 300ms');
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const { token } = await createToken(c.cliConfig, 'slow-node');
  const silent = await session(c.agentUrl, ca, token, 'slow-node', []);
  t.equal(silent.closeCode, 4408);
});

t.test('too many failed attempts from one address get 429', async (t) => {
  const c = await startCollector(t, '  auth_failures_per_minute: 3');
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const { token } = await createToken(c.cliConfig, 'victim');
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await session(c.agentUrl, ca, `ximp_${'a'.repeat(12)}_${'b'.repeat(52)}`, 'victim', [])).status ?? 0);
  t.same(statuses, [401, 401, 401, 401, 429], 'the attempt after the limit is rate limited');
  t.equal(await upgradeStatus(c.agentUrl, ca, token, 'victim'), 101, 'a valid token from that address still gets in (NAT)');
});

t.test('protocol violations count against the token: its holder cannot send hostile frames at line rate', async (t) => {
  const c = await startCollector(t, '  auth_failures_per_minute: 3');
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const { token } = await createToken(c.cliConfig, 'hostile');
  const outcomes: (number | undefined)[] = [];
  outcomes.push((await session(c.agentUrl, ca, token, 'hostile', [Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])])).closeCode);
  outcomes.push((await session(c.agentUrl, ca, token, 'hostile', ['text'])).closeCode);
  outcomes.push((await session(c.agentUrl, ca, token, 'hostile', [Buffer.alloc(2 * 1024 * 1024, 1)])).closeCode);
  outcomes.push((await session(c.agentUrl, ca, token, 'hostile', [Buffer.from([0x0a])])).closeCode);
  t.same(outcomes, [4400, 4400, 1009, 4400], 'each violation closes its session');
  const next = await session(c.agentUrl, ca, token, 'hostile', [hello('hostile')]);
  t.equal(next.status, 429, 'past the limit the token is refused until the window passes');
  const other = await createToken(c.cliConfig, 'neighbour');
  t.equal(await upgradeStatus(c.agentUrl, ca, other.token, 'neighbour'), 101, 'another token from the same address is not');
});

t.test('an agent reporting spool drops is logged and counted', async (t) => {
  const c = await startCollector(t);
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const { token } = await createToken(c.cliConfig, 'lossy-node');
  const batch = encodeAgentFrame({
    type: 'batch',
    sequence: 1,
    timestampUnixMs: Date.now(),
    definitions: [{ id: 1, name: 'node_load1', labels: [] }],
    seriesIds: [1],
    values: [0.5],
    droppedBatchesTotal: 17,
  });
  const run = session(c.agentUrl, ca, token, 'lossy-node', [hello('lossy-node'), batch]);
  const line = await waitFor('drop warning', () => c.logs.find((l) => l.includes('agent spool dropped batches')));
  t.match(JSON.parse(line), { node: 'lossy-node', dropped_batches_total: 17 });
  const res = await fetchMetrics(c);
  t.match(res, /ximp_collector_agent_spool_dropped_batches\{node="lossy-node"\} 17/);
  await Promise.all([c.collector.stop(), run]);
});

/** GET /metrics with an admin access token from the test's CLI config. */
async function fetchMetrics(c: { apiPort: number; caFile: string; cliConfig: string }): Promise<string> {
  const cli = fs.readFileSync(c.cliConfig, 'utf8');
  const id = /client_id: "?([^"\n]+)/.exec(cli)![1];
  const secret = /client_secret: "?([^"\n]+)/.exec(cli)![1];
  const ca = fs.readFileSync(c.caFile);
  const request = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    new Promise<string>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: c.apiPort, method, path, headers, ca, servername: 'localhost', minVersion: 'TLSv1.3' }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end(body);
    });
  const grant = JSON.parse(
    await request('POST', '/api/v1/token', { 'Content-Type': 'application/x-www-form-urlencoded' }, new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }).toString()),
  ) as { access_token: string };
  return request('GET', '/metrics', { Authorization: `Bearer ${grant.access_token}` });
}
