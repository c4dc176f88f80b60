/**
 * The bench cannot rot: `node bench/run.js --quick` (with --compare where Debian's node_exporter
 * is installed) runs every scenario there is, prints a table for each and writes a results file
 * whose figures are numbers. No speed figure is asserted: the machine is shared and --quick
 * figures mean nothing. The runner's own rules (a missing scenario is skipped, a failing one
 * fails the run without stopping the others, a figure meets its target or not) are shown on
 * scenarios written here, and the agent's start-up flags on unit texts.
 */
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { ROOT, tempDir } from './helpers/system';

interface Figure {
  id: string;
  label: string;
  value: number | null;
  unit: string;
  target?: { op: string; value: number; text: string };
}
interface Results {
  runtime: { node: string };
  cores: number;
  startedAt: string;
  args: { quick: boolean; compare: boolean };
  scenarios: { id: string; title: string; figures: Figure[]; error?: string }[];
  skipped: { id: string }[];
}

const RUN = path.join(ROOT, 'bench/run.js');
const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter';

// The quick run takes 90-100 s on two busy cores, too near the 120 s per-file timeout of .taprc:
// the file gets the time its first test allows, and the rest.
t.setTimeout(330_000);

/**
 * Runs bench/run.js in a process group of its own: past timeoutMs the whole group is killed, so a
 * stuck run leaves no collector, agent or node_exporter behind.
 */
function runBench(t: Test, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; signal: string | null; out: string; leftBehind: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    };
    const timer = setTimeout(killGroup, timeoutMs);
    t.teardown(killGroup);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // Anything still in the group (a collector, an agent, node_exporter) was left running.
      let leftBehind = true;
      try {
        process.kill(-child.pid!, 0);
      } catch {
        leftBehind = false;
      }
      resolve({ code, signal, out, leftBehind });
    });
  });
}

/** The scenario ids bench/run.js runs, in its order, and which of them exist in this tree. */
function scenarioModules(): string[] {
  return fs
    .readdirSync(path.join(ROOT, 'bench/scenarios'))
    .filter((f) => f.endsWith('.js'))
    .map((f) => f.slice(0, -3));
}

/** The lines of the table printed under `## <id>:`, up to the next blank line. */
function tableOf(out: string, id: string): string[] {
  const start = out.indexOf(`\n## ${id}:`);
  if (start < 0) return [];
  const lines = out.slice(start + 1).split('\n');
  const first = lines.findIndex((l) => l.startsWith('| figure'));
  if (first < 0) return [];
  const rows: string[] = [];
  for (const l of lines.slice(first)) {
    if (!l.startsWith('|')) break;
    rows.push(l);
  }
  return rows;
}

