/**
 * `ximp alert list`, `ximp alert history` and `ximp audit list` against a real collector (SPEC
 * §6, §10, §14): a token_expiry rule fires for two nodes and notifies a real HTTPS receiver and a
 * dead one; the active alerts, their transitions and delivery attempts (a failure with what the
 * channel answered) filtered by node, rule and --since; the audit log newest first with --since.
 */
import t from 'tap';
import { httpsReceiver, receiverCa } from './helpers/https-receiver';
import { writeFileWithMode as write } from './helpers/files';
import { runCliWithInput } from './helpers/role-client';
import { createToken, freePort, runCli, startCollector, tempDir, waitFor } from './helpers/system';

const HOOK_SECRET = 'whsec-3f9a1c-never-printed';

t.test('active alerts and their history, filtered; the audit log with --since', async (t) => {
  const c = await startCollector(t, 'alerting:\n  evaluation_interval: 1s');
  const dir = tempDir(t);
  const caFile = write(dir, 'receivers-ca.pem', receiverCa.certPem, 0o644);
  const hook = await httpsReceiver(t);
  const deadPort = await freePort();
  const channel = (name: string, url: string): string => `name: ${name}\ntype: webhook\nurl: ${url}\nsecret: ${HOOK_SECRET}\nca_file: ${caFile}\n`;
  t.equal((await runCliWithInput(c.cliConfig, ['alert', 'channel', 'create', '--file', '-'], channel('hook', hook.url))).code, 0);
  t.equal((await runCliWithInput(c.cliConfig, ['alert', 'channel', 'create', '--file', '-'], channel('gone', `https://localhost:${deadPort}/`))).code, 0);
  const web1 = await createToken(c.cliConfig, 'web-1');
  const db1 = await createToken(c.cliConfig, 'db-1');
  // Every token expires within 10 years: the rule fires for both nodes at once.
  const rule = 'name: tokens\nkind: token_expiry\nwithin: 3650d\nfor: 0s\nchannels: [hook, gone]\n';
  t.equal((await runCliWithInput(c.cliConfig, ['alert', 'rule', 'create', '--file', '-'], rule)).code, 0);

  const active = await waitFor('both alerts firing', async () => {
    const res = await runCli(c.cliConfig, ['alert', 'list', '--output', 'json']);
    const rows = JSON.parse(res.stdout) as { rule: string; instance: string; status: string; since: string; value: number }[];
    return rows.filter((r) => r.status === 'firing').length === 2 ? rows : undefined;
  }, 15_000);
  t.same(active.map((r) => [r.rule, r.instance, r.status, Object.keys(r).sort()]), [
    ['tokens', 'db-1', 'firing', ['instance', 'rule', 'since', 'status', 'value']],
    ['tokens', 'web-1', 'firing', ['instance', 'rule', 'since', 'status', 'value']],
  ]);
  t.ok(active.every((r) => r.value > 360 && r.value <= 365), 'VALUE: the days left');
  const table = await runCli(c.cliConfig, ['alert', 'list']);
  t.match(table.stdout, /^RULE +INSTANCE +STATUS +SINCE +VALUE\ntokens +db-1 +firing +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \((now|\d+s ago)\) +36\d/);

  await waitFor('a delivery to the receiver', () => hook.received.length > 0 || undefined, 15_000);
  const failed = await waitFor('a failed delivery in the history', async () => {
    const res = await runCli(c.cliConfig, ['alert', 'history', '--rule', 'tokens', '--output', 'json']);
    const rows = JSON.parse(res.stdout) as Record<string, unknown>[];
    return rows.some((r) => r.channel === 'gone') && rows.some((r) => r.channel === 'hook') ? rows : undefined;
  }, 15_000);
  t.same(Object.keys(failed[0]).sort(), ['channel', 'detail', 'event', 'instance', 'outcome', 'rule', 'time', 'value']);
  t.match(failed.find((r) => r.channel === 'hook'), { event: 'delivery', outcome: 'ok' });
  t.match(failed.find((r) => r.channel === 'gone'), { event: 'delivery', outcome: 'failed', detail: /ECONNREFUSED/ });
  t.ok(failed.some((r) => r.event === 'firing' && r.instance === 'web-1'));

  const byNode = JSON.parse((await runCli(c.cliConfig, ['alert', 'history', '--node', 'db-1', '--since', '1h', '--output', 'json'])).stdout) as { instance: string }[];
  t.ok(byNode.length > 0 && byNode.every((r) => r.instance === 'db-1'), '--node keeps that node only');
  const historyTable = await runCli(c.cliConfig, ['alert', 'history', '--node', 'web-1']);
  t.match(historyTable.stdout, /^TIME +RULE +INSTANCE +EVENT +VALUE +CHANNEL +OUTCOME\n/);
  t.match(historyTable.stdout, /tokens +web-1 +firing +36\d/);
  t.match(historyTable.stdout, /tokens +web-1 +delivery +- +gone +failed: .*ECONNREFUSED/);
  const future = await runCli(c.cliConfig, ['alert', 'history', '--since', '2099-01-01T00:00:00Z', '--output', 'json']);
  t.same(JSON.parse(future.stdout), [], 'nothing after a time to come');
  const futureTable = await runCli(c.cliConfig, ['alert', 'history', '--since', '2099-01-01T00:00:00Z']);
  t.equal(futureTable.stdout, 'TIME  RULE  INSTANCE  EVENT  VALUE  CHANNEL  OUTCOME\n', 'an empty table still shows its columns');
  const badNode = await runCli(c.cliConfig, ['alert', 'history', '--node', 'Web_1']);
  t.equal(badNode.code, 2, "the collector's 400 for a bad node name");
  const badSince = await runCli(c.cliConfig, ['alert', 'history', '--since', 'yesterday']);
  t.equal(badSince.code, 2);
  t.match(badSince.stderr, /--since: expected a duration like 30d, 12h or 1h30m \(got "yesterday"\)/);

  const audit = await runCli(c.cliConfig, ['audit', 'list', '--output', 'json']);
  t.equal(audit.code, 0, audit.stderr);
  const entries = JSON.parse(audit.stdout) as { time: string; actor: string; action: string; target: string; source: string }[];
  t.same(entries.slice(0, 3).map((e) => [e.action, e.target]), [
    ['alert_rule.create', 'tokens'],
    ['agent_token.create', db1.id],
    ['agent_token.create', web1.id],
  ]);
  t.same(Object.keys(entries[0]).sort(), ['action', 'actor', 'source', 'target', 'time']);
  t.ok(entries.some((e) => e.action === 'alert_channel.create' && e.target === 'hook (secrets changed: secret)'));
  t.notOk(audit.stdout.includes(HOOK_SECRET));
  const auditTable = await runCli(c.cliConfig, ['audit', 'list', '--since', '1h']);
  t.match(auditTable.stdout, /^TIME +ACTOR +ACTION +TARGET +SOURCE\n\d{4}-\S+ \((now|\d+s ago)\) +xc_\w+ +alert_rule\.create +tokens +127\.0\.0\.1\n/);
  const none = await runCli(c.cliConfig, ['audit', 'list', '--since', '2099-01-01T00:00:00Z', '--output', 'json']);
  t.same(JSON.parse(none.stdout), []);
  t.equal((await runCli(c.cliConfig, ['audit', 'list', '--since', 'soon'])).code, 2);
});
