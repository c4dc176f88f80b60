import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { SMTPServer } from 'smtp-server';
import { CertificateAuthority } from '../src/pki/certificate-authority';
import { alertmanagerDeliverer } from '../src/alerting/alertmanager-deliverer';
import { emailDeliverer } from '../src/alerting/email-deliverer';
import { testNotification, type Notification } from '../src/alerting/notification';
import { SIGNATURE_HEADER, signBody, webhookDeliverer } from '../src/alerting/webhook-deliverer';

const ca = CertificateAuthority.create({ commonName: 'XIMP deliverer test CA' });
const leaf = ca.issue({ commonName: 'localhost', usage: 'server', sans: [{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }] });
const CA = Buffer.from(ca.certPem);
const HMAC = 'hmac-3e1f9c-never-in-logs';

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** An HTTPS receiver on loopback answering `status` to each request, recording what came. */
async function receiver(t: Test, status: () => number, tlsVersions: { minVersion: 'TLSv1.2' | 'TLSv1.3'; maxVersion: 'TLSv1.2' | 'TLSv1.3' } = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' }) {
  const got: Received[] = [];
  const server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem, ...tlsVersions }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(status(), { 'Content-Type': 'text/plain' });
      res.end(status() >= 400 ? 'receiver says no\r\n' : 'ok');
    });
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `https://localhost:${(server.address() as AddressInfo).port}`, got };
}

const firing: Notification = {
  rule: 'agent-down',
  channel: 'ops-hook',
  status: 'firing',
  test: false,
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'agent-down', instance: 'web-1', job: 'ximp' },
      annotations: { summary: 'agent web-1 has not been ACTIVE for 5m' },
      startsAt: '2026-12-01T12:00:00.000Z',
      endsAt: '0001-01-01T00:00:00Z',
      node: 'web-1',
      instance: 'web-1',
    },
    {
      status: 'resolved',
      labels: { alertname: 'agent-down', instance: 'web-2', job: 'ximp' },
      annotations: { summary: 'agent web-2 has not been ACTIVE for 5m' },
      startsAt: '2026-12-01T11:00:00.000Z',
      endsAt: '2026-12-01T12:00:00.000Z',
      node: 'web-2',
      instance: 'web-2',
    },
  ],
};

