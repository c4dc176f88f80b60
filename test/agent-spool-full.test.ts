/**
 * A full spool disk is a counted, logged condition, never a crash: the cycles that cannot be
 * spooled are dropped, counted and reported to the collector in the next batch's dropped total,
 * the fault is logged once a minute (not once a cycle), what is already spooled keeps going out,
 * and the agent recovers by itself when space returns.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SourceInstance } from '../packages/agent/src/sources/source';
import { FAKE_TOKEN, startFakeCollector, type FakeCollector } from './helpers/fake-collector';
import { startAgent, waitFor } from './helpers/system';

/** A source of `width` series whose values count cycles. */
function wideSource(width: number): SourceInstance & { cycles: number } {
  const source = {
    name: 'wide',
    cycles: 0,
    async collect() {
      source.cycles++;
      return Array.from({ length: width }, (_, i) => ({ name: 'ximp_test_wide', labels: { i: String(i) }, value: source.cycles }));
    },
  };
  return source;
}

/** Every batch the fake collector received, in order, across sessions. */
const received = (fake: FakeCollector) => fake.sessions.flatMap((s) => s.batches);

/** The distinct sequences received, and the same sorted: equal when nothing went out of order. */
function order(fake: FakeCollector): [number[], number[]] {
  const sequences = [...new Set(received(fake).map((b) => b.sequence))];
  return [sequences, [...sequences].sort((x, y) => x - y)];
}

/** Null when this machine lets the test mount a tmpfs, else why not. */
function tmpfsRefusal(): string | null {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir]);
    return null;
  } catch (err) {
    const detail = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim();
    return `mounting a tmpfs was refused (${detail}): this test needs root with CAP_SYS_ADMIN`;
  } finally {
    fs.rmdirSync(dir);
  }
}

