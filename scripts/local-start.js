#!/usr/bin/env node
'use strict';
/**
 * `npm start`: a collector and an agent for this host on loopback, without root (SPEC §13).
 * Everything lives in .ximp-local/ at the repository root; a second run reuses it.
 */
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const https = require('node:https');
const { spawn, spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
// XIMP_LOCAL_DIR moves the folder (the tests use a temporary one); the default is .ximp-local/.
const local = path.resolve(process.env.XIMP_LOCAL_DIR || path.join(root, '.ximp-local'));
const files = {
  collectorConfig: path.join(local, 'collector.yaml'),
  agentConfig: path.join(local, 'agent.yaml'),
  cliConfig: path.join(local, 'cli.yaml'),
  data: path.join(local, 'data'),
  spool: path.join(local, 'spool'),
  collectorLog: path.join(local, 'collector.log'),
  agentLog: path.join(local, 'agent.log'),
};
const bins = {
  collector: path.join(root, 'packages/collector/bin/ximp-collector.js'),
  agent: path.join(root, 'packages/agent/bin/ximp-agent.js'),
  cli: path.join(root, 'packages/collector/bin/ximp.js'),
};
const env = { ...process.env, XIMP_CLI_CONFIG: files.cliConfig };

function say(line) {
  process.stdout.write(`${line}\n`);
}

function fail(message) {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(1);
}

/** A free loopback port, chosen once and written into collector.yaml. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function readPorts() {
  const text = fs.readFileSync(files.collectorConfig, 'utf8');
  const agents = /agents:\s*"?127\.0\.0\.1:(\d+)/.exec(text);
  const api = /api:\s*"?127\.0\.0\.1:(\d+)/.exec(text);
  if (!agents || !api) fail(`${files.collectorConfig} no longer has loopback listen addresses; remove .ximp-local/ to start over`);
  return { agents: Number(agents[1]), api: Number(api[1]) };
}

/** This host's name as a node name: lowercase DNS-style. */
function nodeName() {
  const name = os.hostname().toLowerCase().replace(/[^a-z0-9.-]/g, '-').replace(/^[^a-z0-9]+/, '');
  return name.slice(0, 253) || 'localhost';
}

function waitForApi(port, deadlineMs) {
  const ca = fs.readFileSync(path.join(files.data, 'pki', 'ca.pem'));
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const req = https.get({ host: '127.0.0.1', port, path: '/healthz', ca, servername: 'localhost', minVersion: 'TLSv1.3' }, (res) => {
        res.resume();
        if (res.statusCode === 200) resolve();
        else retry();
      });
      req.on('error', retry);
      req.setTimeout(1000, () => req.destroy());
    };
    const retry = () => {
      if (Date.now() > deadlineMs) reject(new Error(`the collector's API did not answer on 127.0.0.1:${port}; see ${files.collectorLog}`));
      else setTimeout(attempt, 200);
    };
    attempt();
  });
}

function startProcess(name, bin, args, logFile, { exitStops = true } = {}) {
  const out = fs.openSync(logFile, 'a', 0o600);
  const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  if (exitStops) watchExit(name, child, logFile);
  return child;
}

/** When one process dies on its own, stop the other too: half a system helps nobody. */
function watchExit(name, child, logFile) {
  child.on('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited (${signal ?? code}); its log: ${path.relative(root, logFile)}`);
      shutdown(1);
    }
  });
}

/** init wrote cli.yaml for the API port of its time; keep it pointing at the current one. */
function pointCliAt(apiPort) {
  const text = fs.readFileSync(files.cliConfig, 'utf8').replace(/^server: .*$/m, `server: "https://localhost:${apiPort}"`);
  fs.writeFileSync(files.cliConfig, text, { mode: 0o600 });
}

/** collector.yaml with two free loopback ports, chosen now. */
async function writeCollectorConfig() {
  const agentsPort = await freePort();
  let apiPort = await freePort();
  while (apiPort === agentsPort) apiPort = await freePort();
  fs.writeFileSync(
    files.collectorConfig,
    [
      '# Written by `npm start` on its first run; free loopback ports were chosen then.',
      'data_dir: data',
      'listen:',
      `  agents: "127.0.0.1:${agentsPort}"`,
      `  api: "127.0.0.1:${apiPort}"`,
      'log:',
      '  level: info',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  say(`wrote ${path.relative(root, files.collectorConfig)} (agents on 127.0.0.1:${agentsPort}, API on 127.0.0.1:${apiPort})`);
}

/** The dashboard's first user, made by the first run. */
const DASHBOARD_ADMIN = 'admin';

/**
 * A local admin user for the dashboard when there is none yet (`ximp user create`); its one-time
 * password is returned to be shown once, never written anywhere. null when the user existed.
 */
function ensureDashboardAdmin() {
  const listed = spawnSync(process.execPath, [bins.cli, 'user', 'list', '--output', 'json'], { env, encoding: 'utf8' });
  if (listed.status !== 0) fail(`listing the dashboard users failed:\n${listed.stderr}`);
  const users = JSON.parse(listed.stdout);
  const list = Array.isArray(users) ? users : users.users;
  if (list.some((u) => u.name === DASHBOARD_ADMIN)) return { password: null };
  const created = spawnSync(process.execPath, [bins.cli, 'user', 'create', '--name', DASHBOARD_ADMIN, '--role', 'monitoring-admin', '--output', 'json'], { env, encoding: 'utf8' });
  if (created.status !== 0) fail(`creating the dashboard's admin user failed:\n${created.stderr}`);
  return { password: JSON.parse(created.stdout).password };
}

let stopping = false;
const children = [];

function shutdown(code) {
  if (stopping) return;
  stopping = true;
  say('stopping the agent and the collector...');
  // The agent first, so it can flush to a collector that is still there.
  const [collector, agent] = children;
  const stopOne = (child) =>
    new Promise((resolve) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 12_000).unref();
    });
  stopOne(agent)
    .then(() => stopOne(collector))
    .then(() => {
      say('stopped.');
      process.exit(code);
    })
    .catch((err) => fail(`stopping failed: ${err.message}`));
}

