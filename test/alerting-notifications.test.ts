/**
 * Alerts end to end on a real collector and agent: the built-in agent-down rule fires when the
 * agent goes away and resolves when it is back, through a real SMTP server (STARTTLS and AUTH)
 * and a real HTTPS webhook receiver (signature checked); a channel whose server is down does not
 * delay another; no channel secret is in any answer, log line, audit entry or the database file.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { SMTPServer } from 'smtp-server';
import { CertificateAuthority } from '../packages/collector/src/pki/certificate-authority';
import { adminApi } from './helpers/admin-api';
import { createToken, freePort, startAgent, startCollector, tempDir, waitFor } from './helpers/system';

const HMAC = 'whsec-5d1c2b-must-stay-secret';
const SMTP_PASSWORD = 'smtp-pw-8e7f6a-must-stay-secret';

const ca = CertificateAuthority.create({ commonName: 'XIMP alerting test CA' });
const leaf = ca.issue({ commonName: 'localhost', usage: 'server', sans: [{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }] });

interface Mail {
  subject: string;
  data: string;
}

async function smtpServer(t: Test): Promise<{ port: number; mails: Mail[] }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    key: leaf.keyPem,
    cert: leaf.certPem,
    logger: false,
    onAuth(auth, session, cb) {
      if (session.secure && auth.username === 'ximp' && auth.password === SMTP_PASSWORD) cb(null, { user: 'ximp' });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, _session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const data = Buffer.concat(chunks).toString();
        mails.push({ subject: /^Subject: (.*)$/m.exec(data)?.[1] ?? '', data });
        cb();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.server.address() as AddressInfo).port, mails };
}

async function webhookReceiver(t: Test): Promise<{ url: string; bodies: Record<string, unknown>[]; badSignatures: number }> {
  const state = { url: '', bodies: [] as Record<string, unknown>[], badSignatures: 0 };
  const server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem, minVersion: 'TLSv1.3' }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const expected = `sha256=${crypto.createHmac('sha256', HMAC).update(body).digest('hex')}`;
      const given = String(req.headers['x-ximp-signature'] ?? '');
      if (given.length === expected.length && crypto.timingSafeEqual(Buffer.from(given), Buffer.from(expected))) {
        state.bodies.push(JSON.parse(body.toString()) as Record<string, unknown>);
        res.writeHead(200).end();
      } else {
        state.badSignatures++;
        res.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  state.url = `https://localhost:${(server.address() as AddressInfo).port}/hook`;
  return state;
}

t.test('agent-down fires when an agent goes away and resolves when it is back: email and a signed webhook', async (t) => {
  const caFile = path.join(tempDir(t), 'receivers-ca.pem');
  fs.writeFileSync(caFile, ca.certPem);
  const smtp = await smtpServer(t);
  const hook = await webhookReceiver(t);
  const deadPort = await freePort();
  const c = await startCollector(t, 'alerting:\n  evaluation_interval: 1s', { alertRetry: { initialMs: 50, maxMs: 200, attempts: 1000 } });
  const api = await adminApi(c);

  const created = [
    await api('POST', '/api/v1/alert-channels', { name: 'mail', type: 'email', smtp_host: 'localhost', smtp_port: smtp.port, from: 'ximp@example.net', to: ['ops@example.net'], username: 'ximp', password: SMTP_PASSWORD, ca_file: caFile }),
    await api('POST', '/api/v1/alert-channels', { name: 'hook', type: 'webhook', url: hook.url, secret: HMAC, ca_file: caFile }),
    // A receiver that is down: its retries must not hold back the others.
    await api('POST', '/api/v1/alert-channels', { name: 'down', type: 'webhook', url: `https://localhost:${deadPort}/`, secret: 'x-secret', ca_file: caFile }),
  ];
  t.same(created.map((r) => r.status), [201, 201, 201]);
  t.match(JSON.parse(created[0].body), { name: 'mail', password: 'set', smtp_port: smtp.port });

  const rule = await api('PUT', '/api/v1/alert-rules/agent-down', { name: 'agent-down', kind: 'agent_down', for: '2s', channels: ['down', 'mail', 'hook'] });
  t.equal(rule.status, 200, rule.body);
  t.match(JSON.parse(rule.body), { name: 'agent-down', built_in: true, for: '2s' });

  const { token } = await createToken(c.cliConfig, 'web-1');
  const agent = await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node: 'web-1', intervalMs: 200 });
  await waitFor('web-1 active', async () => (await api('GET', '/api/v1/agents/web-1')).body.includes('"ACTIVE"'));
  await agent.stop();
  const stoppedAt = Date.now();

  const firingMail = await waitFor('the firing email', () => smtp.mails.find((m) => m.subject.includes('FIRING')), 20_000);
  t.ok(Date.now() - stoppedAt >= 2000, 'not before `for` had passed');
  t.match(firingMail.subject, /\[FIRING:1\] agent-down \(web-1\)/);
  const firingHook = await waitFor('the firing webhook', () => hook.bodies.find((b) => b.status === 'firing'), 10_000);
  t.match(firingHook, { version: '4', receiver: 'hook', groupLabels: { alertname: 'agent-down' }, alerts: [{ status: 'firing', labels: { alertname: 'agent-down', instance: 'web-1', job: 'ximp' } }] });
  t.equal(hook.badSignatures, 0, 'every body carried a valid signature');

  const active = JSON.parse((await api('GET', '/api/v1/alerts')).body) as { rule: string; instance: string; status: string }[];
  t.match(active, [{ rule: 'agent-down', instance: 'web-1', status: 'firing' }]);

  const again = await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node: 'web-1', intervalMs: 200 });
  const resolvedMail = await waitFor('the resolved email', () => smtp.mails.find((m) => m.subject.includes('RESOLVED')), 20_000);
  t.match(resolvedMail.subject, /\[RESOLVED\] agent-down \(web-1\)/);
  await waitFor('the resolved webhook', () => hook.bodies.find((b) => b.status === 'resolved'), 10_000);
  await again.stop();

  const history = JSON.parse((await api('GET', '/api/v1/alerts/history?since=1h&node=web-1')).body) as { event: string; channel: string | null; outcome: string | null }[];
  const events = history.filter((e) => e.event !== 'delivery').map((e) => e.event);
  t.same(events.slice(0, 3), ['pending', 'firing', 'resolved'], 'every transition in the history');
  t.ok(history.some((e) => e.event === 'delivery' && e.channel === 'mail' && e.outcome === 'ok'), 'the email delivery is in the history');
  t.ok(history.some((e) => e.event === 'delivery' && e.channel === 'down' && e.outcome === 'failed'), 'and the failing channel\'s attempts');

  // No secret anywhere: answers, logs, audit, the database file.
  const everything = [
    (await api('GET', '/api/v1/alert-channels')).body,
    (await api('GET', '/api/v1/alert-channels/mail')).body,
    (await api('GET', '/api/v1/alert-channels/hook')).body,
    (await api('GET', '/api/v1/audit')).body,
    c.logs.join('\n'),
  ].join('\n');
  t.notMatch(everything, /must-stay-secret/);
  t.match((await api('GET', '/api/v1/audit')).body, /alert_channel\.create/);
  await c.stop();
  for (const file of fs.readdirSync(c.dataDir).filter((f) => f.startsWith('ximp.db'))) {
    const bytes = fs.readFileSync(path.join(c.dataDir, file));
    t.equal(bytes.indexOf('must-stay-secret'), -1, `${file}: no secret in clear`);
  }
  t.equal(fs.statSync(path.join(c.dataDir, 'secrets.key')).mode & 0o777, 0o600, 'the key file is 0600');
});
