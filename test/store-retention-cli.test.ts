/**
 * `ximp store retention [get|set]` against a real collector (SPEC §6, §9, §10): every role reads
 * the retention, only a monitoring-admin sets it (exit 3 for the others), a bad duration is a
 * usage error (exit 2) before anything is sent, one outside the collector's bounds is refused by
 * it with exit 2 as well, table and JSON agree, and the change is audited.
 */
import * as path from 'node:path';
import t from 'tap';
import { adminApi } from './helpers/admin-api';
import { roleCliConfig as clientConfig } from './helpers/role-client';
import { runCli, startCollector } from './helpers/system';

t.test('get, set and get again as an admin; table and JSON; audited', async (t) => {
  const c = await startCollector(t, 'store:\n  retention: 15d');
  const table = await runCli(c.cliConfig, ['store', 'retention']);
  t.equal(table.code, 0, table.stderr);
  t.equal(table.stdout, ['RETENTION  RETENTION-SECONDS  SOURCE', '15d        1296000            default', ''].join('\n'));
  const get = await runCli(c.cliConfig, ['store', 'retention', 'get', '--output', 'json']);
  t.equal(get.code, 0);
  t.same(JSON.parse(get.stdout), { retention: '15d', retention_seconds: 1_296_000, source: 'default' });

  const set = await runCli(c.cliConfig, ['store', 'retention', 'set', '30d']);
  t.equal(set.code, 0, set.stderr);
  t.equal(set.stdout.split('\n').slice(0, 2).join('\n'), 'RETENTION  RETENTION-SECONDS  SOURCE\n30d        2592000            setting');
  t.match(set.stdout, /next retention pass/);
  const setJson = await runCli(c.cliConfig, ['store', 'retention', 'set', '2d12h', '--output', 'json']);
  t.same(JSON.parse(setJson.stdout), { retention: '2d12h', retention_seconds: 216_000, source: 'setting' });
  const after = await runCli(c.cliConfig, ['store', 'retention', '--output', 'json']);
  t.same(JSON.parse(after.stdout), { retention: '2d12h', retention_seconds: 216_000, source: 'setting' });

  const api = await adminApi(c);
  const audit = JSON.parse((await api('GET', '/api/v1/audit')).body) as { action: string; target: string }[];
  t.same(
    audit.filter((e) => e.action === 'store.retention.update').map((e) => e.target),
    ['store.retention: 30d -> 2d12h', 'store.retention: 15d -> 30d'],
    'each change audited with the old and new values, newest first',
  );
});

t.test('viewers and editors read; setting needs monitoring-admin (exit 3)', async (t) => {
  const c = await startCollector(t);
  for (const role of ['monitoring-viewer', 'monitoring-editor']) {
    const config = await clientConfig(c, role);
    const get = await runCli(config, ['store', 'retention', 'get', '--output', 'json']);
    t.equal(get.code, 0, `${role} reads`);
    t.equal(JSON.parse(get.stdout).source, 'default');
    const set = await runCli(config, ['store', 'retention', 'set', '30d']);
    t.equal(set.code, 3, `${role} may not set`);
    t.match(set.stderr, /^ximp: not allowed: .*\[XIMP_ERR_AUTH_FORBIDDEN\]/);
    t.equal(set.stdout, '');
  }
  const still = await runCli(c.cliConfig, ['store', 'retention', '--output', 'json']);
  t.equal(JSON.parse(still.stdout).source, 'default', 'nothing changed');
});

t.test('a bad duration is a usage error (exit 2) with the usage, before any request', async (t) => {
  const c = await startCollector(t);
  const cases: [string[], RegExp][] = [
    [['store', 'retention', 'set', '30 days'], /DURATION: expected a duration like 30d, 12h or 1h30m \(got "30 days"\)/],
    [['store', 'retention', 'set', '0'], /DURATION: expected a duration like 30d, 12h or 1h30m \(got "0"\)/],
    [['store', 'retention', 'set'], /missing argument DURATION/],
    [['store', 'retention', 'remove'], /unexpected argument "remove"/],
  ];
  for (const [args, message] of cases) {
    const res = await runCli(c.cliConfig, args);
    t.equal(res.code, 2, args.join(' '));
    t.match(res.stderr, message);
    t.match(res.stderr, /\[XIMP_ERR_CLI_USAGE\]/);
    t.match(res.stderr, /Usage: ximp store retention/);
  }
  // The bounds are the collector's: its 400 naming the field is a usage error too.
  for (const value of ['59s', '3650d1ms']) {
    const res = await runCli(c.cliConfig, ['store', 'retention', 'set', value]);
    t.equal(res.code, 2, value);
    t.match(res.stderr, /^ximp: invalid request: retention: must be between 1m and 3650d \[XIMP_ERR_CLI_USAGE\]\n$/, value);
  }
  // Even without a usable CLI config: a usage error comes first.
  const noConfig = await runCli(path.join(c.dir, 'absent.yaml'), ['store', 'retention', 'set', 'soon']);
  t.equal(noConfig.code, 2);
  const api = await adminApi(c);
  const audit = JSON.parse((await api('GET', '/api/v1/audit')).body) as { action: string }[];
  t.notOk(audit.some((e) => e.action === 'store.retention.update'), 'nothing was changed');
});
