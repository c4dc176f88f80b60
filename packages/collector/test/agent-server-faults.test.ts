/**
 * A storage fault inside the agent listener's upgrade handler (the token check, last-used) is
 * answered 503 with Retry-After on the raw socket, reported once per minute per kind, counted,
 * and the listener keeps serving: the next upgrade after the fault clears gets in.
 */
import t, { type Test } from 'tap';
import WebSocket from 'ws';
import { createLogger } from '@ximp/shared';
import { FaultReporter } from '../src/fault-reporter';
import { AgentServer, type UpgradeTokenVerifier } from '../src/ingest/agent-server';
import type { AgentRegistry } from '../src/registry/agent-registry';
import type { SessionMetricStore } from '../src/ingest/agent-session';
import { testPki } from './helpers/test-pki';

function diskError(): Error {
  return Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
}

interface Answer {
  status: number;
  retryAfter?: string;
  body: string;
}

function upgrade(port: number, ca: string): Promise<Answer> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/v1/agent`, 'ximp.v1', {
      ca,
      minVersion: 'TLSv1.3',
      headers: { Authorization: `Bearer ximp_${'a'.repeat(12)}_${'b'.repeat(52)}`, 'X-Ximp-Node': 'node-a' },
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body }));
    });
    ws.on('open', () => {
      resolve({ status: 101, body: '' });
      ws.close();
    });
    ws.on('error', () => undefined);
  });
}

async function startServer(t: Test, tokens: UpgradeTokenVerifier) {
  const pki = testPki();
  const lines: string[] = [];
  const log = createLogger({ name: 'agent-server-test', level: 'debug', destination: { write: (l: string) => void lines.push(l) } });
  const faults = new FaultReporter({ log, now: Date.now });
  const server = new AgentServer({
    host: '127.0.0.1',
    port: 0,
    tls: pki.server,
    authFailuresPerMinute: 30,
    tokens,
    faults,
    session: {
      registry: {} as AgentRegistry,
      metrics: { releaseSeries: () => undefined } as unknown as SessionMetricStore,
      limits: { maxFrameBytes: 1 << 20, maxSamplesPerBatch: 1000, maxLabelsPerSeries: 32, maxSeriesPerSession: 1000, helloTimeoutMs: 5000, pingIntervalMs: 5000 },
      log,
      now: Date.now,
    },
  });
  await server.start();
  t.teardown(() => server.stop());
  return { server, faults, lines, port: server.address().port, ca: pki.caPem };
}

t.test('a storage fault while checking the token answers 503 and the listener keeps serving', async (t) => {
  let failing = true;
  const tokens: UpgradeTokenVerifier = {
    verify: () => {
      if (failing) throw diskError();
      return { ok: true, record: { id: 'aaaaaaaaaaaa', expiresMs: Date.now() + 3_600_000 } };
    },
    markUsed: () => undefined,
  };
  const s = await startServer(t, tokens);
  for (let i = 0; i < 5; i++) {
    const answer = await upgrade(s.port, s.ca);
    t.equal(answer.status, 503, `attempt ${i + 1}: 503`);
    t.equal(answer.retryAfter, '5', 'with Retry-After');
    t.same(JSON.parse(answer.body), { error: 'unavailable' }, 'nothing internal in the answer');
  }
  t.equal(s.server.counters.upgradeFaults, 5, 'every fault counted');
  t.equal(s.faults.total('agent_upgrade'), 5);
  const faultLines = s.lines.filter((l) => l.includes('"kind":"agent_upgrade"'));
  t.equal(faultLines.length, 1, 'one log line for the kind within the minute');
  t.match(faultLines[0], /disk I\/O error/, 'the log has the error');
  failing = false;
  t.equal((await upgrade(s.port, s.ca)).status, 101, 'once storage is back, agents get in');
});

t.test('a throwing last-used write fails neither the upgrade nor the process', async (t) => {
  let flushes = 0;
  const tokens: UpgradeTokenVerifier = {
    verify: () => ({ ok: true, record: { id: 'bbbbbbbbbbbb', expiresMs: Date.now() + 3_600_000 } }),
    markUsed: () => {
      throw diskError();
    },
    flushLastUsed: () => {
      flushes++;
      throw diskError();
    },
  };
  const s = await startServer(t, tokens);
  t.equal((await upgrade(s.port, s.ca)).status, 503, 'a throwing markUsed is a fault, answered 503');
  await new Promise((r) => setTimeout(r, 1300));
  t.ok(flushes >= 1, 'the batched flush ran');
  t.ok(s.faults.total('token_last_used') >= 1, 'its failure is counted');
  t.equal(s.lines.filter((l) => l.includes('"kind":"token_last_used"')).length, 1, 'and logged once');
});
