/**
 * `ximp tls status` and `ximp tls renew` against a real collector: the rows match the certificate
 * files, a renewal serves a new certificate on the next handshake, and each renewal is audited.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import t from 'tap';
import { adminApi } from './helpers/admin-api';
import { runCli, startCollector } from './helpers/system';

const DAY = 86_400_000;

/** The serial the agent listener presents to a new connection. */
function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', minVersion: 'TLSv1.3' }, () => {
      const serial = s.getPeerCertificate().serialNumber;
      s.end();
      resolve(serial);
    });
    s.on('error', reject);
  });
}

t.test('tls status matches the files; tls renew serves a new certificate and is audited', async (t) => {
  const c = await startCollector(t);
  const status = await runCli(c.cliConfig, ['tls', 'status', '--output', 'json']);
  t.equal(status.code, 0, status.stderr);
  const rows = JSON.parse(status.stdout) as { component: string; subject: string; issuer: string; not_after: string; days_left: number; status: string; source: string }[];
  t.same(rows.map((r) => r.component), ['ca', 'collector', 'api', 'store-client']);
  for (const row of rows) {
    const file = path.join(c.dataDir, 'pki', `${row.component}.pem`);
    const x = new X509Certificate(fs.readFileSync(file));
    t.equal(new Date(row.not_after).getTime(), new Date(x.validTo).getTime(), `${row.component}: NOT-AFTER of the file`);
    t.equal(row.days_left, Math.floor((new Date(x.validTo).getTime() - Date.now()) / DAY), `${row.component}: days left`);
    t.ok(x.subject.split('\n').some((part) => row.subject.includes(part.split('=')[1] ?? '')), `${row.component}: subject ${row.subject}`);
    t.equal(row.status, 'ok');
    t.equal(row.source, 'managed');
  }
  const table = await runCli(c.cliConfig, ['tls', 'status']);
  t.match(table.stdout, /^COMPONENT\s+SUBJECT\s+ISSUER\s+NOT-AFTER\s+DAYS-LEFT\s+STATUS\s+SOURCE/);

  const port = c.collector.agentAddress().port;
  const ca = fs.readFileSync(c.caFile, 'utf8');
  const before = await servedSerial(port, ca);
  const renewed = await runCli(c.cliConfig, ['tls', 'renew', '--component', 'collector', '--output', 'json']);
  t.equal(renewed.code, 0, renewed.stderr);
  const [row] = JSON.parse(renewed.stdout) as { component: string; not_after: string }[];
  t.equal(row.component, 'collector');
  t.ok(new Date(row.not_after).getTime() - Date.now() >= 90 * DAY, 'at least 90 days ahead');
  const after = await servedSerial(port, ca);
  t.not(after, before, 'a new handshake sees the new certificate');

  const all = await runCli(c.cliConfig, ['tls', 'renew', '--all', '--output', 'json']);
  t.equal(all.code, 0, all.stderr);
  t.same((JSON.parse(all.stdout) as { component: string }[]).map((r) => r.component).sort(), ['api', 'collector', 'store-client']);

  const api = await adminApi(c);
  const audit = JSON.parse((await api('GET', '/api/v1/audit?limit=20')).body) as { action: string; target: string }[];
  const renewals = audit.filter((e) => e.action === 'tls.renew');
  t.equal(renewals.length, 2, 'one audit entry per renewal');
});
