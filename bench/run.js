#!/usr/bin/env node
'use strict';
/**
 * `npm run bench [-- --compare] [-- --quick] [-- --only=id,id] [-- --baseline=FILE]`: runs the
 * scenarios in bench/scenarios/ in a fixed order, prints each one's figures beside their targets
 * and anchors, a summary of every figure with a target, and writes the whole run as JSON to
 * bench/results/latest.json (or $BENCH_RESULTS_FILE). Asserts nothing: a missed target is a "no"
 * in the table, not a failure; the exit code is 1 only when a scenario could not run.
 *
 * --quick     a few seconds and a few agents per scenario (the smoke test's mode; figures meaningless)
 * --compare   also run Debian's prometheus-node-exporter beside the agent (skipped with a line
 *             naming the package where it is not installed)
 * --only=     run only these scenarios
 * --baseline= an earlier results file: its figures are printed in a column beside this run's
 *
 * BENCH_RESULTS_FILE: where the results go instead; BENCH_SCENARIOS_DIR: where the scenario
 * modules are looked for instead of bench/scenarios (the smoke test runs the runner on its own).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { scenarioTable, summaryTable } = require('./lib/report');

const root = path.resolve(__dirname, '..');
const scenariosDir = process.env.BENCH_SCENARIOS_DIR ? path.resolve(process.env.BENCH_SCENARIOS_DIR) : path.join(__dirname, 'scenarios');

/** The order scenarios run in: the collector's first, then the agent's beside node_exporter. */
const SCENARIOS = ['collector-ceiling', 'collector-latency', 'fleet-connect', 'idle-agents', 'revocation', 'remote-write', 'agent-footprint'];

const USAGE = `usage: node bench/run.js [--compare] [--quick] [--only=${SCENARIOS.join(',')}] [--baseline=FILE]`;

class UsageError extends Error {}

function parseArgs(argv) {
  const args = { compare: false, quick: false, only: null, baseline: null };
  for (const arg of argv) {
    if (arg === '--compare') args.compare = true;
    else if (arg === '--quick') args.quick = true;
    else if (arg.startsWith('--only=')) {
      args.only = arg.slice('--only='.length).split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = args.only.filter((id) => !SCENARIOS.includes(id));
      if (unknown.length > 0 || args.only.length === 0) throw new UsageError(`--only: unknown scenario ${unknown.join(', ') || '(none given)'}`);
    } else if (arg.startsWith('--baseline=')) args.baseline = arg.slice('--baseline='.length);
    else if (arg === '--help' || arg === '-h') throw new UsageError('');
    else throw new UsageError(`unknown argument ${arg}`);
  }
  return args;
}

/** What the figures were taken on: they differ between machines and Node.js versions. */
function runtimeInfo() {
  return {
    runtime: { node: process.version, v8: process.versions.v8, platform: process.platform, arch: process.arch },
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown cpu',
    cores: os.availableParallelism(),
  };
}

/** A scenario's result must be figures the tables and the results file can hold. */
function checkResult(result) {
  if (!result || !Array.isArray(result.figures)) throw new Error('run() did not return { figures: [...] }');
  for (const f of result.figures) {
    if (typeof f.id !== 'string' || typeof f.label !== 'string' || typeof f.unit !== 'string') throw new Error(`figure ${JSON.stringify(f.id)}: id, label and unit are strings`);
    if (f.value !== null && (typeof f.value !== 'number' || !Number.isFinite(f.value))) throw new Error(`figure ${f.id}: value ${f.value} is neither a finite number nor null`);
    if (f.target && !(['<=', '>=', '<'].includes(f.target.op) && Number.isFinite(f.target.value) && typeof f.target.text === 'string')) {
      throw new Error(`figure ${f.id}: target needs op (<=, >=, <), a finite value and a text`);
    }
  }
  return result;
}

/** Figures of an earlier run by scenario, for --baseline. */
function loadBaseline(file) {
  const previous = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byScenario = new Map();
  for (const s of previous.scenarios ?? []) byScenario.set(s.id, new Map((s.figures ?? []).map((f) => [f.id, f])));
  return byScenario;
}

/** Writes the results file whole or not at all (a rename), so a compared file is never half a run. */
function writeResults(file, results) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(results, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

async function main(argv) {
  let args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message ? `bench: ${err.message}\n` : ''}${USAGE}\n`);
    return err.message ? 2 : 0;
  }
  const baseline = args.baseline ? loadBaseline(path.resolve(args.baseline)) : null;
  const info = runtimeInfo();
  const startedAt = new Date().toISOString();
  const flags = argv.join(' ') || 'none';
  process.stdout.write(
    `runtime: node ${info.runtime.node} (v8 ${info.runtime.v8}), ${info.runtime.platform} ${info.runtime.arch}, ${info.cores} cores (${info.cpu}); args: ${flags}\n`,
  );

  const results = { ...info, startedAt, args: { compare: args.compare, quick: args.quick, only: args.only, argv }, scenarios: [], skipped: [] };
  let failed = 0;
  for (const id of SCENARIOS) {
    if (args.only && !args.only.includes(id)) continue;
    const file = path.join(scenariosDir, `${id}.js`);
    if (!fs.existsSync(file)) {
      process.stdout.write(`\n${id}: skipped (${path.relative(root, file)} is not there)\n`);
      results.skipped.push({ id, reason: 'not there' });
      continue;
    }
    const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), `ximp-bench-${id}-`));
    const t0 = Date.now();
    let title = id;
    try {
      const scenario = require(file);
      title = scenario.title ?? id;
      process.stdout.write(`\n## ${id}: ${title}\n`);
      const ctx = { quick: args.quick, compare: args.compare, root, tmpDir, log: (line) => process.stdout.write(`  ${line}\n`), env: process.env };
      const { figures, details } = checkResult(await scenario.run(ctx));
      process.stdout.write(`${scenarioTable(figures, baseline?.get(id) ?? (baseline ? new Map() : null))}\n(${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
      results.scenarios.push({ id, title, figures, details: details ?? {} });
    } catch (err) {
      failed++;
      process.stdout.write(`${id}: failed after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${err.stack ?? err}\n`);
      results.scenarios.push({ id, title, figures: [], details: {}, error: String(err.message ?? err) });
    } finally {
      fs.rmSync(tmpDir, { recursive: true, force: true });
    }
  }

  const withTargets = results.scenarios.filter((s) => s.figures.some((f) => f.target));
  process.stdout.write(`\n## summary: every figure with a target\n${withTargets.length ? summaryTable(withTargets) : '(none measured)'}\n`);
  const resultsFile = process.env.BENCH_RESULTS_FILE ? path.resolve(process.env.BENCH_RESULTS_FILE) : path.join(__dirname, 'results', 'latest.json');
  writeResults(resultsFile, results);
  process.stdout.write(`results: ${resultsFile}\n`);
  if (failed > 0) process.stdout.write(`${failed} scenario(s) failed\n`);
  return failed > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
    process.exitCode = 1;
  },
);
