/**
 * `ximp metrics query` against a real collector fed by a real agent: the node's series with
 * `instance` and `job` labels (like a remote store's), every point in JSON, a row per series in
 * the table; bad or too long durations are usage errors (exit 2); nothing found is an empty
 * table and exit 0.
 */
import t from 'tap';
import { createToken, runCli, startAgent, startCollector, waitFor } from './helpers/system';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

interface Series {
  metric: string;
  labels: Record<string, string>;
  points: [string, number | null][];
}

t.test("a node's series through the CLI, as JSON and as a table", async (t) => {
  const c = await startCollector(t);
  const { token } = await createToken(c.cliConfig, 'web-1');
  const agent = await startAgent(t, { url: c.agentUrl, token, caFile: c.caFile, node: 'web-1', intervalMs: 100 });
  const query = ['metrics', 'query', '--node', 'web-1', '--metric', 'ximp_test_cycle'];
  const series = await waitFor('five stored cycles', async () => {
    const res = await runCli(c.cliConfig, [...query, '--output', 'json']);
    if (res.code !== 0) throw new Error(res.stderr);
    const answer = JSON.parse(res.stdout) as Series[];
    return answer.length === 1 && answer[0].points.length >= 5 ? answer : null;
  });
  await agent.stop();
  t.same(Object.keys(series[0]), ['metric', 'labels', 'points']);
  t.equal(series[0].metric, 'ximp_test_cycle');
  t.same(series[0].labels, { instance: 'web-1', job: 'ximp' }, 'labelled like a remote store would');
  const values = series[0].points.map((p) => p[1]);
  t.same(values, values.map((_, i) => i + 1), 'every point, oldest first');
  t.ok(series[0].points.every((p) => ISO.test(p[0])), 'times in ISO 8601 UTC');

  const all = JSON.parse((await runCli(c.cliConfig, [...query, '--output', 'json'])).stdout) as Series[];
  const last = all[0].points[all[0].points.length - 1];
  const table = await runCli(c.cliConfig, [...query, '--since', '10m']);
  t.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  t.match(lines[0], /^SERIES\s+LAST-VALUE\s+LAST-TIME\s+POINTS$/);
  t.equal(lines.length, 2, 'a row per series');
  const cells = lines[1].split(/\s{2,}/);
  t.equal(cells[0], 'ximp_test_cycle{instance="web-1",job="ximp"}');
  t.equal(cells[1], String(last[1]));
  t.match(cells[2], new RegExp(`^${last[0].slice(0, 19)}Z \\((\\d+s ago|now)\\)$`));
  t.equal(cells[3], String(all[0].points.length));

  // The collector writes `up` for every agent every 10 s.
  const up = await waitFor('the up series', async () => {
    const answer = JSON.parse((await runCli(c.cliConfig, ['metrics', 'query', '--node', 'web-1', '--metric', 'up', '--output', 'json'])).stdout) as Series[];
    return answer.length > 0 ? answer : null;
  }, 20_000, 500);
  t.same(up[0].labels, { instance: 'web-1', job: 'ximp' }, 'up{job="ximp",instance="<node>"} as alerts expect it');
});

t.test('nothing found: an empty table or [], exit 0', async (t) => {
  const c = await startCollector(t);
  const table = await runCli(c.cliConfig, ['metrics', 'query', '--node', 'nobody', '--metric', 'node_load1']);
  t.equal(table.code, 0, table.stderr);
  t.equal(table.stdout, 'SERIES  LAST-VALUE  LAST-TIME  POINTS\n');
  const json = await runCli(c.cliConfig, ['metrics', 'query', '--node', 'nobody', '--metric', 'node_load1', '--output', 'json']);
  t.equal(json.code, 0);
  t.same(JSON.parse(json.stdout), []);
});

t.test('usage errors exit 2: a bad duration, a range past api.max_query_range, bad names, missing flags', async (t) => {
  const c = await startCollector(t, 'api:\n  max_query_range: 2d');
  const base = ['metrics', 'query', '--node', 'web-1', '--metric', 'node_load1'];
  const cases: [string[], RegExp][] = [
    [[...base, '--since', 'yesterday'], /--since: expected a duration like 30d, 12h or 1h30m \(got "yesterday"\)[^\n]*\n\nUsage: ximp metrics query /],
    [[...base, '--since', '0'], /--since: expected a duration like 30d, 12h or 1h30m \(got "0"\)/],
    [[...base, '--since', '3d'], /query too large: the time range is 3d; at most 2d is allowed \(api\.max_query_range\)/],
    [['metrics', 'query', '--node', 'Web_1', '--metric', 'node_load1'], /invalid request: node: /],
    [['metrics', 'query', '--node', 'web-1', '--metric', 'node load'], /invalid request: metric: expected a Prometheus metric name/],
    [['metrics', 'query', '--node', 'web-1'], /missing required flag --metric/],
  ];
  for (const [args, message] of cases) {
    const res = await runCli(c.cliConfig, args);
    t.equal(res.code, 2, args.join(' '));
    t.match(res.stderr, message, args.join(' '));
    t.equal(res.stdout, '');
  }
  const longest = await runCli(c.cliConfig, [...base, '--since', '2d']);
  t.equal(longest.code, 0, 'exactly api.max_query_range is allowed');
});
