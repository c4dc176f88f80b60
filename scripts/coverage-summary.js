#!/usr/bin/env node
'use strict';
/**
 * Prints the coverage of the last tap run (tap writes .tap/report/coverage-summary.json) per
 * package, the least-covered files, and the source files no test loaded.
 *
 *   node scripts/coverage-summary.js           print only
 *   node scripts/coverage-summary.js --check   also exit 1 below the floor of lines and branches
 *
 * The floor is the `lines:` and `branches:` of .taprc, so it is written down once.
 */
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const summaryFile = path.join(root, '.tap', 'report', 'coverage-summary.json');
const check = process.argv.includes('--check');
const LEAST = 15;

function floorFromTaprc() {
  const text = fs.readFileSync(path.join(root, '.taprc'), 'utf8');
  const value = (key) => {
    const m = new RegExp(`^${key}:\\s*(\\d+(?:\\.\\d+)?)\\s*$`, 'm').exec(text);
    if (!m) throw new Error(`.taprc has no "${key}:" floor`);
    return Number(m[1]);
  };
  return { lines: value('lines'), branches: value('branches') };
}

function emptyCounts() {
  return { lines: { total: 0, covered: 0 }, branches: { total: 0, covered: 0 }, functions: { total: 0, covered: 0 } };
}

function add(into, from) {
  for (const k of Object.keys(into)) {
    into[k].total += from[k].total;
    into[k].covered += from[k].covered;
  }
}

/** Percentage as istanbul computes it: 100 when there is nothing to cover. */
function pct(c) {
  return c.total === 0 ? 100 : Math.floor((10000 * c.covered) / c.total) / 100;
}

function cell(c) {
  return `${pct(c).toFixed(2).padStart(6)}% (${c.covered}/${c.total})`.padEnd(24);
}

/** Every packages/<name>/src/**.ts file, relative to the root. */
function sourceFiles() {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(path.relative(root, p));
    }
  };
  for (const pkg of fs.readdirSync(path.join(root, 'packages'))) {
    const src = path.join(root, 'packages', pkg, 'src');
    if (fs.existsSync(src)) walk(src);
  }
  return out.sort();
}

function main() {
  // tap empties .tap/coverage when a run starts and writes the summary when it ends: a summary
  // older than the raw data, or raw data missing, means the last run measured nothing.
  const rawDir = path.join(root, '.tap', 'coverage');
  const raw = fs.existsSync(rawDir) ? fs.readdirSync(rawDir).map((f) => fs.statSync(path.join(rawDir, f)).mtimeMs) : [];
  if (raw.length === 0 || !fs.existsSync(summaryFile) || fs.statSync(summaryFile).mtimeMs < Math.max(...raw)) {
    process.stderr.write('coverage: the last tap run left no coverage summary; run npm test first\n');
    return 1;
  }
  const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8'));
  const files = Object.keys(summary)
    .filter((k) => k !== 'total')
    .map((abs) => ({ file: path.relative(root, abs), counts: summary[abs] }))
    .filter((f) => /^packages\/[^/]+\/src\//.test(f.file));

  const byPackage = new Map();
  const total = emptyCounts();
  for (const f of files) {
    const pkg = f.file.split('/')[1];
    if (!byPackage.has(pkg)) byPackage.set(pkg, emptyCounts());
    add(byPackage.get(pkg), f.counts);
    add(total, f.counts);
  }

  const floor = floorFromTaprc();
  const lines = [];
  lines.push('coverage over packages/*/src (files loaded by the tests, including spawned processes)');
  lines.push(`${'package'.padEnd(12)}${'lines'.padEnd(24)}${'branches'.padEnd(24)}functions`);
  for (const [pkg, c] of [...byPackage].sort((a, b) => a[0].localeCompare(b[0]))) {
    lines.push(`${pkg.padEnd(12)}${cell(c.lines)}${cell(c.branches)}${cell(c.functions)}`);
  }
  lines.push(`${'total'.padEnd(12)}${cell(total.lines)}${cell(total.branches)}${cell(total.functions)}`);

  const least = files
    .filter((f) => f.counts.lines.total > 0)
    .sort((a, b) => pct(a.counts.lines) - pct(b.counts.lines) || b.counts.lines.total - a.counts.lines.total)
    .slice(0, LEAST);
  lines.push('', `the ${least.length} least-covered files (lines, branches):`);
  const width = Math.max(...least.map((f) => f.file.length), 10) + 2;
  for (const f of least) {
    lines.push(`  ${f.file.padEnd(width)}${pct(f.counts.lines).toFixed(2).padStart(6)}%  ${pct(f.counts.branches).toFixed(2).padStart(6)}%`);
  }

  const seen = new Set(files.map((f) => f.file));
  const unseen = sourceFiles().filter((f) => !seen.has(f));
  if (unseen.length > 0) {
    lines.push('', `not in the report (type-only, or loaded by no test): ${unseen.join(', ')}`);
  }

  const ok = pct(total.lines) >= floor.lines && pct(total.branches) >= floor.branches;
  lines.push(
    '',
    `floor (.taprc): lines ${floor.lines}%, branches ${floor.branches}%: ${ok ? 'met' : 'NOT met'}` +
      (check ? '' : ' (not enforced here; `npm run coverage:check` enforces it)'),
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  return check && !ok ? 1 : 0;
}

process.exitCode = main();
