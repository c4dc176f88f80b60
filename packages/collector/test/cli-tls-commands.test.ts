/**
 * `ximp tls status` and `ximp tls renew` against the API harness with a fake certificate manager
 * (SPEC §6): the table's columns with relative NOT-AFTER times, JSON keys in snake_case of the
 * columns (days_left a number, not_after ISO 8601), a row in status error giving its reason on
 * stderr under the table, and the exit statuses (2 usage, 3 not allowed, 1 failed).
 */
import { ErrorCodes, XimpError } from '@ximp/shared';
import t from 'tap';
import { startApi } from './helpers/api-harness';
import { cli } from './helpers/cli-runner';
import { fakeCertificates } from './helpers/fake-certificates';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const CELL_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in \d+d\)$/;

t.test('tls status: the columns, relative times, the error reason under the table', async (t) => {
  const now = Date.now();
  const fake = fakeCertificates(now);
  const h = await startApi(t, { certificates: fake });
  const { run } = cli(t, h, h.createClient('monitoring-admin'), () => now);

  const table = await run('tls', 'status');
  t.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  t.match(lines[0], /^COMPONENT\s+SUBJECT\s+ISSUER\s+NOT-AFTER\s+DAYS-LEFT\s+STATUS\s+SOURCE$/);
  t.equal(lines.length, 5);
  const cells = lines.slice(1).map((l) => l.split(/ {2,}/));
  t.same(cells.map((c) => c[0]), ['ca', 'collector', 'api', 'store-client']);
  t.same(cells[1].slice(1, 3), ['CN=ximp collector', 'CN=ximp CA']);
  for (const c of cells) t.match(c[3], CELL_TIME);
  t.equal(cells[1][3], `${fake.views[1].notAfter.toISOString().replace(/\.\d{3}Z$/, 'Z')} (in 300d)`);
  t.same(cells.map((c) => c.slice(4)), [
    ['3650', 'ok', 'managed'],
    ['300', 'ok', 'managed'],
    ['20', 'error', 'managed'],
    ['12', 'renew-due', 'file'],
  ]);
  // Columns line up: every row's STATUS starts where the header's does.
  const statusAt = lines[0].indexOf('STATUS');
  t.same(lines.slice(1).map((l) => l.slice(statusAt).split(' ')[0]), ['ok', 'ok', 'error', 'renew-due']);
  t.equal(
    table.stderr,
    'error: api: cannot write pki/api.key: EACCES\n' +
      'warning: store-client: the certificate from files expires in 12 days; XIMP does not renew certificates from files: replace them\n',
    'the reason of the row in error, and a warning for the due certificate from files, on stderr',
  );

  fake.views[3] = { ...fake.views[3], status: 'expired', daysLeft: -3, certFile: '/etc/ximp/store.pem' };
  const expired = await run('tls', 'status', '--component', 'store-client');
  t.equal(expired.code, 0);
  t.equal(
    expired.stderr,
    'warning: store-client: the certificate from /etc/ximp/store.pem expired 3 days ago; XIMP does not renew certificates from files: replace them\n',
  );

  const one = await run('tls', 'status', '--component', 'collector');
  t.equal(one.code, 0);
  t.equal(one.stdout.trimEnd().split('\n').length, 2);
  t.match(one.stdout, /\ncollector\s+CN=ximp collector\s/);
  t.equal(one.stderr, '', 'no error line when no listed row is in error');
});

t.test('tls status --output json: snake_case keys of the columns', async (t) => {
  const fake = fakeCertificates();
  const h = await startApi(t, { certificates: fake });
  const { run } = cli(t, h, h.createClient('monitoring-admin'));
  const res = await run('tls', 'status', '--output', 'json');
  t.equal(res.code, 0);
  const rows = JSON.parse(res.stdout);
  t.equal(rows.length, 4);
  for (const row of rows) {
    t.same(Object.keys(row), ['component', 'subject', 'issuer', 'not_after', 'days_left', 'status', 'source']);
    t.type(row.days_left, 'number');
    t.match(row.not_after, ISO);
  }
  t.same(rows[3], { component: 'store-client', subject: 'CN=ximp store-client', issuer: 'CN=ximp CA', not_after: fake.views[3].notAfter.toISOString(), days_left: 12, status: 'renew-due', source: 'file' });
  t.match(res.stderr, /^error: api: cannot write pki\/api\.key: EACCES\nwarning: store-client: .* expires in 12 days;.*\n$/, 'the reason and the warning stay off stdout, so the JSON is unchanged');

  const none = await run('tls', 'status', '--component', 'ca', '--output', 'json');
  t.equal(none.code, 0);
  t.equal(JSON.parse(none.stdout)[0].component, 'ca');
});

