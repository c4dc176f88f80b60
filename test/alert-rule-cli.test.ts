/**
 * `ximp alert rule ...` against a real collector (SPEC §6, §10, §14): rules from YAML files (and
 * stdin) checked with the collector's reader before anything is sent, every problem as
 * FILE:LINE:COL: key.path (exit 2); table and JSON; a duplicate (409, exit 1), an unknown name
 * (404, exit 4).
 */
import * as path from 'node:path';
import t from 'tap';
import { WEB_LOAD_RULE as RULE, writeFileWithMode as write } from './helpers/files';
import { runCliWithInput } from './helpers/role-client';
import { runCli, startCollector, tempDir } from './helpers/system';


t.test('rules: create (file and stdin), list, show, update, delete; table and JSON; 409 and 404', async (t) => {
  const c = await startCollector(t);
  const dir = tempDir(t);
  const file = write(dir, 'rule.yaml', RULE);

  const created = await runCli(c.cliConfig, ['alert', 'rule', 'create', '--file', file]);
  t.equal(created.code, 0, created.stderr);
  t.match(created.stdout, /^name: +web-load\nkind: +threshold\n/);
  t.match(created.stdout, /^matchers: +\{mountpoint="\/"\}$/m);
  t.match(created.stdout, /^created alert rule web-load$/m);

  const list = await runCli(c.cliConfig, ['alert', 'rule', 'list']);
  t.equal(list.code, 0, list.stderr);
  t.equal(
    list.stdout,
    [
      'NAME        KIND        FOR  NODES  CHANNELS  ENABLED  BUILT-IN',
      'agent-down  agent_down  5m   -      -         yes      yes',
      'web-load    threshold   5m   web-*  -         yes      no',
      '',
    ].join('\n'),
  );
  const listJson = await runCli(c.cliConfig, ['alert', 'rule', 'list', '--output', 'json']);
  t.same(JSON.parse(listJson.stdout), [
    { name: 'agent-down', kind: 'agent_down', for: '5m', nodes: null, channels: [], enabled: true, built_in: true },
    { name: 'web-load', kind: 'threshold', for: '5m', nodes: 'web-*', channels: [], enabled: true, built_in: false },
  ]);

  const show = await runCli(c.cliConfig, ['alert', 'rule', 'show', 'web-load', '--output', 'json']);
  t.equal(show.code, 0, show.stderr);
  t.match(JSON.parse(show.stdout), { name: 'web-load', kind: 'threshold', metric: 'node_load1', matchers: { mountpoint: '/' }, aggregate: 'max', op: '>', value: 4, for: '5m', nodes: 'web-*', built_in: false });

  const duplicate = await runCli(c.cliConfig, ['alert', 'rule', 'create', '--file', file]);
  t.equal(duplicate.code, 1, 'a rule of that name exists: 409, exit 1');
  t.match(duplicate.stderr, /^ximp: .*HTTP 409 alert rule "web-load" already exists; update it instead/);
  t.equal(duplicate.stdout, '');

  const updated = await runCliWithInput(c.cliConfig, ['alert', 'rule', 'update', 'web-load', '--file', '-', '--output', 'json'], RULE.replace('value: 4', 'value: 8').replace('for: 5m', 'for: 10m'));
  t.equal(updated.code, 0, updated.stderr);
  t.match(JSON.parse(updated.stdout), { name: 'web-load', value: 8, for: '10m' });

  const fromStdin = await runCliWithInput(c.cliConfig, ['alert', 'rule', 'create', '--file', '-', '--output', 'json'], '{"name": "certs", "kind": "certificate_expiry", "within": "20d"}');
  t.equal(fromStdin.code, 0, fromStdin.stderr);
  t.match(JSON.parse(fromStdin.stdout), { name: 'certs', kind: 'certificate_expiry', within: '20d', built_in: false });

  const missing = await runCli(c.cliConfig, ['alert', 'rule', 'show', 'nope']);
  t.equal(missing.code, 4);
  t.match(missing.stderr, /^ximp: not found: no alert rule named "nope" \(not_found\) \[XIMP_ERR_NOT_FOUND\]\n$/);
  t.equal((await runCli(c.cliConfig, ['alert', 'rule', 'update', 'nope', '--file', file])).code, 4, 'update of an unknown rule: 404');
  t.equal((await runCli(c.cliConfig, ['alert', 'rule', 'delete', 'nope'])).code, 4, 'delete of an unknown rule: 404');

  const builtIn = await runCli(c.cliConfig, ['alert', 'rule', 'delete', 'agent-down']);
  t.equal(builtIn.code, 1);
  t.match(builtIn.stderr, /built in and cannot be deleted: disable it with enabled: false/);

  const deleted = await runCli(c.cliConfig, ['alert', 'rule', 'delete', 'web-load', '--output', 'json']);
  t.equal(deleted.code, 0, deleted.stderr);
  t.same(JSON.parse(deleted.stdout), { name: 'web-load', deleted: true });
  const deletedTable = await runCli(c.cliConfig, ['alert', 'rule', 'delete', 'certs']);
  t.equal(deletedTable.stdout, 'deleted alert rule certs\n');
  t.equal((await runCli(c.cliConfig, ['alert', 'rule', 'show', 'web-load'])).code, 4, 'gone');
});

