/**
 * Done-when (issue 9): a viewer — a local user made with the CLI, whose first sign-in changes the
 * one-time password — sees the fleet and a node's charts drawn from a real agent's data, sees no
 * admin action, and the server refuses an admin route called from the page's own session (403).
 */
import t from 'tap';
import { skipWithoutChromium } from './helpers/browser';
import { createUser, signInFirstTime, startDashboard, startRealAgent } from './helpers/dashboard';
import { waitFor } from './helpers/system';

const ADMIN_LINKS = ['Tokens', 'Clients', 'Users', 'Certificates', 'Retention', 'Audit'];

t.test('a viewer sees the fleet and real charts, and no admin action', { skip: skipWithoutChromium(t) }, async (t) => {
  const started = Date.now();
  const d = await startDashboard(t);
  const agent = await startRealAgent(t, d.c, 'web-1');
  const password = await createUser(d.c, 'vera', 'monitoring-viewer');
  const page = await d.browser.newPage();
  await signInFirstTime(page, d.origin, 'vera', password);
  t.comment(`signed in after ${Date.now() - started} ms`);

  // Fleet: the real agent's row, live.
  const state = page.locator('td[data-node="web-1"]');
  await state.filter({ hasText: 'ACTIVE' }).waitFor();
  t.equal(await state.getAttribute('data-state'), 'ACTIVE', 'the agent is ACTIVE on the Fleet page');
  const row = page.getByRole('row').filter({ has: state });
  t.match(await row.innerText(), /127\.0\.0\.1/, 'with its address');

  // Nav: only what a viewer may open.
  const nav = page.getByRole('navigation', { name: 'Main' });
  const links = await nav.getByRole('link').allInnerTexts();
  t.same(links.map((l) => l.trim()), ['Fleet', 'Dashboards', 'Alerts'], 'the nav shows Fleet, Dashboards, Alerts only');
  for (const name of ADMIN_LINKS) t.equal(await page.getByRole('link', { name, exact: true }).count(), 0, `no ${name} link`);

  // No edit controls on the pages a viewer may open.
  await page.getByRole('link', { name: 'Dashboards', exact: true }).click();
  await page.getByRole('heading', { name: 'Dashboards', level: 1 }).waitFor();
  await page.getByRole('link', { name: 'Node overview' }).waitFor();
  t.equal(await page.getByRole('button', { name: 'New dashboard' }).count(), 0, 'no New dashboard button');
  await page.getByRole('link', { name: 'Node overview' }).click();
  await page.waitForURL(`${d.origin}/dashboards/node-overview`);
  await page.getByLabel('Node').waitFor();
  t.equal(await page.getByRole('button', { name: /Edit dashboard|Delete dashboard/ }).count(), 0, 'no edit or delete on a dashboard');
  await page.getByRole('link', { name: 'Alerts', exact: true }).click();
  await page.getByRole('heading', { name: 'Alerts', level: 1 }).waitFor();
  await page.getByRole('heading', { name: /Rules/ }).first().waitFor();
  t.equal(await page.getByRole('button', { name: /New rule|New channel|^Edit|^Delete/ }).count(), 0, 'no rule or channel editing');

  // The server refuses anyway: admin routes from this page's session, with its CSRF token.
  const refused = await page.evaluate(async () => {
    const session = (await (await fetch('/auth/session')).json()) as { csrf_token: string };
    const headers = { 'X-CSRF-Token': session.csrf_token, 'Content-Type': 'application/json' };
    const audit = await fetch('/api/v1/audit');
    const token = await fetch('/api/v1/agent-tokens', { method: 'POST', headers, body: JSON.stringify({ node: 'web-2' }) });
    const user = await fetch('/api/v1/users', { method: 'POST', headers, body: JSON.stringify({ name: 'mallory', role: 'monitoring-admin' }) });
    return { audit: [audit.status, await audit.json()], token: token.status, user: user.status };
  });
  t.same(refused.audit[0], 403, 'GET /api/v1/audit from the page: 403');
  t.match(refused.audit[1], { error: String });
  t.equal(refused.token, 403, 'POST /api/v1/agent-tokens with the CSRF token: 403');
  t.equal(refused.user, 403, 'POST /api/v1/users: 403');
  // Wait until the store holds twenty-five seconds of the agent's real memory samples, then open the node.
  await waitFor('stored memory samples', async () => {
    const res = await d.admin('GET', `/api/v1/nodes/web-1/series?metric=node_memory_MemTotal_bytes&from=${Date.now() - 600_000}&to=${Date.now()}`);
    const series = JSON.parse(res.body) as { points: [number, number][] }[];
    const points = series[0]?.points ?? [];
    return points.length >= 2 && points[points.length - 1][0] - points[0][0] >= 25_000;
  }, 30_000, 250);
  await page.getByRole('link', { name: 'Fleet', exact: true }).click();
  await row.getByRole('link', { name: 'web-1' }).click();
  await page.waitForURL(`${d.origin}/nodes/web-1`);
  await page.getByRole('heading', { name: 'Node web-1', level: 1 }).waitFor();
  await page.getByText('Host name').waitFor();
  t.match(await page.locator('dl.facts').innerText(), /Kernel/, 'host facts from the Hello');

  const memory = page.locator('section.chart').filter({ has: page.getByRole('heading', { name: 'Memory' }) });
  const canvas = memory.locator('canvas');
  await canvas.waitFor({ state: 'attached' });
  t.equal(await memory.getByText('No data in this range.').count(), 0, 'the Memory chart has data');
  t.match(await memory.locator('.visually-hidden').innerText(), /^Latest: total \d/, 'its summary names the latest value');
  // The four lines (total, available, cached, free: the chart's first four colours) are drawn on
  // the canvas: count their pixels. Over the 15 min range twenty-five seconds of data are short strokes
  // at the right edge; a lone point draws nothing (uPlot hides points this dense), so strokes mean
  // real samples joined into lines.
  const drawn = await waitFor('the memory lines drawn', async () => {
    const n = await canvas.evaluate((c: { getContext(k: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null; width: number; height: number }) => {
      const palette = [[0x25, 0x63, 0xeb], [0xdc, 0x26, 0x26], [0x05, 0x96, 0x69], [0xd9, 0x77, 0x06]];
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let count = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] === 0) continue;
        if (palette.some(([r, g, b]) => Math.abs(data[i] - r) < 40 && Math.abs(data[i + 1] - g) < 40 && Math.abs(data[i + 2] - b) < 40)) count++;
      }
      return count;
    });
    return n >= 12 ? n : 0;
  }, 20_000, 250);
  t.ok(drawn >= 12, `the Memory canvas carries the agent's lines (${drawn} pixels of them)`);
  for (const title of ['CPU by mode', 'Load', 'Network', 'Disk I/O', 'Filesystem use']) {
    const chart = page.locator('section.chart').filter({ has: page.getByRole('heading', { name: title }) });
    await chart.locator('canvas, p.empty').first().waitFor({ state: 'attached' });
    t.equal(await chart.getByText('Could not read the data').count(), 0, `the ${title} chart read its data`);
  }
  // uPlot holds the values: at the right end of the plot its legend shows the latest total.
  const over = memory.locator('.u-over');
  const box = (await over.boundingBox())!;
  await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2);
  t.match(await memory.locator('.u-legend').innerText(), /total\s*[\d.]+ GiB/, 'the legend shows the total at the cursor');
  t.ok(agent.agent, 'the agent is still running');

  t.same(d.browser.cspViolations, [], 'no CSP violation on any page');
  t.same(d.browser.pageErrors, [], 'no script failed');
  t.comment(`viewer journey in ${Date.now() - started} ms`);
});
