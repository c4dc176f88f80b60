/**
 * Roles through the alerting CLI against a real collector (SPEC §10, §14): a monitoring-viewer
 * (made with `ximp client create`) reads rules, channels, alerts and history and is refused every
 * change with 403 (exit 3); an editor changes rules but may not read the audit log.
 */
import t from 'tap';
import { WEB_LOAD_RULE as RULE, writeFileWithMode as write } from './helpers/files';
import { roleCliConfig } from './helpers/role-client';
import { runCli, startCollector, tempDir } from './helpers/system';


t.test('a viewer reads rules, channels, alerts and history but may not change them (exit 3)', async (t) => {
  const c = await startCollector(t);
  const dir = tempDir(t);
  const viewer = await roleCliConfig(c, 'monitoring-viewer');
  const file = write(dir, 'rule.yaml', RULE);
  for (const args of [
    ['alert', 'rule', 'create', '--file', file],
    ['alert', 'rule', 'update', 'agent-down', '--file', file],
    ['alert', 'rule', 'delete', 'agent-down'],
    ['alert', 'channel', 'test', 'any'],
    ['alert', 'channel', 'delete', 'any'],
    ['audit', 'list'],
  ]) {
    const res = await runCli(viewer, args);
    t.equal(res.code, 3, args.join(' '));
    t.match(res.stderr, /^ximp: not allowed: .*\[XIMP_ERR_AUTH_FORBIDDEN\]\n$/, args.join(' '));
  }
  for (const args of [['alert', 'rule', 'list'], ['alert', 'rule', 'show', 'agent-down'], ['alert', 'list'], ['alert', 'history'], ['alert', 'channel', 'list']]) {
    t.equal((await runCli(viewer, args)).code, 0, `${args.join(' ')} is read`);
  }
  const editor = await roleCliConfig(c, 'monitoring-editor');
  t.equal((await runCli(editor, ['alert', 'rule', 'create', '--file', file])).code, 0, 'an editor creates');
  t.equal((await runCli(editor, ['audit', 'list'])).code, 3, 'the audit log is for admins');
});
