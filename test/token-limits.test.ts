/**
 * What one token, and one address, may cost the collector: at most `max_sessions_per_token`
 * concurrent sessions (the oldest closed 4003), a bounded upgrade rate per token (429 with
 * Retry-After), failed authentications limited per address without ever refusing a correct
 * token from that address (NAT), refusals logged a few lines a minute, and the same per-address
 * limit on POST /api/v1/token.
 */
import t from 'tap';
import WebSocket from 'ws';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { createToken, startCollector, waitFor } from './helpers/system';

interface Upgrade {
  status: number;
  retryAfter?: string;
  ws?: WebSocket;
  closeCode?: Promise<number>;
}

/** Opens an upgrade; on 101 the socket stays open (the caller closes it). */
function upgrade(url: string, ca: string, token: string, node: string): Promise<Upgrade> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'ximp.v1', { ca, headers: { Authorization: `Bearer ${token}`, 'X-Ximp-Node': node }, minVersion: 'TLSv1.3' });
    const closeCode = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
      ws.terminate();
    });
    ws.on('open', () => resolve({ status: 101, ws, closeCode }));
    ws.on('error', () => resolve({ status: 0 }));
  });
}

const BAD_TOKEN = `ximp_${'a'.repeat(12)}_${'b'.repeat(52)}`;

t.test('a token holds at most max_sessions_per_token sessions: the oldest is closed 4003', async (t) => {
  const c = await startCollector(t);
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const { token } = await createToken(c.cliConfig, 'many');
  const first = await upgrade(c.agentUrl, ca, token, 'many');
  const second = await upgrade(c.agentUrl, ca, token, 'many');
  t.equal(first.status, 101);
  t.equal(second.status, 101);
  t.teardown(() => [first, second].forEach((u) => u.ws?.terminate()));
  const third = await upgrade(c.agentUrl, ca, token, 'many');
  t.teardown(() => third.ws?.terminate());
  t.equal(third.status, 101, 'a third session is accepted');
  t.equal(await first.closeCode, 4003, 'and the oldest is closed with 4003');
  t.equal(second.ws!.readyState, WebSocket.OPEN, 'the second stays');
  t.ok(c.logs.some((l) => l.includes('token over its session limit')), 'the close is logged');
});

t.test('a token reconnecting in a tight loop gets 429 with Retry-After; others do not', async (t) => {
  const c = await startCollector(t);
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const looping = await createToken(c.cliConfig, 'looping');
  const calm = await createToken(c.cliConfig, 'calm');
  const statuses: number[] = [];
  let refused: Upgrade | undefined;
  for (let i = 0; i < 21; i++) {
    const u = await upgrade(c.agentUrl, ca, looping.token, 'looping');
    statuses.push(u.status);
    u.ws?.terminate();
    if (u.status === 429) refused = u;
  }
  t.same(statuses, [...new Array<number>(20).fill(101), 429], '20 upgrades a minute, the 21st refused');
  t.ok(Number(refused?.retryAfter) >= 1 && Number(refused?.retryAfter) <= 60, `Retry-After ${refused?.retryAfter} s`);
  const other = await upgrade(c.agentUrl, ca, calm.token, 'calm');
  other.ws?.terminate();
  t.equal(other.status, 101, 'another token from the same address is not affected');
});

