/**
 * SIGHUP on the real ximp-agent process re-logs the permission warnings and re-reads `ca_file`:
 * an agent started with the wrong CA connects once the right one is in place and it is reloaded.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FAKE_TOKEN, startFakeCollector } from './helpers/fake-collector';
import { BIN, prepareCollector, spawnNode, tempDir, waitFor, writeAgentConfig } from './helpers/system';

t.test('SIGHUP re-logs the permission warnings and re-reads ca_file', async (t) => {
  const fake = await startFakeCollector(t);
  const otherCa = prepareCollector(t).caFile; // a CA that did not sign the fake collector's certificate
  const dir = tempDir(t);
  const caFile = path.join(dir, 'ca.pem');
  fs.copyFileSync(otherCa, caFile);
  const configFile = path.join(dir, 'agent.yaml');
  writeAgentConfig(configFile, { url: fake.url, token: FAKE_TOKEN, caFile, node: 'reload-node', spoolDir: path.join(dir, 'spool') });
  fs.chmodSync(configFile, 0o644);

  const agent = spawnNode(t, [BIN.agent, '--config', configFile]);
  const warning = /agent\.yaml is readable by other users \(mode 0644\)/g;
  await waitFor('the warning at start', () => (agent.output().match(warning) ?? []).length === 1);
  await waitFor('a refused TLS handshake', () => /collector connection error/.test(agent.output()), 15_000);
  t.equal(fake.sessions.filter((s) => s.hello).length, 0, 'the wrong CA: no session');

  fs.copyFileSync(fake.caFile, caFile);
  agent.kill('SIGHUP');
  await waitFor('the warning again after SIGHUP', () => (agent.output().match(warning) ?? []).length === 2);
  // Reconnects back off (up to 60 s after many failures); the first few are within seconds.
  await waitFor('a session with the re-read CA', () => fake.sessions.find((s) => s.welcomedAt !== undefined), 30_000);
  t.pass('the agent trusts the collector after the reload');
  agent.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => agent.once('exit', (c) => resolve(c)));
  t.equal(code, 0);
  t.notMatch(agent.output(), FAKE_TOKEN.slice(20), 'the token is in no log line');
});
