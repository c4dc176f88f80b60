/**
 * The README's first command: `npm start` runs a collector and an agent for this host on loopback,
 * the CLI then shows the host ACTIVE within 5 s, Ctrl-C stops both, and a second run reuses the folder.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, agentList, spawnNode, tempDir, waitFor } from './helpers/system';

t.test('npm start: ACTIVE within 5 s, clean stop, second run reuses the folder', async (t) => {
  const dir = path.join(tempDir(t), 'local');
  const script = path.join(ROOT, 'scripts', 'local-start.js');
  const cliConfig = path.join(dir, 'cli.yaml');

  for (const run of ['first', 'second']) {
    const child = spawnNode(t, [script], { XIMP_LOCAL_DIR: dir });
    await waitFor(`${run} run is up`, () => child.output().includes('XIMP is running'), 60_000);
    const upAt = Date.now();
    t.match(child.output(), /XIMP_CLI_CONFIG=.*cli\.yaml npx ximp agent list/, 'it tells what to run next');
    const active = await waitFor('this host ACTIVE', async () => (await agentList(cliConfig)).find((a) => a.state === 'ACTIVE'), 15_000, 200);
    const took = Date.now() - upAt;
    t.ok(took < 5000, `${run} run: ${active.node} ACTIVE ${took} ms after both processes were up`);
    if (run === 'first') {
      t.match(child.output(), /created a token for node/);
      for (const f of ['collector.yaml', 'agent.yaml', 'cli.yaml', 'data/pki/ca.pem']) t.ok(fs.existsSync(path.join(dir, f)), `${f} written`);
      t.equal(fs.statSync(path.join(dir, 'agent.yaml')).mode & 0o777, 0o600, 'agent.yaml holds a token: 0600');
      t.equal(fs.statSync(cliConfig).mode & 0o777, 0o600, 'cli.yaml holds a client secret: 0600');
    } else {
      t.notMatch(child.output(), /created a token|created the CA/, 'the second run reuses everything');
    }
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.once('exit', (c) => resolve(c)));
    t.equal(code, 0, `${run} run stops cleanly on Ctrl-C`);
    t.match(child.output(), /stopped\./);
  }
});
