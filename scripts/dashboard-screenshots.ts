/**
 * `npm run screenshots`: the README's pictures of the dashboard (docs/screenshots/*.png), taken
 * from the real collector with real agents on this host, in Debian's Chromium at 1280 px: the
 * Fleet page, a Node page with two minutes of this host's metrics, and the Alerts page with an active
 * alert. Run by tap (TypeScript, the test helpers), not part of `npm test`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { skipWithoutChromium } from '../test/helpers/browser';
import { createSources } from '../packages/agent/src/sources/index';
import { createUser, signInFirstTime, startDashboard } from '../test/helpers/dashboard';
import { createToken, runCli, startAgent, waitFor, ROOT } from '../test/helpers/system';

const OUT = path.join(ROOT, 'docs', 'screenshots');
/** How much of this host's data the Node page shows (its shortest range is 15 minutes). */
const HISTORY_MS = 120_000;

t.test('dashboard screenshots', { skip: skipWithoutChromium(t), timeout: 300_000 }, async (t) => {
  fs.mkdirSync(OUT, { recursive: true });
  const d = await startDashboard(t, { viewport: { width: 1280, height: 800 } });
  // This host's real sources; the file-system chart keeps `/` only (the machine's other mounts are
  // of no interest in a picture), with the agent's own mount-point exclusion.
  const web = await createToken(d.c.cliConfig, 'web-1');
  const sources = createSources(null, undefined, { mountPointsExclude: /^\/./ });
  await startAgent(t, { url: d.c.agentUrl, token: web.token, caFile: d.c.caFile, node: 'web-1', sources });
  const db = await createToken(d.c.cliConfig, 'db-1');
  await startAgent(t, { url: d.c.agentUrl, token: db.token, caFile: d.c.caFile, node: 'db-1' });
  const old = await createToken(d.c.cliConfig, 'batch-7');
  const oldAgent = await startAgent(t, { url: d.c.agentUrl, token: old.token, caFile: d.c.caFile, node: 'batch-7' });
  const rule = await d.admin('POST', '/api/v1/alert-rules', { name: 'web-load', kind: 'threshold', metric: 'node_load1', op: '>', value: 0, for: '0s', channels: [], enabled: true });
  if (rule.status !== 201) throw new Error(`rule: ${rule.status} ${rule.body}`);
  const password = await createUser(d.c, 'admin', 'monitoring-admin');
  const page = await d.browser.newPage();
  await signInFirstTime(page, d.origin, 'admin', password);
  await page.locator('td[data-node="batch-7"][data-state="ACTIVE"]').waitFor();
  await oldAgent.stop();
  await runCli(d.c.cliConfig, ['agent', 'token', 'revoke', old.id]);
  await page.locator('td[data-node="batch-7"][data-state="DISCONNECTED"]').waitFor();
  await page.locator('td[data-node="web-1"][data-state="ACTIVE"]').waitFor();
  await page.locator('td[data-node="db-1"][data-state="ACTIVE"]').waitFor();
  await page.screenshot({ path: path.join(OUT, 'fleet.png'), fullPage: true });

  const since = Date.now();
  await waitFor('two minutes of data', () => Date.now() - since >= HISTORY_MS, HISTORY_MS + 5_000, 1_000);
  await page.goto(`${d.origin}/nodes/web-1`);
  await page.getByRole('heading', { name: 'Node web-1', level: 1 }).waitFor();
  await page.getByLabel('Time range').selectOption('15m');
  await page.waitForFunction(() => !(globalThis as unknown as { document: { body: { innerText: string } } }).document.body.innerText.includes('Loading'));
  await page.screenshot({ path: path.join(OUT, 'node.png'), fullPage: true });

  await page.goto(`${d.origin}/alerts`);
  await page.getByRole('cell', { name: 'web-load' }).first().waitFor();
  await page.waitForFunction(() => !(globalThis as unknown as { document: { body: { innerText: string } } }).document.body.innerText.includes('Loading'));
  await page.screenshot({ path: path.join(OUT, 'alerts.png'), fullPage: true });
  for (const name of ['fleet', 'node', 'alerts']) t.ok(fs.statSync(path.join(OUT, `${name}.png`)).size > 10_000, `docs/screenshots/${name}.png`);
});
