/**
 * A real disk-full: the collector's data_dir on a small tmpfs. A filler file takes the last free
 * byte while two agents stream; the collector stays up, closes sessions with 1011 (agents keep
 * their batches and retry) and answers API writes with 503 and Retry-After, then the filler goes, ingest resumes, and every batch each agent
 * produced is stored exactly once.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { Collector } from '../packages/collector/src/collector';
import { loadCollectorConfig } from '../packages/collector/src/config';
import { adminApi } from './helpers/admin-api';
import { captureLogger, createToken, prepareCollector, startAgent, tempDir, waitFor, type TestAgent } from './helpers/system';
import { assertEveryBatchStoredOnce } from './helpers/stored-once';

/** Mounts an 8 MiB tmpfs at `dir`; returns why not when this machine does not allow it. */
function mountTmpfs(dir: string): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `mounting a tmpfs is not allowed here (${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()})`;
  }
}

/** Writes to `file` until the file system refuses with ENOSPC; returns the bytes written. */
function fill(file: string): number {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0xaa);
  let written = 0;
  try {
    for (;;) {
      try {
        written += fs.writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        // Take the last partial chunk's worth too.
        for (let size = chunk.length / 2; size >= 512; size /= 2) {
          try {
            written += fs.writeSync(fd, chunk.subarray(0, size));
          } catch {
            /* full at this size: try a smaller one */
          }
        }
        return written;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether this machine lets the test mount a tmpfs (root, no container refusal). */
function probeMount(): string | null {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-tmpfs-probe-'));
  try {
    const refused = mountTmpfs(dir);
    if (refused === null) execFileSync('umount', [dir]);
    return refused;
  } finally {
    fs.rmdirSync(dir);
  }
}

const refused = probeMount();
// In CI the test always runs: a refused mount there is a failure, not a skip.
const skip = refused !== null && process.env.CI !== 'true' ? refused : false;

t.test('disk full: the collector stays up, refuses with 1011, and loses nothing once space is back', { skip }, async (t) => {
  const paths = prepareCollector(t);
  const mnt = tempDir(t, 'ximp-tmpfs-');
  const failed = mountTmpfs(mnt);
  if (failed !== null) throw new Error(`the disk-full test needs a tmpfs: ${failed}`);
  // Registered before the collector's own teardown, so it runs after the collector stopped.
  t.teardown(() => {
    execFileSync('umount', ['-l', mnt]);
  });
  execFileSync('cp', ['-a', `${paths.dataDir}/.`, mnt]);

  const { log, lines } = captureLogger('ximp-collector');
  const config = loadCollectorConfig(paths.configFile);
  const collector = new Collector({ ...config, dataDir: mnt }, { log });
  await collector.start();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) await collector.stop();
    stopped = true;
  };
  t.teardown(stop);
  const apiPort = collector.apiAddress().port;
  fs.writeFileSync(paths.cliConfig, fs.readFileSync(paths.cliConfig, 'utf8').replace(/^server: .*$/m, `server: https://localhost:${apiPort}`), { mode: 0o600 });
  const url = `wss://127.0.0.1:${collector.agentAddress().port}/v1/agent`;
  const admin = await adminApi({ cliConfig: paths.cliConfig, caFile: paths.caFile, apiPort });

  const nodes = ['full-a', 'full-b'];
  const agents: TestAgent[] = [];
  for (const node of nodes) {
    const { token } = await createToken(paths.cliConfig, node);
    agents.push(await startAgent(t, { url, token, caFile: paths.caFile, node, intervalMs: 50 }));
  }
  await waitFor('agents streaming', () => agents.every((a) => a.source!.cycles > 10 && a.agent.pendingBatches() <= 2), 20_000);

  const filler = path.join(mnt, 'filler');
  const filled = fill(filler);
  t.ok(filled > 0, `filler took ${filled} bytes`);
  // Agents keep producing; the collector can no longer store, so their spools grow.
  await waitFor('batches wait in the spools', () => agents.every((a) => a.agent.pendingBatches() > 20), 30_000);
  await waitFor('a session closed with 1011', () => agents.some((a) => a.logs.some((l) => l.includes('"code":1011'))), 30_000);
  t.ok(lines.some((l) => l.includes('collector fault')), 'the storage fault is logged');
  // An admin change needs a write: the API answers 503 with Retry-After, nothing internal leaked.
  const refused = await admin('POST', '/api/v1/agent-tokens', { node: 'while-full' });
  t.equal(refused.status, 503, `a write while the disk is full: ${refused.status} ${refused.body}`);
  t.ok(Number(refused.headers['retry-after']) > 0, 'with Retry-After');
  t.notMatch(refused.body, /SQLITE|disk/i, 'no storage detail reaches the caller');
  t.equal(collector.agentAddress().port > 0, true, 'the collector is still serving');

  fs.rmSync(filler);
  await waitFor('ingest resumes and the spools drain', () => agents.every((a) => a.agent.pendingBatches() === 0), 60_000);
  const after = agents.map((a) => a.source!.cycles);
  await waitFor('still streaming', () => agents.every((a, i) => a.source!.cycles > after[i] + 5 && a.agent.pendingBatches() <= 1), 20_000);

  for (const a of agents) await a.stop();
  await stop();
  assertEveryBatchStoredOnce(t, mnt, nodes, agents);
});