t.test('100 failed authentications from one address do not refuse a correct token from it', async (t) => {
  const c = await startCollector(t);
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const { token } = await createToken(c.cliConfig, 'behind-nat');
  const statuses: number[] = [];
  // In rounds of 20 at once: failures over the limit are answered after a delay.
  for (let round = 0; round < 5; round++) {
    const attempts = Array.from({ length: 20 }, () => upgrade(c.agentUrl, ca, BAD_TOKEN, 'behind-nat'));
    // A correct token in the middle of the flood of failures, from the same address.
    const good = round === 3 ? await upgrade(c.agentUrl, ca, token, 'behind-nat') : undefined;
    if (good) {
      t.equal(good.status, 101, 'the correct token gets in while others fail from its address');
      good.ws?.terminate();
    }
    statuses.push(...(await Promise.all(attempts)).map((u) => u.status));
  }
  t.equal(statuses.length, 100);
  t.equal(statuses.filter((s) => s === 401).length, 31, 'the first 31 failures are told 401');
  t.equal(statuses.filter((s) => s === 429).length, 69, 'the rest 429');
  const after = await upgrade(c.agentUrl, ca, token, 'behind-nat');
  after.ws?.terminate();
  t.equal(after.status, 101, 'and after 100 failures the correct token still gets in');
  const lines = c.logs.filter((l) => l.includes('agent connection refused'));
  t.ok(lines.length >= 1 && lines.length <= 3, `100 refusals, ${lines.length} log lines`);
  t.match(lines.map((l) => JSON.parse(l) as { count: number }), [{ count: 1 }]);
});

t.test('POST /api/v1/token: failed client authentication from one address gets 429 with Retry-After', async (t) => {
  const c = await startCollector(t, '  auth_failures_per_minute: 3');
  const ca = fs.readFileSync(c.caFile);
  const cli = fs.readFileSync(c.cliConfig, 'utf8');
  const id = /client_id: "?([^"\n]+)/.exec(cli)![1];
  const secret = /client_secret: "?([^"\n]+)/.exec(cli)![1];
  const grant = (clientSecret: string) =>
    new Promise<{ status: number; retryAfter?: string; body: string }>((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: c.apiPort, method: 'POST', path: '/api/v1/token', ca, servername: 'localhost', minVersion: 'TLSv1.3', agent: false, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body }));
        },
      );
      req.on('error', reject);
      req.end(new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: clientSecret }).toString());
    });
  const statuses: number[] = [];
  let limited: { retryAfter?: string; body: string } | undefined;
  for (let i = 0; i < 5; i++) {
    const res = await grant('xcs_' + 'x'.repeat(52));
    statuses.push(res.status);
    if (res.status === 429) limited = res;
  }
  t.same(statuses, [401, 401, 401, 401, 429]);
  t.ok(Number(limited?.retryAfter) >= 1, `Retry-After ${limited?.retryAfter}`);
  t.equal(JSON.parse(limited!.body).error, 'rate_limited');
  t.equal((await grant(secret)).status, 200, 'the correct secret from that address is still granted');
  await waitFor('log written', () => c.logs.some((l) => l.includes('token grant refused')));
  t.equal(c.logs.filter((l) => l.includes('token grant refused')).length, 1, 'five refusals, one log line');
});

t.test('POST /api/v1/token: requests pipelined on one connection are not checked side by side', async (t) => {
  const c = await startCollector(t, '  auth_failures_per_minute: 3');
  const ca = fs.readFileSync(c.caFile);
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: 'xc_aaaaaaaaaaaa', client_secret: 'xcs_' + 'x'.repeat(52) }).toString();
  const request =
    `POST /api/v1/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
    `Content-Length: ${Buffer.byteLength(form)}\r\n\r\n${form}`;
  const answers = await new Promise<string>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: c.apiPort, ca, servername: 'localhost', minVersion: 'TLSv1.3' }, () => s.write(request.repeat(200)));
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('close', () => resolve(text));
    s.on('error', reject);
    setTimeout(() => s.destroy(), 15_000).unref();
  });
  const statuses = answers.match(/^HTTP\/1\.1 \d+/gm) ?? [];
  t.ok(statuses.length <= 1, `200 pipelined guesses: the connection is closed after ${statuses.length} answer(s), not one check each`);
  await waitFor('refusal logged', () => c.logs.some((l) => l.includes('token grant refused')));
  const refusedLines = c.logs.filter((l) => l.includes('token grant refused'));
  t.ok(JSON.parse(refusedLines[refusedLines.length - 1]).count <= 2, 'at most a couple of secrets were checked');
});