t.test('bench --quick runs every scenario, prints its table and writes numeric figures', { timeout: 260_000 }, async (t) => {
  const dir = tempDir(t, 'ximp-bench-smoke-');
  const resultsFile = path.join(dir, 'latest.json');
  const compare = fs.existsSync(NODE_EXPORTER);
  const args = ['--quick', ...(compare ? ['--compare'] : [])];
  const started = Date.now();
  const { code, signal, out, leftBehind } = await runBench(t, args, { BENCH_RESULTS_FILE: resultsFile }, 240_000);
  t.comment(`bench ${args.join(' ')} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  t.equal(code, 0, `exits 0 (signal ${signal})\n${out.slice(-4000)}`);
  t.notOk(leftBehind, 'no process of the run is left running');
  t.match(out, /^runtime: node v\d+/, 'the first line names the runtime');

  const results = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as Results;
  t.equal(results.runtime.node, process.version);
  t.ok(results.cores >= 1 && !Number.isNaN(Date.parse(results.startedAt)), 'cores and start time recorded');
  t.same({ quick: results.args.quick, compare: results.args.compare }, { quick: true, compare });
  t.notOk(fs.existsSync(path.join(ROOT, 'bench/results', `latest.json.${process.pid}.tmp`)), 'nothing half-written left in the repository');

  const modules = scenarioModules();
  t.ok(modules.includes('agent-footprint'), 'agent-footprint is among the scenarios');
  for (const id of modules) {
    const table = tableOf(out, id);
    t.ok(table.length >= 3, `${id} printed a table with figures`);
    const scenario = results.scenarios.find((s) => s.id === id);
    t.ok(scenario, `${id} is in the results file`);
    if (!scenario) continue;
    t.equal(scenario.error, undefined, `${id} did not fail`);
    t.ok(scenario.figures.length > 0, `${id} has figures`);
    t.equal(table.length - 2, scenario.figures.length, `${id}: one table row per figure`);
    for (const f of scenario.figures) {
      t.ok(f.value === null || (typeof f.value === 'number' && Number.isFinite(f.value)), `${id}/${f.id} is a number or null (${f.value})`);
      t.ok(typeof f.unit === 'string' && typeof f.label === 'string', `${id}/${f.id} has a label and a unit`);
    }
    t.ok(scenario.figures.some((f) => typeof f.value === 'number'), `${id} measured something`);
  }

  const footprint = results.scenarios.find((s) => s.id === 'agent-footprint')!;
  const ids = footprint.figures.map((f) => f.id);
  t.ok(['agent-cpu-per-cycle', 'agent-rss', 'bare-node-rss', 'agent-sources-cpu-per-cycle'].every((id) => ids.includes(id)), `agent figures: ${ids.join(', ')}`);
  const fig = (id: string) => footprint.figures.find((f) => f.id === id);
  if (compare) {
    t.ok((fig('node-exporter-series')?.value ?? 0) > 0, 'node_exporter was scraped beside the agent');
    t.equal(fig('agent-cpu-per-cycle')?.target?.op, '<=', 'the agent CPU target is relative to node_exporter in the same run');
    t.match(out, /## summary: every figure with a target\n\| scenario/, 'the summary table lists the figures with a target');
  } else {
    t.equal(fig('agent-cpu-per-cycle')?.target, undefined, 'without node_exporter the relative target is left out, not guessed');
  }
});

t.test('the runner skips a missing scenario, fails the run on a failing one and runs the rest', async (t) => {
  const dir = tempDir(t, 'ximp-bench-runner-');
  const scenarios = path.join(dir, 'scenarios');
  fs.mkdirSync(scenarios);
  fs.writeFileSync(
    path.join(scenarios, 'revocation.js'),
    `module.exports = { id: 'revocation', title: 'a made-up scenario', async run(ctx) {
      ctx.log('quick ' + ctx.quick + ', compare ' + ctx.compare + ', tmp ' + require('node:fs').existsSync(ctx.tmpDir));
      return { figures: [
        { id: 'fast', label: 'fast enough', value: 800, unit: 'ms', target: { op: '<=', value: 1000, text: '≤ 1 s' } },
        { id: 'slow', label: 'too slow', value: 2500, unit: 'ms', target: { op: '<', value: 2000, text: '< 2 s' } },
        { id: 'plain', label: 'no target', value: 3, unit: 'x', note: 'made up' },
      ], details: { made: 'up' } };
    } };\n`,
  );
  fs.writeFileSync(path.join(scenarios, 'agent-footprint.js'), `module.exports = { id: 'agent-footprint', title: 'breaks', async run() { throw new Error('broken on purpose'); } };\n`);
  const resultsFile = path.join(dir, 'out', 'latest.json');
  const { code, out } = await runBench(t, ['--quick'], { BENCH_RESULTS_FILE: resultsFile, BENCH_SCENARIOS_DIR: scenarios }, 30_000);
  t.equal(code, 1, `a failing scenario fails the run\n${out}`);
  for (const id of ['collector-ceiling', 'collector-latency', 'fleet-connect', 'idle-agents', 'remote-write']) {
    t.match(out, new RegExp(`\\n${id}: skipped \\(.*${id}\\.js is not there\\)`), `${id} is skipped with a line`);
  }
  t.match(out, /quick true, compare false, tmp true/, 'the scenario got its context');
  t.match(out, /agent-footprint: failed after .*broken on purpose/);
  const rows = tableOf(out, 'revocation');
  t.match(rows[0], /\| figure +\| measured +\| target +\| anchor +\| met +\|/);
  t.match(rows[2], /fast enough +\| 800 ms +\| ≤ 1 s +\| — +\| yes/);
  t.match(rows[3], /too slow +\| 2,500 ms +\| < 2 s +\| — +\| no/);
  t.match(rows[4], /no target \[1\] +\| 3 x +\| — +\| — +\| — /);
  t.match(out, /\n\| no target .*\n\[1\] made up\n/, 'a note is a numbered line under the table');
  const summary = out.slice(out.indexOf('## summary'));
  t.match(summary, /revocation +\| fast enough/);
  t.notMatch(summary, /no target/, 'the summary holds only figures with a target');

  const results = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as Results;
  t.same(
    results.scenarios.map((s) => [s.id, s.figures.length, s.error ?? null]),
    [
      ['revocation', 3, null],
      ['agent-footprint', 0, 'broken on purpose'],
    ],
  );
  t.same(results.skipped.map((s) => s.id), ['collector-ceiling', 'collector-latency', 'fleet-connect', 'idle-agents', 'remote-write']);

  // --baseline: the earlier run's figure beside this one's.
  const again = await runBench(t, ['--quick', '--only=revocation', `--baseline=${resultsFile}`], { BENCH_RESULTS_FILE: path.join(dir, 'second.json'), BENCH_SCENARIOS_DIR: scenarios }, 30_000);
  t.equal(again.code, 0, again.out);
  t.match(tableOf(again.out, 'revocation')[2], /fast enough +\| 800 ms +\| 800 ms +\| ≤ 1 s/);

  const usage = await runBench(t, ['--only=nonsense'], { BENCH_RESULTS_FILE: path.join(dir, 'never.json') }, 30_000);
  t.equal(usage.code, 2, 'an unknown scenario is a usage error');
  t.match(usage.out, /unknown scenario nonsense/);
  t.notOk(fs.existsSync(path.join(dir, 'never.json')), 'and nothing ran');
});

t.test("the agent's node flags come from its systemd unit", async (t) => {
  const { unitNodeFlags, agentCommand, agentEnv } = require(path.join(ROOT, 'bench/lib/agent-command.js')) as {
    unitNodeFlags: (text: string) => { nodeArgs: string[]; nodeOptions: string | null };
    agentCommand: (root: string) => { script: string; nodeArgs: string[]; nodeOptions: string | null; describe: string };
    agentEnv: (c: { nodeOptions: string | null }, env: NodeJS.ProcessEnv) => NodeJS.ProcessEnv;
  };
  t.same(unitNodeFlags('[Service]\nExecStart=/usr/bin/ximp-agent --config /etc/ximp/agent.yaml\n'), { nodeArgs: [], nodeOptions: null }, 'none in the unit as it is');
  t.same(
    unitNodeFlags(
      [
        '[Service]',
        '# ExecStart=/usr/bin/node --commented-out',
        'Environment="NODE_OPTIONS=--max-semi-space-size=1 --max-old-space-size=48" LANG=C',
        'ExecStart=-/usr/bin/node --single-threaded-gc --stack-size=500 /usr/lib/ximp/ximp-agent.bundle.js --config /etc/ximp/agent.yaml',
      ].join('\n'),
    ),
    { nodeArgs: ['--single-threaded-gc', '--stack-size=500'], nodeOptions: '--max-semi-space-size=1 --max-old-space-size=48' },
    'flags between node and the script, NODE_OPTIONS from Environment=',
  );
  const command = agentCommand(ROOT);
  const bundle = path.join(ROOT, 'packages/agent/dist/ximp-agent.bundle.js');
  t.equal(command.script, fs.existsSync(bundle) ? bundle : path.join(ROOT, 'packages/agent/bin/ximp-agent.js'), 'the bundle when the build made one');
  const env = agentEnv({ nodeOptions: null }, { NODE_OPTIONS: '--import=something', PATH: '/usr/bin' });
  t.same(env, { PATH: '/usr/bin' }, "the bench's own NODE_OPTIONS never reach the agent");
});
