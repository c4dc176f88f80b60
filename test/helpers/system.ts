/**
 * Starts the real collector and agent on loopback (port 0) with a CA generated per run, for the
 * cross-package tests. Only the host metric source is faked (a counter), so every batch an agent
 * produced can be accounted for in the store.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@ximp/shared';
import { Agent } from '../../packages/agent/src/agent';
import { loadAgentConfig } from '../../packages/agent/src/config';
import type { SourceInstance } from '../../packages/agent/src/sources/source';
import { createAdminClientIn } from '../../packages/collector/src/auth/first-admin-client';
import { Collector, type CollectorDeps } from '../../packages/collector/src/collector';
import { loadCollectorConfig } from '../../packages/collector/src/config';
import { runInit } from '../../packages/collector/src/pki/init-command';

export const ROOT = path.resolve(__dirname, '..', '..');
export const BIN = {
  collector: path.join(ROOT, 'packages/collector/bin/ximp-collector.js'),
  agent: path.join(ROOT, 'packages/agent/bin/ximp-agent.js'),
  cli: path.join(ROOT, 'packages/collector/bin/ximp.js'),
};

interface Teardown {
  teardown(fn: () => unknown): void;
}

export function tempDir(t: Teardown, prefix = 'ximp-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A logger whose JSON lines are kept, so tests can assert what was (and was not) logged. */
export function captureLogger(name: string): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(line);
      done();
    },
  });
  return { log: createLogger({ name, level: 'debug', destination: sink }), lines };
}

export interface TestCollectorPaths {
  dir: string;
  configFile: string;
  dataDir: string;
  caFile: string;
  cliConfig: string;
}

/** Writes a collector.yaml on loopback and runs `init` in-process, as an operator would once. */
export function prepareCollector(t: Teardown, extraYaml = '', ports = { agents: 0, api: 0 }): TestCollectorPaths {
  const dir = tempDir(t);
  const configFile = path.join(dir, 'collector.yaml');
  writeCollectorConfig(configFile, ports, extraYaml);
  const config = loadCollectorConfig(configFile);
  const cliConfig = path.join(dir, 'cli.yaml');
  runInit({
    config,
    hostnames: [],
    cliConfigPath: cliConfig,
    createAdminClient: (name: string) => createAdminClientIn(config.dataDir, name),
  });
  return { dir, configFile, dataDir: config.dataDir, caFile: path.join(config.dataDir, 'pki', 'ca.pem'), cliConfig };
}

export function writeCollectorConfig(file: string, ports: { agents: number; api: number }, extraYaml = ''): void {
  fs.writeFileSync(
    file,
    [
      'data_dir: data',
      'listen:',
      `  agents: "127.0.0.1:${ports.agents}"`,
      `  api: "127.0.0.1:${ports.api}"`,
      'limits:',
      '  ping_interval: 1s',
      extraYaml,
      '',
    ].join('\n'),
  );
}

export interface TestCollector extends TestCollectorPaths {
  collector: Collector;
  agentUrl: string;
  apiPort: number;
  logs: string[];
  stop(): Promise<void>;
}

/** The real collector in this process, listening on loopback ports chosen by the kernel. */
export async function startCollector(t: Teardown, extraYaml = '', deps: Omit<CollectorDeps, 'log'> = {}): Promise<TestCollector> {
  return startPreparedCollector(t, prepareCollector(t, extraYaml), deps);
}

/** The real collector in this process, from a config already written and initialised (prepareCollector). */
export async function startPreparedCollector(t: Teardown, paths: TestCollectorPaths, deps: Omit<CollectorDeps, 'log'> = {}): Promise<TestCollector> {
  const { log, lines } = captureLogger('ximp-collector');
  const collector = new Collector(loadCollectorConfig(paths.configFile), { ...deps, log });
  await collector.start();
  // init wrote the configured API port (0 here); point the CLI at the port the kernel chose.
  const apiPort = collector.apiAddress().port;
  const cli = fs.readFileSync(paths.cliConfig, 'utf8').replace(/^server: .*$/m, `server: https://localhost:${apiPort}`);
  fs.writeFileSync(paths.cliConfig, cli, { mode: 0o600 });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await collector.stop();
  };
  t.teardown(stop);
  return {
    ...paths,
    collector,
    agentUrl: `wss://127.0.0.1:${collector.agentAddress().port}/v1/agent`,
    apiPort,
    logs: lines,
    stop,
  };
}

