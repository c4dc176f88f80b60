'use strict';
/**
 * A real collector for the bench: a data directory with its PKI, an admin client and agent tokens
 * (prepareCollector), and the collector process itself (startCollector).
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { freePort } = require('./free-port');

const root = path.resolve(__dirname, '../..');
const dist = (p) => path.join(root, 'packages/collector/dist', p);

/**
 * Writes `dir/collector.yaml` (listeners on free loopback ports, data in `dir/data`, then
 * `extraYaml` verbatim), runs `ximp-collector init` in-process (CA, server certificate, first admin
 * client written to `dir/cli.yaml`) and creates `agents` tokens in one transaction: token i is for
 * node `bench-<i>`.
 */
async function prepareCollector({ dir, agents, tokenTtlMs = 24 * 3600 * 1000, extraYaml = '' }) {
  const { loadCollectorConfig } = require(dist('config.js'));
  const { runInit } = require(dist('pki/init-command.js'));
  const { openDatabase } = require(dist('store/database.js'));
  const { createAdminClientIn } = require(dist('auth/first-admin-client.js'));
  const { AgentTokenStore } = require(dist('auth/agent-token-store.js'));

  const ports = { agents: await freePort(), api: await freePort() };
  const configFile = path.join(dir, 'collector.yaml');
  const lines = ['data_dir: data', 'listen:', `  agents: "127.0.0.1:${ports.agents}"`, `  api: "127.0.0.1:${ports.api}"`, 'log:', '  level: info', ''];
  fs.writeFileSync(configFile, lines.join('\n') + (extraYaml ? `${extraYaml.replace(/\n?$/, '\n')}` : ''));
  const config = loadCollectorConfig(configFile);
  const cliConfig = path.join(dir, 'cli.yaml');
  runInit({ config, hostnames: [], cliConfigPath: cliConfig, createAdminClient: (name) => createAdminClientIn(config.dataDir, name) });
  const db = openDatabase(config.dataDir);
  const tokens = [];
  const tokenIds = [];
  try {
    const store = new AgentTokenStore(db);
    db.transaction(() => {
      for (let i = 0; i < agents; i++) {
        const created = store.create(`bench-${i}`, tokenTtlMs, Date.now());
        tokens.push(created.token);
        tokenIds.push(created.id);
      }
    })();
  } finally {
    db.close();
  }
  const caFile = path.join(config.dataDir, 'pki', 'ca.pem');
  return { configFile, dataDir: config.dataDir, ports, ca: fs.readFileSync(caFile), caFile, cliConfig, tokens, tokenIds };
}

/**
 * Starts the collector on `configFile` (with `nodeArgs` before the script, e.g. `--cpu-prof`) and
 * resolves once it logged "collector listening". stop() sends SIGTERM (SIGKILL 30 s later) and
 * resolves on exit (a --cpu-prof profile is written then).
 */
async function startCollector({ configFile, nodeArgs = [], startTimeoutMs = 30_000, stderr = 'inherit' }) {
  const child = spawn(process.execPath, [...nodeArgs, path.join(root, 'packages/collector/bin/ximp-collector.js'), '--config', configFile], {
    cwd: path.dirname(configFile),
    stdio: ['ignore', 'pipe', stderr],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let out = '';
  const onData = (c) => {
    out += c.toString();
    if (out.length > 65536) out = out.slice(-65536);
  };
  child.stdout.on('data', onData);
  const deadline = Date.now() + startTimeoutMs;
  while (!out.includes('collector listening')) {
    if (Date.now() > deadline || child.exitCode !== null || child.signalCode !== null) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`collector did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // Keep draining its stdout so a chatty collector never blocks on a full pipe.
  child.stdout.off('data', onData);
  child.stdout.resume();
  // A collector that does not stop within 30 s is killed: the bench must never leave one behind.
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(killer);
  };
  return { pid: child.pid, child, stop };
}

module.exports = { prepareCollector, startCollector, freePort };
