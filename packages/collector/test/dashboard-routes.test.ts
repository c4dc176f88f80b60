/**
 * /api/v1/dashboards over real TLS 1.3 (dashboard contract, SPEC §10 and §15): the built-in
 * node-overview exists from the first start, on the metric names the agent emits, and cannot be
 * changed or deleted (409); editors create, update and delete, each audited with the caller as
 * actor; a viewer reads but may not write (403); a node-scoped viewer sees every dashboard;
 * invalid bodies answer 400 naming each field; ids are slugs of the name, made unique.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseNodeGlob } from '@ximp/shared';
import { request, startApi, type Harness } from './helpers/api-harness';

const JSON_HEADERS = { 'Content-Type': 'application/json' };

function body(x: unknown): { headers: Record<string, string>; body: string } {
  return { headers: JSON_HEADERS, body: JSON.stringify(x) };
}

const PANEL = { title: 'Load', metric: 'node_load1', matchers: {}, function: 'raw', aggregation: 'none', unit: 'none' };

async function tokens(h: Harness): Promise<{ viewer: string; editor: string; admin: string }> {
  return {
    viewer: h.accessToken(h.createClient('monitoring-viewer')),
    editor: h.accessToken(h.createClient('monitoring-editor')),
    admin: h.accessToken(h.createClient('monitoring-admin')),
  };
}

t.test('the built-in node-overview exists from the first start and cannot be changed or deleted', async (t) => {
  const h = await startApi(t);
  const { viewer, editor } = await tokens(h);
  const list = await request(h, 'GET', '/api/v1/dashboards', { bearer: viewer });
  t.equal(list.status, 200);
  t.equal(list.json.dashboards.length, 1);
  const builtin = list.json.dashboards[0];
  t.match(builtin, { id: 'node-overview', name: 'Node overview', builtin: true, created_by: 'system', updated_at: /^\d{4}-\d\d-\d\dT/ });

  // Every panel names a metric one of the agent's sources emits.
  const sources = path.resolve(__dirname, '../../agent/src/sources');
  const sourceText = fs.readdirSync(sources).map((f) => fs.readFileSync(path.join(sources, f), 'utf8')).join('\n');
  const emitted = (metric: string): boolean =>
    sourceText.includes(`'${metric}'`) ||
    (metric.startsWith('node_memory_') && sourceText.includes('node_memory_')) ||
    /^node_network_(receive|transmit)_bytes_total$/.test(metric) ||
    /^node_disk_(read|written)_bytes_total$/.test(metric);
  for (const p of builtin.panels) t.ok(emitted(p.metric), `${p.title}: ${p.metric} is emitted by the agent`);
  const cpu = builtin.panels.find((p: { metric: string }) => p.metric === 'node_cpu_seconds_total');
  t.match(cpu, { function: 'rate', aggregation: 'sum', by: ['mode'] }, 'CPU by mode is the rate of node_cpu_seconds_total summed by mode');
  for (const metric of ['node_memory_MemAvailable_bytes', 'node_load1', 'node_network_receive_bytes_total', 'node_network_transmit_bytes_total', 'node_disk_read_bytes_total', 'node_disk_written_bytes_total', 'node_filesystem_avail_bytes']) {
    t.ok(builtin.panels.some((p: { metric: string }) => p.metric === metric), `a panel for ${metric}`);
  }

  const put = await request(h, 'PUT', '/api/v1/dashboards/node-overview', { bearer: editor, ...body({ name: 'Mine', panels: [] }) });
  t.equal(put.status, 409);
  t.equal(put.json.error, 'conflict');
  const del = await request(h, 'DELETE', '/api/v1/dashboards/node-overview', { bearer: editor });
  t.equal(del.status, 409);
  const again = await request(h, 'GET', '/api/v1/dashboards/node-overview', { bearer: viewer });
  t.same(again.json, builtin, 'unchanged');
  t.equal(h.deps.audit.list({ limit: 10 }).length, 0, 'a refused change is not audited');
});

t.test('editors create, update and delete dashboards, each audited; ids are unique slugs of the name', async (t) => {
  const h = await startApi(t);
  const { viewer, editor } = await tokens(h);

  const created = await request(h, 'POST', '/api/v1/dashboards', { bearer: editor, ...body({ name: 'Web Servers: CPU & Load', panels: [PANEL] }) });
  t.equal(created.status, 201);
  t.match(created.json, { id: 'web-servers-cpu-load', name: 'Web Servers: CPU & Load', builtin: false, created_by: /^xc_/, panels: [PANEL] });
  const second = await request(h, 'POST', '/api/v1/dashboards', { bearer: editor, ...body({ name: 'web servers -- cpu load', panels: [] }) });
  t.equal(second.json.id, 'web-servers-cpu-load-2', 'the same slug is made unique');
  const reserved = await request(h, 'POST', '/api/v1/dashboards', { bearer: editor, ...body({ name: 'Node Overview', panels: [] }) });
  t.equal(reserved.json.id, 'node-overview-2', 'the built-in id is taken');

  const id = created.json.id as string;
  const byId = await request(h, 'GET', `/api/v1/dashboards/${id}`, { bearer: viewer });
  t.same(byId.json, created.json, 'a viewer reads it by id');

  const panel2 = { title: 'Disk read', metric: 'node_disk_read_bytes_total', matchers: { device: 'sda' }, function: 'rate', aggregation: 'sum', by: ['device'], unit: 'bytes/s' };
  // A client may send back the object it read: the server keeps its own id, builtin, created_by.
  const updated = await request(h, 'PUT', `/api/v1/dashboards/${id}`, { bearer: editor, ...body({ ...created.json, name: 'Renamed', panels: [PANEL, panel2] }) });
  t.equal(updated.status, 200);
  t.match(updated.json, { id, name: 'Renamed', builtin: false, created_by: created.json.created_by, panels: [PANEL, panel2] });

  const del = await request(h, 'DELETE', `/api/v1/dashboards/${id}`, { bearer: editor });
  t.equal(del.status, 204);
  t.equal(del.text, '', 'no body');
  t.equal((await request(h, 'GET', `/api/v1/dashboards/${id}`, { bearer: viewer })).status, 404);
  t.equal((await request(h, 'DELETE', `/api/v1/dashboards/${id}`, { bearer: editor })).status, 404);
  t.equal((await request(h, 'PUT', `/api/v1/dashboards/${id}`, { bearer: editor, ...body({ name: 'x', panels: [] }) })).status, 404);

  const audit = h.deps.audit.list({ limit: 10 }).map((e) => [e.action, e.target, e.actor]);
  const actor = created.json.created_by;
  t.same(
    audit.sort(),
    [
      ['dashboard.create', 'web-servers-cpu-load', actor],
      ['dashboard.create', 'web-servers-cpu-load-2', actor],
      ['dashboard.create', 'node-overview-2', actor],
      ['dashboard.update', id, actor],
      ['dashboard.delete', id, actor],
    ].sort(),
    'every change audited with the editor as actor',
  );
});

t.test('a viewer may read but not write (403 before the body is read); a node-scoped viewer sees every dashboard', async (t) => {
  const h = await startApi(t);
  const { viewer, editor } = await tokens(h);
  await request(h, 'POST', '/api/v1/dashboards', { bearer: editor, ...body({ name: 'Team A', panels: [PANEL] }) });
  for (const [method, p] of [['POST', '/api/v1/dashboards'], ['PUT', '/api/v1/dashboards/team-a'], ['DELETE', '/api/v1/dashboards/team-a']]) {
    const res = await request(h, method, p, { bearer: viewer, ...body({ name: 'x', panels: [] }) });
    t.equal(res.status, 403, `${method} ${p} as viewer`);
    t.equal(res.json.error, 'insufficient_scope');
  }
  const created = h.deps.clients.create('scoped viewer', 'monitoring-viewer', Date.now(), parseNodeGlob('web-*'));
  const scoped = h.deps.accessTokens.issue(created.clientId, 60_000, Date.now()).accessToken;
  const list = await request(h, 'GET', '/api/v1/dashboards', { bearer: scoped });
  t.same(list.json.dashboards.map((d: { id: string }) => d.id), ['node-overview', 'team-a'], 'dashboards hold no node data: all are listed');
  t.equal((await request(h, 'GET', '/api/v1/dashboards/team-a', { bearer: scoped })).status, 200);
  t.equal((await request(h, 'GET', '/api/v1/agents/db-1', { bearer: scoped })).status, 401, 'the client is node-scoped indeed');
  t.equal((await request(h, 'GET', '/api/v1/dashboards')).status, 401, 'no token: 401');
});

t.test('an invalid dashboard answers 400 naming every field at fault', async (t) => {
  const h = await startApi(t);
  const { editor } = await tokens(h);
  const post = (x: unknown) => request(h, 'POST', '/api/v1/dashboards', { bearer: editor, ...body(x) });

  const bad = await post({
    name: '',
    panels: [
      { title: 'ok', metric: 'node load' },
      { title: 'x', metric: 'up', matchers: { 'bad-label': 'v' }, function: 'irate', aggregation: 'median', unit: 'parsecs' },
      { title: 'y', metric: 'up', by: ['mode'] },
      { metric: 'up', colour: 'red' },
    ],
  });
  t.equal(bad.status, 400);
  t.equal(bad.json.error, 'invalid_request');
  const paths = (bad.json.issues as { path: string }[]).map((i) => i.path);
  t.same(
    paths.sort(),
    ['name', 'panels[0].metric', 'panels[1].matchers.bad-label', 'panels[1].function', 'panels[1].aggregation', 'panels[1].unit', 'panels[2].by', 'panels[3].colour', 'panels[3].title'].sort(),
    'each problem names its field',
  );
  t.notOk(bad.text.includes('colour: red'), 'values are described, not the message');

  const many = await post({ name: 'Big', panels: Array.from({ length: 51 }, () => PANEL) });
  t.equal(many.status, 400);
  t.match(many.json.issues, [{ path: 'panels', message: /at most 50 panels/ }]);
  t.equal((await post({ name: 'n'.repeat(101), panels: [] })).json.issues[0].path, 'name');
  t.equal((await post({ name: 'No panels key' })).json.issues[0].path, 'panels');
  t.equal((await post({ name: 'x', panels: 'cpu' })).json.issues[0].path, 'panels');
  t.equal((await request(h, 'POST', '/api/v1/dashboards', { bearer: editor, headers: JSON_HEADERS, body: '[1]' })).status, 400);
  t.equal((await post({ name: 'Fifty', panels: Array.from({ length: 50 }, () => PANEL) })).status, 201, 'exactly 50 panels are allowed');
});
