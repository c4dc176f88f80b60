/**
 * Which Node.js runs each agent: the real ximp-agent sends it in Hello, the collector keeps it
 * with the agent's host facts, the API shows it and `ximp agent list --wide` prints it as the
 * last column. An older agent, which has no such field, shows empty. Every program's --version
 * names its runtime.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, createToken, runCli, spawnNode, startCollector, tempDir, waitFor, writeAgentConfig } from './helpers/system';
import { adminApi } from './helpers/admin-api';
import { connectRawAgent, helloFrame } from './helpers/raw-agent';

const RUNTIME = `node ${process.version}`;

interface ListedAgent {
  node: string;
  state: string;
  runtime?: string | null;
}

async function wideList(cliConfig: string): Promise<ListedAgent[]> {
  const res = await runCli(cliConfig, ['agent', 'list', '--wide', '--output', 'json']);
  if (res.code !== 0) throw new Error(`agent list failed (${res.code}): ${res.stderr}`);
  return JSON.parse(res.stdout) as ListedAgent[];
}

function exited(child: ReturnType<typeof spawnNode>): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

t.test('the agent runtime travels in Hello to the API and `agent list --wide`', async (t) => {
  const c = await startCollector(t);
  const node = 'runtime-node';
  const { token } = await createToken(c.cliConfig, node);
  const dir = tempDir(t, 'ximp-agent-runtime-');
  const configFile = path.join(dir, 'agent.yaml');
  writeAgentConfig(configFile, { url: c.agentUrl, token, caFile: c.caFile, node, spoolDir: path.join(dir, 'spool') });
  const agent = spawnNode(t, [BIN.agent, '--config', configFile]);

  // An agent from before the field: its Hello has no runtime.
  const older = await createToken(c.cliConfig, 'older-node');
  const raw = await connectRawAgent(c.agentUrl, fs.readFileSync(c.caFile, 'utf8'), older.token, 'older-node');
  t.teardown(() => raw.ws.terminate());
  await raw.send(helloFrame('older-node'));

  await waitFor('both agents listed with what they sent', async () => {
    const list = await wideList(c.cliConfig);
    return list.find((a) => a.node === node && a.state === 'ACTIVE') && list.find((a) => a.node === 'older-node' && a.runtime === '');
  }, 20_000);

  const api = await adminApi(c);
  const one = await api('GET', `/api/v1/agents/${node}`);
  t.equal(one.status, 200);
  t.equal((JSON.parse(one.body) as { runtime: string }).runtime, RUNTIME, 'the API shows the runtime the agent runs on');
  t.equal((JSON.parse((await api('GET', '/api/v1/agents/older-node')).body) as { runtime: string }).runtime, '', 'an older agent: empty');

  const wide = await runCli(c.cliConfig, ['agent', 'list', '--wide']);
  t.equal(wide.code, 0, wide.stderr);
  const lines = wide.stdout.trimEnd().split('\n');
  t.match(lines[0], /^NODE\s+STATE\s+LAST-SEEN\s+ADDRESS\s+VERSION\s+TOKEN\s+RUNTIME$/, 'RUNTIME is the last column');
  t.ok(lines.find((l) => l.startsWith(`${node} `))?.endsWith(`  ${RUNTIME}`), `the agent's row ends in its runtime: ${wide.stdout}`);
  t.match(lines.find((l) => l.startsWith('older-node ')) ?? '', /\s-$/, 'the older agent shows "-"');

  const narrow = await runCli(c.cliConfig, ['agent', 'list']);
  t.match(narrow.stdout.split('\n')[0], /^NODE\s+STATE\s+LAST-SEEN\s+ADDRESS\s+VERSION\s+TOKEN$/, 'without --wide: SPEC §6 columns only');
  const narrowJson = JSON.parse((await runCli(c.cliConfig, ['agent', 'list', '--output', 'json'])).stdout) as ListedAgent[];
  t.notOk(narrowJson.some((a) => 'runtime' in a), 'and no runtime key in its JSON');

  // Kept with the agent's facts: still shown once the agent has gone.
  agent.kill('SIGTERM');
  t.equal(await exited(agent), 0);
  const gone = await waitFor('the agent disconnected', async () => (await wideList(c.cliConfig)).find((a) => a.node === node && a.state === 'DISCONNECTED'), 20_000);
  t.equal(gone.runtime, RUNTIME, 'a disconnected agent keeps its stored runtime');
});

t.test('ximp-collector --version names the runtime', async (t) => {
  const out = spawnSync(process.execPath, [BIN.collector, '--version'], { encoding: 'utf8' }).stdout;
  t.match(out, /^ximp-collector \d+\.\d+\.\d+ \(/);
  t.equal(out.replace(/^ximp-collector \d+\.\d+\.\d+ /, ''), `(${RUNTIME})\n`);
});
