/**
 * Debian's Chromium driven by playwright-core, for the dashboard's browser tests: one browser per
 * test file (closed in teardown), pages that record every Content-Security-Policy violation, and
 * axe-core run inside a page.
 *
 * TLS: the browser keeps checking certificates (no ignoreHTTPSErrors). The test CA is not in
 * Chromium's store, so for each origin a test names the helper first connects with Node over
 * TLS 1.3 and verifies the server's chain against the test CA, then tells Chromium to accept
 * exactly that leaf key (`--ignore-certificate-errors-spki-list`, the SHA-256 of its
 * SubjectPublicKeyInfo). Any other certificate, on any other origin, still fails in the browser.
 * Host names resolve only to loopback (`--host-resolver-rules`), so nothing leaves the machine.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { binaryOnPath, skipWithoutPackage, type SkipOrFail, type Teardown } from './debian-peer';

/** Where Debian's package `chromium` puts the browser. */
const CHROMIUM = '/usr/bin/chromium';

/** The browser binary, or null when Debian's `chromium` is not installed. */
export function chromiumBinary(): string | null {
  if (fs.existsSync(CHROMIUM)) return CHROMIUM;
  return binaryOnPath('chromium');
}

/**
 * What tests pass as `{ skip }`: false with Chromium installed, else a message naming the Debian
 * package `chromium`. Under CI=true a missing browser is a failure (debian-peer's rule).
 */
export function skipWithoutChromium(t: SkipOrFail): string | false {
  if (chromiumBinary() !== null) return false;
  return skipWithoutPackage(t, 'chromium', 'chromium');
}

/** An HTTPS origin the browser may trust once Node verified its certificate against `ca`. */
export interface TrustedOrigin {
  url: string;
  ca: string | Buffer;
  /** The name the certificate must carry (default: the URL's host). */
  servername?: string;
}

/** The base64 SHA-256 of the leaf's SubjectPublicKeyInfo, after Node verified the chain to `ca`. */
export function verifiedSpkiHash(origin: TrustedOrigin): Promise<string> {
  const url = new URL(origin.url);
  return new Promise((resolve, reject) => {
    const ip = net.isIP(url.hostname) !== 0;
    const socket = tls.connect({
      host: url.hostname === 'localhost' ? '127.0.0.1' : url.hostname,
      port: Number(url.port),
      ca: origin.ca,
      // An IP address is checked against the certificate's IP names; SNI carries no addresses.
      ...(ip && origin.servername === undefined ? {} : { servername: origin.servername ?? url.hostname }),
      minVersion: 'TLSv1.3',
    });
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      const raw = socket.getPeerCertificate().raw;
      socket.end();
      const spki = new crypto.X509Certificate(raw).publicKey.export({ type: 'spki', format: 'der' });
      resolve(crypto.createHash('sha256').update(spki).digest('base64'));
    });
  });
}

/** One Content-Security-Policy violation as a page reported it. */
export interface CspViolation {
  page: string;
  directive: string;
  blocked: string;
  source: string;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

export interface TestBrowser {
  browser: Browser;
  context: BrowserContext;
  /** Every CSP violation any page of this browser reported (securitypolicyviolation events). */
  cspViolations: CspViolation[];
  /** Console messages of the kind Chromium prints for a CSP refusal ("Refused to ..."). */
  refusedMessages: string[];
  /** Uncaught exceptions in any page: a script failed. */
  pageErrors: string[];
  /** Console errors (failed loads such as a 401 before sign-in, among others), for failure messages. */
  consoleErrors: string[];
  newPage(): Promise<Page>;
  /** axe-core's serious and critical violations on the page as it is now. */
  axe(page: Page): Promise<AxeViolation[]>;
}

const AXE_SOURCE_PATH = require.resolve('axe-core/axe.min.js');

/** What the functions run inside the page use of it (this file is type-checked without the DOM). */
interface PageGlobals {
  document: {
    addEventListener(type: 'securitypolicyviolation', fn: (e: { violatedDirective: string; blockedURI: string; sourceFile: string; lineNumber: number }) => void): void;
  };
  location: { href: string };
  __ximpCspViolation?(v: CspViolation): void;
  axe?: {
    run(context: unknown, options: unknown): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }>;
  };
}

/** Listens for violations before any page script runs, on every document of the context. */
function reportViolations(): void {
  const g = globalThis as unknown as PageGlobals;
  g.document.addEventListener('securitypolicyviolation', (e) => {
    g.__ximpCspViolation?.({ page: g.location.href, directive: e.violatedDirective, blocked: e.blockedURI, source: `${e.sourceFile}:${e.lineNumber}` });
  });
}

export interface BrowserOptions {
  /** Origins whose certificates the browser accepts (each verified against its CA first). */
  trust: TrustedOrigin[];
  /** Window size (default 1280×900, the desktop width). */
  viewport?: { width: number; height: number };
}

/** Launches Chromium for one test file; closed when the test ends. */
export async function startBrowser(t: Teardown, options: BrowserOptions): Promise<TestBrowser> {
  const executablePath = chromiumBinary();
  if (executablePath === null) throw new Error('chromium is not installed (Debian package `chromium`)');
  const hashes = await Promise.all(options.trust.map(verifiedSpkiHash));
  const browser = await chromium.launch({
    executablePath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      `--ignore-certificate-errors-spki-list=${hashes.join(',')}`,
      '--host-resolver-rules=MAP localhost 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    ],
    timeout: 60_000,
  });
  t.teardown(() => browser.close());
  const context = await browser.newContext({
    ignoreHTTPSErrors: false,
    viewport: options.viewport ?? { width: 1280, height: 900 },
    // Times are shown in the browser's zone: a fixed one keeps screenshots and assertions stable.
    timezoneId: 'UTC',
    locale: 'en-GB',
  });
  context.setDefaultTimeout(20_000);
  const cspViolations: CspViolation[] = [];
  const refusedMessages: string[] = [];
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  await context.exposeFunction('__ximpCspViolation', (v: CspViolation) => void cspViolations.push(v));
  await context.addInitScript(reportViolations);
  const axeSource = fs.readFileSync(AXE_SOURCE_PATH, 'utf8');

  return {
    browser,
    context,
    cspViolations,
    refusedMessages,
    pageErrors,
    consoleErrors,
    async newPage() {
      const page = await context.newPage();
      page.on('console', (msg: ConsoleMessage) => {
        const text = msg.text();
        if (/Refused to|Content Security Policy/i.test(text)) refusedMessages.push(`${page.url()}: ${text}`);
        if (msg.type() === 'error') consoleErrors.push(`${page.url()}: ${text}`);
      });
      page.on('pageerror', (err) => pageErrors.push(`${page.url()}: ${err.message}`));
      return page;
    },
    async axe(page) {
      // Evaluated through the DevTools protocol, which the page's CSP does not govern (as an
      // extension would inject it); the page's own scripts stay under the CSP.
      if (!(await page.evaluate(() => 'axe' in globalThis))) await page.evaluate(axeSource);
      return page.evaluate(async () => {
        const g = globalThis as unknown as PageGlobals;
        const result = await g.axe!.run(g.document, { resultTypes: ['violations'] });
        return result.violations
          .filter((v) => v.impact === 'serious' || v.impact === 'critical')
          .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => JSON.stringify(n.target)) }));
      });
    },
  };
}

/** A readable list of axe violations for a failure message. */
export function describeAxe(violations: AxeViolation[]): string {
  return violations.map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.join(' ')}`).join('\n');
}
