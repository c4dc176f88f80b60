// The built dashboard keeps to the CSP and fetches nothing from elsewhere: one page with no inline
// script or style, one script and one stylesheet from 'self', uPlot's styles and both colour
// schemes in the stylesheet, no absolute URL to load anything from in the bundle.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';

const web = join(__dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'ximp-web-'));
t.teardown(() => rmSync(out, { recursive: true, force: true }));
const printed = execFileSync(process.execPath, [join(web, 'build.mjs'), out], { encoding: 'utf8' });

t.test('the build writes index.html, app.js and app.css and prints their sizes', async (t) => {
  t.same(readdirSync(out).sort(), ['app.css', 'app.js', 'index.html']);
  for (const name of ['index.html', 'app.js', 'app.css']) t.match(printed, new RegExp(`${name.replace('.', '\\.')}\\s+[\\d.]+ KiB\\s+\\(gzip [\\d.]+ KiB\\)`));
});

t.test('index.html: no inline script, no style element or attribute, only files of its own origin', async (t) => {
  const html = readFileSync(join(out, 'index.html'), 'utf8');
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  t.equal(scripts.length, 1);
  t.match(scripts[0][1], /src="\/app\.js"/);
  t.equal(scripts[0][2].trim(), '', 'the script element has no body');
  t.notMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'no style element, style attribute or inline handler');
  const refs = [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
  t.same(refs.sort(), ['/app.css', '/app.js', 'data:,'].sort());
});

t.test('the bundle loads nothing from another origin and sets no style attribute', async (t) => {
  const js = readFileSync(join(out, 'app.js'), 'utf8');
  const css = readFileSync(join(out, 'app.css'), 'utf8');
  t.notMatch(js, /https?:\/\/[a-z0-9]/i, 'no absolute URL in the script');
  t.notMatch(css, /url\(\s*['"]?(https?:)?\/\//i, 'no stylesheet resource from elsewhere');
  t.notMatch(css, /@import/);
  t.notMatch(js, /setAttribute\(\s*["']style["']/, 'CSP forbids style attributes');
  t.notMatch(js, /\beval\(|new Function\(/, "script-src 'self' has no unsafe-eval");
});

t.test("the stylesheet has uPlot's styles and a dark scheme", async (t) => {
  const css = readFileSync(join(out, 'app.css'), 'utf8');
  t.match(css, /\.uplot\b/);
  t.match(css, /prefers-color-scheme:\s*dark/);
  t.match(css, /:focus-visible/);
});
