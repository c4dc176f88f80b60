/**
 * What the dashboard's browser tests share: the real collector serving the built web app, Chromium
 * trusting its certificate (test/helpers/browser.ts), local users made with the real CLI, sign-in
 * through the pages, and a real agent reporting this host's metrics.
 */
import * as fs from 'node:fs';
import type { Page } from 'playwright-core';
import { adminApi, type AdminApi } from './admin-api';
import { startBrowser, type TestBrowser, type TrustedOrigin } from './browser';
import { createToken, runCli, startAgent, startPreparedCollector, prepareCollector, type TestAgent, type TestCollector, type TestCollectorPaths } from './system';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Dashboard {
  c: TestCollector;
  /** The collector's API listener as the browser opens it. */
  origin: string;
  admin: AdminApi;
  browser: TestBrowser;
}

export interface DashboardOptions {
  /** A collector already prepared (e.g. with dashboard.oidc and a fixed port); default a plain one. */
  paths?: TestCollectorPaths;
  /** Other origins the browser must trust (an identity provider). */
  trust?: TrustedOrigin[];
  viewport?: { width: number; height: number };
}

/** The real collector and a browser that trusts it (and only it, plus `trust`). */
export async function startDashboard(t: Teardown, options: DashboardOptions = {}): Promise<Dashboard> {
  const c = await startPreparedCollector(t, options.paths ?? prepareCollector(t));
  const origin = `https://127.0.0.1:${c.apiPort}`;
  const browser = await startBrowser(t, {
    trust: [{ url: origin, ca: fs.readFileSync(c.caFile) }, ...(options.trust ?? [])],
    viewport: options.viewport,
  });
  return { c, origin, admin: await adminApi(c), browser };
}

/** A local user made with `ximp user create`; its one-time password. */
export async function createUser(c: TestCollector, name: string, role: string, nodes?: string): Promise<string> {
  const res = await runCli(c.cliConfig, ['user', 'create', '--name', name, '--role', role, ...(nodes ? ['--nodes', nodes] : []), '--output', 'json']);
  if (res.code !== 0) throw new Error(`user create failed (${res.code}): ${res.stderr}`);
  return (JSON.parse(res.stdout) as { password: string }).password;
}

/** The new password every test user picks at its first sign-in. */
export function newPasswordFor(name: string): string {
  return `${name}-chose-a-long-password`;
}

/**
 * Signs in through the pages: the sign-in form with the one-time password, then the forced
 * password change; ends on the Fleet page.
 */
export async function signInFirstTime(page: Page, origin: string, name: string, oneTimePassword: string): Promise<void> {
  await page.goto(`${origin}/signin`);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password', { exact: true }).fill(oneTimePassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${origin}/password`);
  await page.getByLabel('Current password').fill(oneTimePassword);
  await page.getByLabel('New password', { exact: true }).fill(newPasswordFor(name));
  await page.getByLabel('New password again').fill(newPasswordFor(name));
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.waitForURL(`${origin}/fleet`);
  await page.getByRole('heading', { name: 'Fleet', level: 1 }).waitFor();
}

/** A real agent for `node` with this host's real metric sources, every second. */
export async function startRealAgent(t: Teardown, c: TestCollector, node: string): Promise<TestAgent & { tokenId: string }> {
  const token = await createToken(c.cliConfig, node);
  const agent = await startAgent(t, { url: c.agentUrl, token: token.token, caFile: c.caFile, node, realSources: true });
  return { ...agent, tokenId: token.id };
}

/** The session cookie's value in the browser's jar (HttpOnly: the page itself cannot read it). */
export async function sessionCookie(page: Page): Promise<string | undefined> {
  return (await page.context().cookies()).find((c) => c.name === '__Host-ximp-session')?.value;
}