t.test('tls renew: the new NOT-AFTER per component, in a table or JSON', async (t) => {
  const now = Date.now();
  const fake = fakeCertificates(now);
  const h = await startApi(t, { certificates: fake });
  const { run } = cli(t, h, h.createClient('monitoring-admin'), () => now);

  const one = await run('tls', 'renew', '--component', 'collector');
  t.equal(one.code, 0, one.stderr);
  t.match(one.stdout, /^COMPONENT\s+NOT-AFTER\ncollector\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in 365d\)\n/);
  t.match(one.stdout, /live ones stay up/);
  t.same(fake.renewCalls, [['collector']]);

  const all = await run('tls', 'renew', '--all', '--output', 'json');
  t.equal(all.code, 0, all.stderr);
  const rows = JSON.parse(all.stdout);
  t.same(rows.map((r: object) => Object.keys(r)), [['component', 'not_after'], ['component', 'not_after']]);
  t.same(rows.map((r: { component: string }) => r.component), ['collector', 'api']);
  t.match(rows[0].not_after, ISO);
  t.same(fake.renewCalls, [['collector'], 'all']);
  t.same(h.deps.audit.list().map((e) => [e.action, e.target]), [['tls.renew', 'collector,api'], ['tls.renew', 'collector']]);

  fake.managed = [];
  const none = await run('tls', 'renew', '--all');
  t.equal(none.code, 0);
  t.equal(none.stdout, 'COMPONENT  NOT-AFTER\nNo managed certificate to renew.\n');
  t.equal(none.stderr, 'skipped store-client: certificates from files are not renewed by XIMP; replace the files\n', '--all says what it skipped');
  t.equal(one.stderr, '', 'a named component skips nothing');
});

t.test('exit statuses: usage 2, not allowed 3, failure 1', async (t) => {
  const fake = fakeCertificates();
  const h = await startApi(t, { certificates: fake });
  const admin = cli(t, h, h.createClient('monitoring-admin'));

  const neither = await admin.run('tls', 'renew');
  t.equal(neither.code, 2);
  t.match(neither.stderr, /give --all or --component NAME/);
  const both = await admin.run('tls', 'renew', '--all', '--component', 'api');
  t.equal(both.code, 2);
  t.match(both.stderr, /--all and --component: give one of them, not both/);
  const step = await admin.run('tls', 'renew', '--component', 'api', '--step', 'switch');
  t.equal(step.code, 2, '--step is for the CA only');
  t.match(step.stderr, /--step: only with --component ca/);
  const badStep = await admin.run('tls', 'renew', '--component', 'ca', '--step', 'later');
  t.equal(badStep.code, 2);
  t.match(badStep.stderr, /--step must be one of bundle, switch, drop-old/);
  const unknown = await admin.run('tls', 'status', '--component', 'agent');
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /component: unknown component "agent"/);
  t.same(fake.renewCalls, [], 'no usage error reached the manager');

  for (const role of ['monitoring-viewer', 'monitoring-editor'] as const) {
    const other = cli(t, h, h.createClient(role));
    const status = await other.run('tls', 'status');
    t.equal(status.code, 3, role);
    t.match(status.stderr, /not allowed/, role);
    t.equal((await other.run('tls', 'renew', '--all')).code, 3, role);
  }

  fake.failure = new XimpError(ErrorCodes.PKI_RENEW_FAILED, 'cannot write pki/collector.pem: EACCES');
  const failed = await admin.run('tls', 'renew', '--component', 'collector');
  t.equal(failed.code, 1);
  t.match(failed.stderr, /failed: HTTP 500 cannot write pki\/collector\.pem: EACCES \(renewal_failed\)/);
  t.equal(failed.stdout, '');
});

t.test('without a certificate manager the commands fail (exit 1) and say why', async (t) => {
  const h = await startApi(t);
  const { run } = cli(t, h, h.createClient('monitoring-admin'));
  for (const argv of [['tls', 'status'], ['tls', 'renew', '--all']]) {
    const res = await run(...argv);
    t.equal(res.code, 1, argv.join(' '));
    t.match(res.stderr, /HTTP 503 .*certificate management is not available in this collector/, argv.join(' '));
  }
});