t.test('injected ENOSPC and EIO on spool writes: batches dropped and reported, the agent keeps going', async (t) => {
  const fake = await startFakeCollector(t);
  const source = wideSource(50);
  const a = await startAgent(t, { url: fake.url, token: FAKE_TOKEN, caFile: fake.caFile, node: 'full-injected', intervalMs: 100, sources: [source] });
  await waitFor('a few batches acknowledged', () => received(fake).length >= 3 && a.agent.pendingBatches() === 0);

  // Every write and fsync of the agent's files fails, as on a full or failing disk.
  const probe = await fsp.open(path.join(a.spoolDir, '.probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as Record<string, (...args: unknown[]) => Promise<unknown>>;
  await probe.close();
  await fsp.rm(path.join(a.spoolDir, '.probe'));
  const original = { write: proto.write, sync: proto.sync, writeFile: proto.writeFile };
  let fault: string | undefined;
  for (const name of ['write', 'sync', 'writeFile'] as const) {
    proto[name] = function (this: unknown, ...args: unknown[]) {
      if (fault) return Promise.reject(Object.assign(new Error(`${fault}: injected`), { code: fault }));
      return original[name].apply(this, args);
    };
  }
  t.teardown(() => Object.assign(proto, original));
  // The segment log writes synchronously: its writes and syncs fail too, for files in the spool.
  const nodeFs = createRequire(__filename)('node:fs') as Record<string, (fd: unknown, ...args: unknown[]) => unknown>;
  const originalSync = { writeSync: nodeFs.writeSync, fdatasyncSync: nodeFs.fdatasyncSync, fsyncSync: nodeFs.fsyncSync };
  const inSpool = (fd: unknown): boolean => {
    try {
      return typeof fd === 'number' && fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(a.spoolDir);
    } catch {
      return false;
    }
  };
  for (const name of ['writeSync', 'fdatasyncSync', 'fsyncSync'] as const) {
    nodeFs[name] = function (this: unknown, fd: unknown, ...args: unknown[]) {
      if (fault && inSpool(fd)) throw Object.assign(new Error(`${fault}: injected`), { code: fault });
      return originalSync[name].call(this, fd, ...args);
    };
  }
  const originalFdatasync = nodeFs.fdatasync;
  nodeFs.fdatasync = function (this: unknown, fd: unknown, ...args: unknown[]) {
    const done = args[args.length - 1] as (err: Error | null) => void;
    if (fault && inSpool(fd)) return process.nextTick(done, Object.assign(new Error(`${fault}: injected`), { code: fault }));
    return originalFdatasync.call(this, fd, ...args);
  };
  t.teardown(() => Object.assign(nodeFs, originalSync, { fdatasync: originalFdatasync }));

  const cyclesBefore = source.cycles;
  fault = 'ENOSPC';
  await waitFor('cycles fail for a while', () => source.cycles >= cyclesBefore + 5);
  fault = 'EIO';
  await waitFor('and some more', () => source.cycles >= cyclesBefore + 10);
  fault = undefined;
  const failed = source.cycles - cyclesBefore;

  const reported = await waitFor('a batch reports the drops', () => received(fake).find((b) => b.droppedBatchesTotal >= 8));
  t.ok(reported.droppedBatchesTotal <= failed + 1, `${reported.droppedBatchesTotal} batches reported dropped for about ${failed} failed cycles`);
  await waitFor('everything spooled since is acknowledged', () => a.agent.pendingBatches() === 0 && source.cycles >= cyclesBefore + failed + 3);
  const lines = a.logs.filter((l) => l.includes('spool write failed, batch dropped'));
  t.ok(lines.length >= 1 && lines.length <= 2, `logged ${lines.length} time(s) (once per kind a minute), not once a cycle`);
  t.match(lines[0], /"count":1/);
  t.notOk(a.logs.some((l) => l.includes('collection cycle failed')), 'not a failed cycle: a counted drop');
  t.same(...order(fake), 'sequences only increase: nothing sent out of order');
});

const refusal = tmpfsRefusal();
// CI runs as root: there a refused mount is a failure, not a reason to skip.
if (refusal !== null && process.env.CI === 'true') t.fail(refusal);

t.test('a real full disk: the spool on a 1 MiB tmpfs', { skip: refusal ?? false }, async (t) => {
  const mountDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountDir], { stdio: 'pipe' });
  // Filled once the agent runs: the agent must stop (closing its spool) before the unmount.
  const running: { stop?: () => Promise<void> } = {};
  t.teardown(async () => {
    await running.stop?.();
    execFileSync('umount', [mountDir]);
    fs.rmdirSync(mountDir);
  });

  const fake = await startFakeCollector(t);
  const source = wideSource(300); // about 3.6 KB a batch: a few cycles need a new page of the tmpfs
  const spoolDir = path.join(mountDir, 'spool');
  const a = await startAgent(t, { url: fake.url, token: FAKE_TOKEN, caFile: fake.caFile, node: 'full-tmpfs', intervalMs: 100, sources: [source], spoolDir });
  running.stop = a.stop;
  await waitFor('a few batches acknowledged', () => received(fake).length >= 3 && a.agent.pendingBatches() === 0);

  const filler = path.join(mountDir, 'filler');
  const fd = fs.openSync(filler, 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (err) {
    t.equal((err as NodeJS.ErrnoException).code, 'ENOSPC', 'the disk is full');
  } finally {
    fs.closeSync(fd);
  }
  await waitFor('the agent reports a failed spool write', () => a.logs.find((l) => l.includes('spool write failed, batch dropped')), 10_000);
  const cyclesAtFull = source.cycles;
  await waitFor('the agent keeps cycling on a full disk', () => source.cycles >= cyclesAtFull + 5);

  fs.rmSync(filler);
  const reported = await waitFor('space is back: a batch reports the drops', () => received(fake).find((b) => b.droppedBatchesTotal > 0), 10_000);
  t.ok(reported.droppedBatchesTotal >= 1, `${reported.droppedBatchesTotal} batches reported dropped`);
  await waitFor('spooling and sending resumed', () => {
    const last = received(fake).at(-1);
    return last !== undefined && last.sequence > reported.sequence + 3 && a.agent.pendingBatches() <= 1;
  }, 10_000);
  t.same(...order(fake), 'sequences only increase: nothing sent out of order');
  await a.stop();
});
