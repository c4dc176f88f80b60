/** `ximp client rotate-secret ID`: a new secret shown once, the old one refused at once, audited. */
import * as fs from 'node:fs';
import t from 'tap';
import { roleCliConfig } from './helpers/role-client';
import { runCli, startCollector } from './helpers/system';

t.test('rotating a secret: the new one works, the old one is refused, one audit entry', async (t) => {
  const c = await startCollector(t);
  const viewer = await roleCliConfig(c, 'monitoring-viewer', 'rotated');
  t.equal((await runCli(viewer, ['agent', 'list'])).code, 0, 'the viewer works before');
  const id = /^client_id: (.*)$/m.exec(fs.readFileSync(viewer, 'utf8'))![1].replace(/"/g, '');
  const oldSecret = /^client_secret: (.*)$/m.exec(fs.readFileSync(viewer, 'utf8'))![1].replace(/"/g, '');

  const table = await runCli(c.cliConfig, ['client', 'rotate-secret', id]);
  t.equal(table.code, 0, table.stderr);
  t.match(table.stdout, new RegExp(`client_id:\\s+${id}`));
  t.match(table.stdout, /shown only this once/);
  const newSecret = /client_secret:\s+(\S+)/.exec(table.stdout)![1];
  t.not(newSecret, oldSecret);

  const refused = await runCli(viewer, ['agent', 'list']);
  t.equal(refused.code, 3, 'the old secret no longer works');
  t.notMatch(refused.stderr, new RegExp(`${oldSecret}|${id}`), 'neither the secret nor the client ID is printed');
  fs.writeFileSync(viewer, fs.readFileSync(viewer, 'utf8').replace(/^client_secret: .*$/m, `client_secret: ${newSecret}`), { mode: 0o600 });
  t.equal((await runCli(viewer, ['agent', 'list'])).code, 0, 'the new one works');

  const json = await runCli(c.cliConfig, ['client', 'rotate-secret', id, '--output', 'json']);
  t.match(JSON.parse(json.stdout), { client_id: id, client_secret: /^\S{20,}$/ });
  const audit = await runCli(c.cliConfig, ['audit', 'list', '--output', 'json']);
  t.equal((JSON.parse(audit.stdout) as { action: string; target: string }[]).filter((e) => e.action === 'client.rotate_secret' && e.target === id).length, 2);
  t.equal((await runCli(c.cliConfig, ['client', 'rotate-secret', 'xc_000000000000'])).code, 4, 'an unknown ID is exit 4');
  t.equal((await runCli(c.cliConfig, ['client', 'rotate-secret'])).code, 2, 'no ID is a usage error');
});
