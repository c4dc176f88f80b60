// Builds the dashboard into dist/ (or the directory given as the first argument): one minified script (src/main.ts and uPlot), one stylesheet
// (src/styles/*.css then uPlot's), and index.html. Nothing is fetched at run time, so the CSP can
// stay at 'self'. Prints each file's size, raw and gzipped.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
const dist = process.argv[2] ? process.argv[2] : join(here, 'dist');
const require = createRequire(import.meta.url);

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

await build({
  entryPoints: [join(src, 'main.ts')],
  outfile: join(dist, 'app.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  platform: 'browser',
  legalComments: 'none',
  logLevel: 'warning',
});

// Our styles first (sorted by name: 00-base.css before the rest), then uPlot's own.
const styleDir = join(src, 'styles');
const ours = readdirSync(styleDir).filter((f) => f.endsWith('.css')).sort().map((f) => join(styleDir, f));
const uplotCss = join(dirname(require.resolve('uplot')), 'uPlot.min.css');
const combined = [...ours, uplotCss].map((f) => readFileSync(f, 'utf8')).join('\n');
const css = await build({
  stdin: { contents: combined, loader: 'css', resolveDir: styleDir },
  write: false,
  minify: true,
  target: 'es2020',
  logLevel: 'warning',
});
writeFileSync(join(dist, 'app.css'), css.outputFiles[0].contents);

copyFileSync(join(src, 'index.html'), join(dist, 'index.html'));

for (const name of ['index.html', 'app.js', 'app.css']) {
  const file = join(dist, name);
  const raw = statSync(file).size;
  const gz = gzipSync(readFileSync(file)).length;
  console.log(`${name.padEnd(11)} ${(raw / 1024).toFixed(1).padStart(7)} KiB  (gzip ${(gz / 1024).toFixed(1)} KiB)`);
}
