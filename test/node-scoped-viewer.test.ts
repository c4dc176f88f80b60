/**
 * Issue 8's done-when for node scopes, end to end: real agents web-1 and db-1 send data to a real
 * collector; a viewer created with `ximp client create --nodes 'web-*'` sees only web-1's agent,
 * series and alerts (through the API and through its own `ximp`), and db-1 named by ID answers 401.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { adminApi } from './helpers/admin-api';
import { createToken, runCli, startAgent, startCollector, waitFor } from './helpers/system';

t.test("a viewer limited to web-* sees only web-1's agent, series and alerts", async (t) => {
  const c = await startCollector(t, 'alerting:\n  evaluation_interval: 1s');
  const admin = await adminApi(c);
  t.equal((await admin('PUT', '/api/v1/alert-rules/agent-down', { name: 'agent-down', kind: 'agent_down', for: '1s' })).status, 200);

  const agents = [];
  for (const node of ['web-1', 'db-1']) {
    const { token } = await createToken(c.cliConfig, node);
    agents.push(await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node, intervalMs: 200 }));
  }

  const created = await runCli(c.cliConfig, ['client', 'create', '--name', 'web team', '--role', 'monitoring-viewer', '--nodes', 'web-*', '--output', 'json']);
  t.equal(created.code, 0, created.stderr);
  const client = JSON.parse(created.stdout) as { client_id: string; client_secret: string; nodes: string };
  t.equal(client.nodes, 'web-*');
  const listed = await runCli(c.cliConfig, ['client', 'list']);
  t.match(listed.stdout, /web team\s+monitoring-viewer\s+web-\*/, 'the NODES column shows the scope');

  // The scoped viewer's own CLI config and an HTTPS client with its token.
  const webCli = path.join(c.dir, 'web-cli.yaml');
  fs.writeFileSync(webCli, `server: https://localhost:${c.apiPort}\nca_file: ${c.caFile}\nclient_id: ${client.client_id}\nclient_secret: ${client.client_secret}\n`, { mode: 0o600 });
  const web = await adminApi({ cliConfig: webCli, caFile: c.caFile, apiPort: c.apiPort });
  const json = async (p: string, api = web) => {
    const res = await api('GET', p);
    return { status: res.status, body: JSON.parse(res.body) as any };
  };

  const series = (node: string, api = web) => json(`/api/v1/nodes/${node}/series?metric=ximp_test_cycle`, api);
  await waitFor('both nodes stored data', async () => (await series('web-1')).body.length > 0 && (await series('db-1', admin)).body.length > 0, 20_000);

  const seen = await json('/api/v1/agents');
  t.same(seen.body.map((a: { node: string }) => a.node), ['web-1'], 'the agent list holds only web-1');
  t.same((await json('/api/v1/agents', admin)).body.map((a: { node: string }) => a.node).sort(), ['db-1', 'web-1']);
  t.equal((await json('/api/v1/agents/web-1')).status, 200);
  t.equal((await json('/api/v1/agents/db-1')).status, 401, 'db-1 by ID: 401');
  t.match((await series('web-1')).body[0], { labels: { instance: 'web-1' } });
  t.equal((await series('db-1')).status, 401, "db-1's series: 401");

  const cliAgents = await runCli(webCli, ['agent', 'list', '--output', 'json']);
  t.same((JSON.parse(cliAgents.stdout) as { node: string }[]).map((a) => a.node), ['web-1'], 'ximp agent list as the scoped viewer');
  const cliDb = await runCli(webCli, ['metrics', 'query', '--node', 'db-1', '--metric', 'ximp_test_cycle']);
  t.equal(cliDb.code, 3, 'ximp metrics query on db-1: not allowed');
  t.match(cliDb.stderr, /not allowed: .*\(node_not_visible\)/);
  t.notMatch(cliDb.stderr, client.client_id);
  t.notMatch(cliDb.stderr, client.client_secret);
  t.equal((await runCli(webCli, ['metrics', 'query', '--node', 'web-1', '--metric', 'ximp_test_cycle'])).code, 0);

  // Both agents go away: agent-down fires for both; the viewer sees web-1's alert and history only.
  for (const agent of agents) await agent.stop();
  await waitFor(
    'agent-down firing for both nodes',
    async () => (await json('/api/v1/alerts', admin)).body.filter((a: { status: string }) => a.status === 'firing').length === 2,
    20_000,
  );
  const alerts = await json('/api/v1/alerts');
  t.same(alerts.body.map((a: { node: string; rule: string }) => [a.rule, a.node]), [['agent-down', 'web-1']]);
  const history = await json('/api/v1/alerts/history');
  t.ok(history.body.length > 0);
  t.same([...new Set(history.body.map((e: { node: string }) => e.node))], ['web-1'], 'history: web-1 only');
  t.ok((await json('/api/v1/alerts/history', admin)).body.some((e: { node: string }) => e.node === 'db-1'), 'db-1 has history an admin sees');
  t.same((await json('/api/v1/alerts/history?node=db-1')).body, []);
  t.equal((await web('GET', '/metrics')).status, 403, '/metrics names every node');
});