t.test("webhook: Alertmanager's payload version 4, signed with HMAC-SHA256 over the raw body", async (t) => {
  const r = await receiver(t, () => 200);
  const d = webhookDeliverer({ url: `${r.url}/hook`, ca_file: null }, { secret: HMAC, bearer_token: 'bearer-1' }, { ca: CA, timeoutMs: 5000, externalUrl: 'https://collector:4494' });
  t.same(await d.deliver(firing), { ok: true, detail: 'HTTP 200' });
  const [req] = r.got;
  t.equal(req.path, '/hook');
  t.equal(req.headers[SIGNATURE_HEADER.toLowerCase()], signBody(req.body, HMAC), 'the signature verifies against the body received');
  t.match(req.headers[SIGNATURE_HEADER.toLowerCase()], /^sha256=[0-9a-f]{64}$/);
  t.equal(req.headers.authorization, 'Bearer bearer-1');
  t.match(req.headers['user-agent'], /^ximp-collector\//);
  const body = JSON.parse(req.body.toString()) as Record<string, unknown>;
  t.match(body, {
    version: '4',
    status: 'firing',
    receiver: 'ops-hook',
    groupLabels: { alertname: 'agent-down' },
    commonLabels: { alertname: 'agent-down', job: 'ximp' },
    externalURL: 'https://collector:4494',
    alerts: [
      { status: 'firing', labels: { instance: 'web-1' }, startsAt: '2026-12-01T12:00:00.000Z', endsAt: '0001-01-01T00:00:00Z', fingerprint: /^[0-9a-f]{16}$/ },
      { status: 'resolved', labels: { instance: 'web-2' }, endsAt: '2026-12-01T12:00:00.000Z' },
    ],
  });
  t.notOk('instance' in (body.commonLabels as object), 'labels that differ are not common');
  t.notMatch(req.body.toString(), /never-in-logs/, 'the secret is not in the body');
});

t.test('webhook: 5xx and 429 are retried, other 4xx are not; the detail names the answer', async (t) => {
  let status = 503;
  const r = await receiver(t, () => status);
  const d = webhookDeliverer({ url: r.url, ca_file: null }, { secret: HMAC }, { ca: CA, timeoutMs: 5000, externalUrl: '' });
  t.same(await d.deliver(firing), { ok: false, retry: true, detail: 'HTTP 503: receiver says no' });
  status = 429;
  t.match(await d.deliver(firing), { ok: false, retry: true });
  status = 400;
  t.same(await d.deliver(firing), { ok: false, retry: false, detail: 'HTTP 400: receiver says no' });
});

t.test('webhook: an untrusted receiver or one below TLS 1.3 gets nothing', async (t) => {
  const r = await receiver(t, () => 200);
  const other = CertificateAuthority.create({ commonName: 'another CA' });
  const untrusted = webhookDeliverer({ url: r.url, ca_file: null }, { secret: HMAC }, { ca: Buffer.from(other.certPem), timeoutMs: 5000, externalUrl: '' });
  t.match(await untrusted.deliver(firing), { ok: false, retry: true, detail: /the receiver's certificate is not signed by the CA in the channel's ca_file.*set ca_file to the CA that issued the receiver's certificate/ });
  const old = await receiver(t, () => 200, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
  const d = webhookDeliverer({ url: old.url, ca_file: null }, { secret: HMAC }, { ca: CA, timeoutMs: 5000, externalUrl: '' });
  t.match(await d.deliver(firing), { ok: false, detail: /TLS version below 1\.3/ });
  t.equal(r.got.length + old.got.length, 0, 'no request reached either');
});

t.test('alertmanager: POST /api/v2/alerts with the alerts; a resolved one carries its end', async (t) => {
  const r = await receiver(t, () => 200);
  const d = alertmanagerDeliverer({ url: `${r.url}/am`, ca_file: null }, {}, { ca: CA, timeoutMs: 5000, externalUrl: 'https://collector:4494', now: () => Date.UTC(2026, 11, 1, 12, 0, 0) });
  t.match(await d.deliver(firing), { ok: true });
  t.equal(r.got[0].path, '/am/api/v2/alerts');
  const alerts = JSON.parse(r.got[0].body.toString()) as Record<string, unknown>[];
  t.equal(alerts.length, 2);
  t.equal(alerts[0].endsAt, '2026-12-01T12:04:00.000Z', 'firing: ends four resends ahead unless posted again');
  t.match(alerts[1], { labels: { instance: 'web-2', alertname: 'agent-down' }, endsAt: '2026-12-01T12:00:00.000Z', generatorURL: 'https://collector:4494' });
  t.equal(r.got[0].headers.authorization, undefined, 'no token configured, none sent');
});

interface Mail {
  from: string;
  to: string[];
  data: string;
  user: string | undefined;
  secure: boolean;
}

/** A real SMTP server (smtp-server) on loopback with STARTTLS (or implicit TLS) and AUTH. */
async function smtp(t: Test, o: { implicit?: boolean; noStartTls?: boolean } = {}) {
  const mails: Mail[] = [];
  const logins: { user: string; secure: boolean }[] = [];
  const server = new SMTPServer({
    secure: o.implicit === true,
    key: leaf.keyPem,
    cert: leaf.certPem,
    hideSTARTTLS: o.noStartTls === true,
    authOptional: false,
    disabledCommands: o.noStartTls ? ['STARTTLS'] : [],
    logger: false,
    onAuth(auth, session, cb) {
      logins.push({ user: auth.username ?? '', secure: session.secure });
      if (auth.username === 'ximp' && auth.password === 'right-password') cb(null, { user: 'ximp' });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString(),
          user: session.user as string | undefined,
          secure: session.secure,
        });
        cb();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.server.address() as AddressInfo).port, mails, logins };
}

const mailSettings = (port: number, tls: 'starttls' | 'implicit' = 'starttls') => ({
  smtp_host: 'localhost',
  smtp_port: port,
  tls,
  from: 'ximp@example.net',
  to: ['ops@example.net', 'oncall@example.net'],
  username: 'ximp',
  ca_file: null,
});

t.test('email: STARTTLS then AUTH, one mail naming the rule and each alert', async (t) => {
  const s = await smtp(t);
  const d = emailDeliverer(mailSettings(s.port), { password: 'right-password' }, { ca: CA, timeoutMs: 5000 });
  t.match(await d.deliver(firing), { ok: true, detail: /accepted by localhost/ });
  t.equal(s.mails.length, 1);
  const [mail] = s.mails;
  t.same(mail.to, ['ops@example.net', 'oncall@example.net']);
  t.equal(mail.user, 'ximp');
  t.ok(mail.secure, 'sent inside TLS');
  t.match(mail.data, /Subject: \[FIRING:1\] agent-down \(web-1, web-2\)/);
  t.match(mail.data, /FIRING web-1: agent web-1 has not been ACTIVE for 5m/);
  t.match(mail.data, /RESOLVED web-2/);
  t.same(s.logins, [{ user: 'ximp', secure: true }], 'the password went only over TLS');
});

t.test('email: implicit TLS works; a wrong password is not retried; a test notification says so', async (t) => {
  const s = await smtp(t, { implicit: true });
  const d = emailDeliverer(mailSettings(s.port, 'implicit'), { password: 'right-password' }, { ca: CA, timeoutMs: 5000 });
  t.match(await d.deliver(testNotification('mail', Date.UTC(2026, 11, 1))), { ok: true });
  t.match(s.mails[0].data, /Subject: \[TEST\] \[FIRING:1\] ximp-channel-test/);
  const wrong = emailDeliverer(mailSettings(s.port, 'implicit'), { password: 'wrong' }, { ca: CA, timeoutMs: 5000 });
  const result = await wrong.deliver(firing);
  t.match(result, { ok: false, retry: false, detail: /^EAUTH/ });
  t.notMatch(JSON.stringify(result), /wrong"|right-password/, 'no password in the detail');
});

t.test('email: a server that offers no STARTTLS never sees the password', async (t) => {
  const s = await smtp(t, { noStartTls: true });
  const d = emailDeliverer(mailSettings(s.port), { password: 'right-password' }, { ca: CA, timeoutMs: 5000 });
  const result = await d.deliver(firing);
  t.match(result, { ok: false });
  t.same(s.logins, [], 'no AUTH was attempted in plaintext');
  t.equal(s.mails.length, 0);
});