/** Picks a port the kernel considers free right now (bind 127.0.0.1:0, read, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `ximp` CLI as a child process (asynchronously: the collector may be in this process). */
export function runCli(cliConfig: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN.cli, ...args],
      // The CLI's token cache beside the test's CLI config, never in the home folder of the machine.
      { env: { ...process.env, XIMP_CLI_CONFIG: cliConfig, XDG_CACHE_HOME: path.join(path.dirname(cliConfig), 'cache'), ...env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export async function createToken(cliConfig: string, node: string, extra: string[] = []): Promise<{ id: string; token: string; node: string; expires: string }> {
  const res = await runCli(cliConfig, ['agent', 'token', 'create', '--node', node, '--output', 'json', ...extra]);
  if (res.code !== 0) throw new Error(`token create failed (${res.code}): ${res.stderr}`);
  return JSON.parse(res.stdout);
}

export async function agentList(cliConfig: string): Promise<{ node: string; state: string; last_seen: string | null; address: string | null; token: string | null }[]> {
  const res = await runCli(cliConfig, ['agent', 'list', '--output', 'json']);
  if (res.code !== 0) throw new Error(`agent list failed (${res.code}): ${res.stderr}`);
  return JSON.parse(res.stdout);
}

/**
 * A source whose every sample can be accounted for: `cycles` counts the cycles that produced
 * points; a paused source produces none, so `cycles` is final once it is paused.
 */
export interface CountingSource extends SourceInstance {
  cycles: number;
  paused: boolean;
}

/** A source that counts cycles: every batch carries one point whose value is its cycle number. */
export function counterSource(): CountingSource {
  const source = {
    name: 'counter',
    cycles: 0,
    paused: false,
    async collect() {
      if (source.paused) return [];
      source.cycles++;
      return [{ name: 'ximp_test_cycle', labels: {}, value: source.cycles }];
    },
  };
  return source;
}

export interface AgentYamlOptions {
  url: string;
  token: string;
  caFile: string;
  node: string;
  spoolDir: string;
  /** The interval written to agent.yaml (at least 1s, as the config requires). */
  interval?: string;
  extra?: string;
}

export function writeAgentConfig(file: string, o: AgentYamlOptions): void {
  fs.writeFileSync(
    file,
    [
      'server:',
      `  url: ${o.url}`,
      `  auth_token: ${o.token}`,
      `  ca_file: ${o.caFile}`,
      `node: ${o.node}`,
      `interval: ${o.interval ?? '1s'}`,
      'spool:',
      `  dir: ${o.spoolDir}`,
      '  max_bytes: 16MiB',
      o.extra ?? '',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
}

export interface TestAgent {
  agent: Agent;
  configFile: string;
  spoolDir: string;
  logs: string[];
  source: CountingSource | undefined;
  stop(): Promise<void>;
}

/** The real agent in this process; its metric source is a counter unless `realSources` is set. */
export async function startAgent(
  t: Teardown,
  o: Omit<AgentYamlOptions, 'spoolDir' | 'interval'> & {
    spoolDir?: string;
    realSources?: boolean;
    sources?: SourceInstance[];
    intervalMs?: number;
    now?: () => number;
    newStreamAfterSeries?: number;
  },
): Promise<TestAgent> {
  const dir = tempDir(t, 'ximp-agent-');
  const spoolDir = o.spoolDir ?? path.join(dir, 'spool');
  const configFile = path.join(dir, 'agent.yaml');
  writeAgentConfig(configFile, { ...o, spoolDir, interval: '1s' });
  const { log, lines } = captureLogger('ximp-agent');
  const source = o.realSources || o.sources ? undefined : counterSource();
  // agent.yaml refuses intervals under 1 s; tests run faster cycles on the loaded config object.
  const config = { ...loadAgentConfig(configFile), intervalMs: o.intervalMs ?? 1000 };
  const agent = new Agent(config, {
    log,
    now: o.now,
    newStreamAfterSeries: o.newStreamAfterSeries,
    sources: o.sources ?? (source ? [source] : undefined),
    hostFacts: async () => ({
      hostname: o.node,
      os: 'test',
      kernel: os.release(),
      arch: os.arch(),
      cpuModel: 'test',
      cpuCount: 1,
      memoryBytes: os.totalmem(),
      virtualization: '',
    }),
  });
  await agent.start();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await agent.stop();
  };
  t.teardown(stop);
  return { agent, configFile, spoolDir, logs: lines, source, stop };
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A child process that is killed when the test ends, whatever happens. */
export function spawnNode(t: Teardown, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return Object.assign(child, { output: () => output });
}
