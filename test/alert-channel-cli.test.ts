/**
 * `ximp alert channel ...` against a real collector (SPEC §6, §14): channel secrets are never
 * printed (answers show "set"), a file holding one that others may read gets a warning; editors
 * see SETTINGS, viewers names and types; `test` against real HTTPS receivers: exit 0 when one
 * took the notification, 1 with its answer when not; 409 for a duplicate or a channel in use.
 */
import t from 'tap';
import { httpsReceiver, receiverCa } from './helpers/https-receiver';
import { writeFileWithMode as write } from './helpers/files';
import { roleCliConfig, runCliWithInput } from './helpers/role-client';
import { freePort, runCli, startCollector, tempDir } from './helpers/system';

const HOOK_SECRET = 'whsec-3f9a1c-never-printed';

t.test('channels: secrets never printed, a warning for a readable secret file, test against a real receiver', async (t) => {
  const c = await startCollector(t);
  const dir = tempDir(t);
  const caFile = write(dir, 'receivers-ca.pem', receiverCa.certPem, 0o644);
  const hook = await httpsReceiver(t);
  const broken = await httpsReceiver(t, 503);
  const deadPort = await freePort();
  const channelYaml = (name: string, url: string): string => `name: ${name}\ntype: webhook\nurl: ${url}\nsecret: ${HOOK_SECRET}\nca_file: ${caFile}\n`;

  const loose = write(dir, 'hook.yaml', channelYaml('ops-hook', hook.url), 0o644);
  const created = await runCli(c.cliConfig, ['alert', 'channel', 'create', '--file', loose]);
  t.equal(created.code, 0, created.stderr);
  t.match(created.stderr, /^ximp: warning: .*hook\.yaml is readable by other users; it holds a channel secret \(chmod 600 it\)\n$/);
  t.match(created.stdout, /^secret: +set$/m);
  const tight = write(dir, 'broken.yaml', channelYaml('broken-hook', broken.url));
  const quiet = await runCli(c.cliConfig, ['alert', 'channel', 'create', '--file', tight, '--output', 'json']);
  t.equal(quiet.code, 0, quiet.stderr);
  t.equal(quiet.stderr, '', 'no warning for a 0600 file');
  t.match(JSON.parse(quiet.stdout), { name: 'broken-hook', type: 'webhook', url: broken.url, secret: 'set', ca_file: caFile });
  const dead = await runCliWithInput(c.cliConfig, ['alert', 'channel', 'create', '--file', '-'], channelYaml('dead-hook', `https://localhost:${deadPort}/`));
  t.equal(dead.code, 0, dead.stderr);
  t.equal(dead.stderr, '', 'stdin has no mode to warn about');

  const list = await runCli(c.cliConfig, ['alert', 'channel', 'list']);
  t.equal(list.code, 0, list.stderr);
  t.match(list.stdout, /^NAME +TYPE +SETTINGS\n/);
  t.match(list.stdout, new RegExp(`^ops-hook +webhook +url=${hook.url.replace(/[.]/g, '\\.')} ca_file=\\S+ secret=set$`, 'm'));
  const listJson = JSON.parse((await runCli(c.cliConfig, ['alert', 'channel', 'list', '--output', 'json'])).stdout) as { name: string; type: string; settings: Record<string, unknown> }[];
  t.same(listJson.map((x) => [x.name, x.type]), [['broken-hook', 'webhook'], ['dead-hook', 'webhook'], ['ops-hook', 'webhook']]);
  t.match(listJson[2].settings, { url: hook.url, ca_file: caFile, secret: 'set', bearer_token: null });

  const viewer = await roleCliConfig(c, 'monitoring-viewer');
  const viewerList = await runCli(viewer, ['alert', 'channel', 'list']);
  t.equal(viewerList.stdout, ['NAME         TYPE', 'broken-hook  webhook', 'dead-hook    webhook', 'ops-hook     webhook', ''].join('\n'), 'viewers see names and types only');
  t.same(JSON.parse((await runCli(viewer, ['alert', 'channel', 'list', '--output', 'json'])).stdout)[0], { name: 'broken-hook', type: 'webhook' });

  const ok = await runCli(c.cliConfig, ['alert', 'channel', 'test', 'ops-hook']);
  t.equal(ok.code, 0, ok.stderr);
  t.equal(ok.stdout, 'delivered a test notification through ops-hook (HTTP 200)\n');
  t.equal(hook.received.length, 1, 'the receiver got the test notification');
  const refused = await runCli(c.cliConfig, ['alert', 'channel', 'test', 'broken-hook', '--output', 'json']);
  t.equal(refused.code, 1);
  t.same(JSON.parse(refused.stdout), { name: 'broken-hook', delivered: false, detail: 'HTTP 503: receiver is in maintenance' });
  t.match(refused.stderr, /^ximp: test notification through broken-hook not delivered: HTTP 503: receiver is in maintenance\n$/);
  const unreachable = await runCli(c.cliConfig, ['alert', 'channel', 'test', 'dead-hook']);
  t.equal(unreachable.code, 1);
  t.match(unreachable.stderr, /^ximp: test notification through dead-hook not delivered: .*ECONNREFUSED/);
  t.equal((await runCli(c.cliConfig, ['alert', 'channel', 'test', 'nope'])).code, 4);

  // An update without the secret keeps it; the answer says "set".
  const keep = write(dir, 'keep.yaml', `name: broken-hook\ntype: webhook\nurl: ${hook.url}\nca_file: ${caFile}\n`, 0o644);
  const updated = await runCli(c.cliConfig, ['alert', 'channel', 'update', 'broken-hook', '--file', keep, '--output', 'json']);
  t.equal(updated.code, 0, updated.stderr);
  t.equal(updated.stderr, '', 'no secret in the file: no warning');
  t.match(JSON.parse(updated.stdout), { name: 'broken-hook', url: hook.url, secret: 'set' });
  t.equal((await runCli(c.cliConfig, ['alert', 'channel', 'test', 'broken-hook'])).code, 0, 'now delivered, signed with the kept secret');

  const duplicate = await runCli(c.cliConfig, ['alert', 'channel', 'create', '--file', tight]);
  t.equal(duplicate.code, 1);
  t.match(duplicate.stderr, /HTTP 409/);

  // A channel a rule uses cannot go: 409, exit 1.
  t.equal((await runCliWithInput(c.cliConfig, ['alert', 'rule', 'create', '--file', '-'], 'name: down\nkind: agent_down\nchannels: [dead-hook]\n')).code, 0);
  const inUse = await runCli(c.cliConfig, ['alert', 'channel', 'delete', 'dead-hook']);
  t.equal(inUse.code, 1);
  t.match(inUse.stderr, /channel "dead-hook" is used by rules down/);
  const deleted = await runCli(c.cliConfig, ['alert', 'channel', 'delete', 'ops-hook']);
  t.equal(deleted.code, 0, deleted.stderr);
  t.equal(deleted.stdout, 'deleted alert channel ops-hook\n');
  t.equal((await runCli(c.cliConfig, ['alert', 'channel', 'delete', 'ops-hook'])).code, 4);

  const badChannel = write(dir, 'bad-channel.yaml', `name: plain\ntype: webhook\nurl: http://hooks.example.net/\nsecret: ${HOOK_SECRET}\n`);
  const bad = await runCli(c.cliConfig, ['alert', 'channel', 'create', '--file', badChannel]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^bad-channel\.yaml:3:6: url: /);

  // No command printed the secret, whatever it did.
  const everything = [created, quiet, dead, list, viewerList, ok, refused, updated, duplicate, bad].map((r) => r.stdout + r.stderr).join('');
  t.notOk(everything.includes(HOOK_SECRET), 'the channel secret is never printed');
  t.notOk(c.logs.join('\n').includes(HOOK_SECRET), 'nor logged by the collector');
});
