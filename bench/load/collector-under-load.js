'use strict';
/**
 * A collector for one load scenario: prepared with `agents` tokens (bench/lib), started with the
 * node flags of BENCH_COLLECTOR_NODE_ARGS (e.g. "--cpu-prof": the profile goes to
 * BENCH_PROFILE_DIR, default bench/results/profiles, named after the scenario), its open-file
 * limit and the generator's raised to their hard limit, and always stopped. BENCH_COLLECTOR_LOG=FILE
 * appends its log (from "collector listening" on) to FILE.
 */
const fs = require('node:fs');
const path = require('node:path');
const { prepareCollector, startCollector } = require('../lib/collector-process');
const { raiseFileLimit } = require('./file-limit');

const root = path.resolve(__dirname, '../..');

function collectorNodeArgs(env, id) {
  const args = (env.BENCH_COLLECTOR_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  if (args.some((a) => a.startsWith('--cpu-prof')) && !args.some((a) => a.startsWith('--cpu-prof-dir'))) {
    const dir = path.resolve(env.BENCH_PROFILE_DIR ?? path.join(root, 'bench/results/profiles'));
    fs.mkdirSync(dir, { recursive: true });
    args.push(`--cpu-prof-dir=${dir}`, `--cpu-prof-name=${id}-${Date.now()}.cpuprofile`);
  }
  return args;
}

/**
 * Runs `fn({ prepared, collector, url, dir })` against a fresh collector and stops it afterwards.
 * `extraYaml` is appended to collector.yaml; `beforeStart(prepared, dir)` runs between the
 * preparation (PKI written) and the start; `timeline.collectorStoppedAt` is set once it exited.
 */
async function withCollector(ctx, id, { agents, extraYaml = '', tokenTtlMs, beforeStart, timeline = {} }, fn) {
  const dir = fs.mkdtempSync(path.join(ctx.tmpDir, `${id}-`));
  let collector = null;
  try {
    const prepared = await prepareCollector({ dir, agents, extraYaml, ...(tokenTtlMs ? { tokenTtlMs } : {}) });
    await beforeStart?.(prepared, dir);
    const nodeArgs = collectorNodeArgs(ctx.env, id);
    collector = await startCollector({ configFile: prepared.configFile, nodeArgs });
    if (nodeArgs.length) ctx.log(`collector node flags: ${nodeArgs.join(' ')}`);
    // BENCH_COLLECTOR_LOG=FILE keeps the collector's log (after "collector listening") for a look at its refusals and faults.
    if (ctx.env.BENCH_COLLECTOR_LOG) {
      const out = fs.createWriteStream(ctx.env.BENCH_COLLECTOR_LOG, { flags: 'a' });
      collector.child.stdout.pipe(out);
    }
    ctx.log(raiseFileLimit(process.pid).text.replace(`pid ${process.pid}`, 'the generator'));
    ctx.log(raiseFileLimit(collector.pid).text.replace(`pid ${collector.pid}`, 'the collector'));
    const url = `wss://127.0.0.1:${prepared.ports.agents}/v1/agent`;
    return await fn({ prepared, collector, url, dir });
  } finally {
    await collector?.stop();
    // Where a --cpu-prof profile ends: the window's place in it is counted back from here.
    timeline.collectorStoppedAt = performance.now();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { withCollector, collectorNodeArgs };