t.test('a bad rule file: every problem as FILE:LINE:COL: key.path, exit 2, nothing sent', async (t) => {
  const c = await startCollector(t);
  const dir = tempDir(t);
  const file = write(dir, 'bad-rule.yaml', ['name: Web_Load', 'kind: threshold', 'metric: node_load1', 'op: "=~"', 'value: high', 'for: 5 minutes', 'colour: red', ''].join('\n'));
  const res = await runCli(c.cliConfig, ['alert', 'rule', 'create', '--file', file]);
  t.equal(res.code, 2, res.stderr);
  t.equal(res.stdout, '');
  const lines = res.stderr.trimEnd().split('\n');
  t.match(lines, [
    /^bad-rule\.yaml:1:7: name: /,
    /^bad-rule\.yaml:4:5: op: /,
    /^bad-rule\.yaml:5:8: value: /,
    /^bad-rule\.yaml:6:6: for: /,
    /^bad-rule\.yaml:7:1: colour: /,
    /^ximp: \/\S+\/bad-rule\.yaml is not a valid alert rule \(5 problems\); nothing was sent \[XIMP_ERR_CONFIG_INVALID\]$/,
  ]);
  t.equal(lines.length, 6, 'one line per problem, then the summary');

  const yamlError = await runCliWithInput(c.cliConfig, ['alert', 'rule', 'create', '--file', '-'], 'name: x\n  kind: [\n');
  t.equal(yamlError.code, 2);
  t.match(yamlError.stderr, /^<stdin>:\d+:\d+: invalid YAML/);

  const absent = await runCli(c.cliConfig, ['alert', 'rule', 'create', '--file', path.join(dir, 'absent.yaml')]);
  t.equal(absent.code, 2);
  t.match(absent.stderr, /^ximp: --file: cannot read .*absent\.yaml \(ENOENT\)/);

  // What only the collector can know (the channel exists) comes back as its 400: exit 2 as well.
  const noChannel = await runCliWithInput(c.cliConfig, ['alert', 'rule', 'create', '--file', '-'], 'name: x\nkind: agent_down\nchannels: [pager]\n');
  t.equal(noChannel.code, 2);
  t.match(noChannel.stderr, /^ximp: invalid request: channels\[0\]: no channel named "pager"/);

  const noFile = await runCli(c.cliConfig, ['alert', 'rule', 'create']);
  t.equal(noFile.code, 2);
  t.match(noFile.stderr, /missing required flag --file/);

  const list = await runCli(c.cliConfig, ['alert', 'rule', 'list', '--output', 'json']);
  t.same((JSON.parse(list.stdout) as { name: string }[]).map((r) => r.name), ['agent-down'], 'nothing was created');
});
