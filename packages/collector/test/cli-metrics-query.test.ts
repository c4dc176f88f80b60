/**
 * `ximp metrics query` on answers a test writes (the command is a pure function of the API's
 * answer): the series text is Prometheus' (labels sorted, values escaped), a null value shows as
 * "-", a `__proto__` label stays a label, and a malformed answer fails (exit 1) instead of printing
 * something half right. Against a real collector: test/metrics-query-cli.test.ts.
 */
import t from 'tap';
import { CliError } from '../src/cli/cli-error';
import type { CommandContext } from '../src/cli/command-context';
import { metricsQuery, seriesText } from '../src/cli/metrics-commands';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);

function run(answer: unknown, output: 'table' | 'json' = 'table'): Promise<{ out: string; calls: string[] }> {
  const calls: string[] = [];
  let out = '';
  const ctx: CommandContext = {
    api: {
      call: async (method, path) => {
        calls.push(`${method} ${path}`);
        return answer;
      },
    },
    flags: { node: 'web-1', metric: 'node_filesystem_avail_bytes' },
    positionals: [],
    output,
    out: (s) => void (out += s),
    err: () => undefined,
    now: () => NOW,
  };
  return metricsQuery(ctx).then(() => ({ out, calls }));
}

t.test('the request covers the last hour by default, by the CLI clock', async (t) => {
  const { calls } = await run([]);
  t.same(calls, [`GET /api/v1/nodes/web-1/series?metric=node_filesystem_avail_bytes&from=${NOW - 3_600_000}&to=${NOW}`]);
});

t.test('series text as Prometheus writes it', async (t) => {
  t.equal(seriesText('up', {}), 'up{}');
  t.equal(seriesText('m', { z: '1', a: 'x"y\\z\nw' }), 'm{a="x\\"y\\\\z\\nw",z="1"}');
});

t.test('table and JSON of an answer with a null value and a __proto__ label', async (t) => {
  const answer = JSON.parse(
    '[{"labels":{"__proto__":"p","mountpoint":"/","instance":"web-1","job":"ximp"},"points":[[' + (NOW - 20_000) + ',5],[' + (NOW - 10_000) + ',null]]}]',
  );
  const table = await run(answer);
  t.equal(
    table.out,
    'SERIES                                                                                 LAST-VALUE  LAST-TIME                       POINTS\n' +
      'node_filesystem_avail_bytes{__proto__="p",instance="web-1",job="ximp",mountpoint="/"}  -           2026-12-01T11:59:50Z (10s ago)  2\n',
  );
  const json = JSON.parse((await run(answer, 'json')).out);
  t.same(json, [
    {
      metric: 'node_filesystem_avail_bytes',
      labels: JSON.parse('{"__proto__":"p","mountpoint":"/","instance":"web-1","job":"ximp"}'),
      points: [
        [new Date(NOW - 20_000).toISOString(), 5],
        [new Date(NOW - 10_000).toISOString(), null],
      ],
    },
  ]);
  t.ok(Object.prototype.hasOwnProperty.call(json[0].labels, '__proto__'));
});

t.test('a malformed answer fails with exit 1', async (t) => {
  for (const answer of [
    {},
    [{ points: [] }],
    [{ labels: [], points: [] }],
    [{ labels: { a: 1 }, points: [] }],
    [{ labels: {}, points: {} }],
    [{ labels: {}, points: [5] }],
    [{ labels: {}, points: [['2026-01-01', 1]] }],
    [{ labels: {}, points: [[1, '1']] }],
  ]) {
    await t.rejects(run(answer), new CliError(1, 'unexpected answer from the collector'), JSON.stringify(answer));
  }
});