async function main() {
  fs.mkdirSync(local, { recursive: true, mode: 0o700 });
  const fresh = !fs.existsSync(files.collectorConfig);
  if (fresh) await writeCollectorConfig();
  let ports = readPorts();

  if (!fs.existsSync(path.join(files.data, 'pki', 'ca.pem'))) {
    const init = spawnSync(process.execPath, [bins.collector, 'init', '--config', files.collectorConfig], { env, encoding: 'utf8' });
    if (init.status !== 0) fail(`ximp-collector init failed:\n${init.stderr}`);
    say('created the CA, the certificates, an admin API client and .ximp-local/cli.yaml');
  }

  // A port chosen free can be taken by another program before the collector binds it: on a first
  // run, choose again rather than fail.
  for (let attempt = 1; ; attempt++) {
    const collector = startProcess('ximp-collector', bins.collector, ['--config', files.collectorConfig], files.collectorLog, { exitStops: false });
    const exited = new Promise((resolve) => collector.once('exit', () => resolve('exited')));
    const up = waitForApi(ports.api, Date.now() + 30_000).then(() => 'up', (err) => err);
    const outcome = await Promise.race([up, exited]);
    if (outcome instanceof Error) fail(outcome.message);
    if (outcome === 'up') {
      watchExit('ximp-collector', collector, files.collectorLog);
      children.push(collector);
      break;
    }
    if (!fresh || attempt === 3) fail(`the collector exited at start; its log: ${path.relative(root, files.collectorLog)}`);
    await writeCollectorConfig();
    ports = readPorts();
    pointCliAt(ports.api);
  }

  const node = nodeName();
  if (!fs.existsSync(files.agentConfig)) {
    const created = spawnSync(process.execPath, [bins.cli, 'agent', 'token', 'create', '--node', node, '--output', 'json'], { env, encoding: 'utf8' });
    if (created.status !== 0) fail(`creating the agent token failed:\n${created.stderr}`);
    const { token } = JSON.parse(created.stdout);
    fs.writeFileSync(
      files.agentConfig,
      [
        '# Written by `npm start` on its first run. Holds this node\'s token: keep it 0600.',
        'server:',
        `  url: wss://localhost:${ports.agents}/v1/agent`,
        `  auth_token: ${token}`,
        '  ca_file: data/pki/ca.pem',
        `node: ${node}`,
        'interval: 5s',
        'spool:',
        '  dir: spool',
        '  max_bytes: 64MiB',
        'log:',
        '  level: info',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    say(`created a token for node "${node}" and wrote ${path.relative(root, files.agentConfig)}`);
  }
  children.push(startProcess('ximp-agent', bins.agent, ['--config', files.agentConfig], files.agentLog));
  const admin = ensureDashboardAdmin();

  say('');
  say(`XIMP is running: collector (agents 127.0.0.1:${ports.agents}, API https://localhost:${ports.api}) and an agent for "${node}".`);
  const shown = path.relative(root, local) || '.';
  say(`Logs: ${shown}/collector.log and ${shown}/agent.log. Press Ctrl-C to stop both.`);
  say('');
  say(`Dashboard: https://localhost:${ports.api}/ (the certificate is from ${shown}/data/pki/ca.pem: trust it in the browser, or accept the warning once)`);
  if (admin.password !== null) {
    say(`  sign in as "${DASHBOARD_ADMIN}" with the one-time password ${admin.password}`);
    say('  (shown once; you choose your own password at the first sign-in)');
  } else {
    say(`  sign in as "${DASHBOARD_ADMIN}"; a new one-time password: npm run -s ximp -- user reset-password ${DASHBOARD_ADMIN}`);
  }
  say('');
  say('Next, in another terminal:');
  say(`  XIMP_CLI_CONFIG=${shown}/cli.yaml npx ximp agent list`);
  say('  npm run -s ximp -- agent token list        (the same CLI, shorter)');
  say('');
}

process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
main().catch((err) => {
  process.stderr.write(`npm start: ${err.message}\n`);
  shutdown(1);
});
