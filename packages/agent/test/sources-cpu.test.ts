import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes } from '@ximp/shared';
import { mapCpuStat, mapOsCpus, cpuSource } from '../src/sources/cpu';
import { parseBootTime, parseProcStat } from '../src/sources/proc-stat';
import { mapUptime, uptimeSource } from '../src/sources/uptime';
import { createProcReader } from '../src/proc-reader';
import { defaultSourceDeps, type SourceDeps } from '../src/sources/source';
import type { Point } from '../src/point';

const FIXTURES = path.join(__dirname, 'fixtures', 'proc');
const fixture = (...p: string[]): string => readFileSync(path.join(FIXTURES, ...p), 'utf8');
const ctx = { nowMs: 1_800_000_000_500, signal: new AbortController().signal };
const find = (points: Point[], name: string, labels: Record<string, string> = {}): number | undefined =>
  points.find((p) => p.name === name && JSON.stringify(p.labels) === JSON.stringify(labels))?.value;
const depsAt = (root: string, extra: Partial<SourceDeps> = {}): SourceDeps => ({
  ...defaultSourceDeps(),
  ...createProcReader({ procRoot: path.join(FIXTURES, root) }),
  platform: 'linux',
  ...extra,
});

t.test('parseProcStat reads per-cpu ticks, parseBootTime btime, from this host', async (t) => {
  const stat = parseProcStat(fixture('host', 'stat'));
  t.equal(parseBootTime(fixture('host', 'stat')), 1795601587);
  t.same(stat.cpus, [
    { cpu: '0', ticks: { user: 2263, nice: 0, system: 967, idle: 159805, iowait: 24, irq: 0, softirq: 47, steal: 31 } },
    { cpu: '1', ticks: { user: 11193, nice: 0, system: 1431, idle: 150354, iowait: 157, irq: 0, softirq: 67, steal: 29 } },
  ]);
});

t.test('mapCpuStat: node_cpu_seconds_total{cpu,mode} in seconds (USER_HZ 100)', async (t) => {
  const points = mapCpuStat(parseProcStat(fixture('host', 'stat')));
  t.equal(points.length, 2 * 8);
  t.ok(points.every((p) => p.name === 'node_cpu_seconds_total'));
  t.equal(find(points, 'node_cpu_seconds_total', { cpu: '0', mode: 'user' }), 22.63);
  t.equal(find(points, 'node_cpu_seconds_total', { cpu: '1', mode: 'idle' }), 1503.54);
  t.equal(find(points, 'node_cpu_seconds_total', { cpu: '0', mode: 'steal' }), 0.31);
  t.equal(find(points, 'node_cpu_seconds_total', { cpu: '1', mode: 'softirq' }), 0.67);
  t.same(Array.from(new Set(points.map((p) => p.labels.mode))), ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal']);
});

t.test('an old kernel with four columns yields only those modes', async (t) => {
  const points = mapCpuStat(parseProcStat(fixture('edge', 'stat-old-kernel')));
  t.same(points.map((p) => [p.labels.mode, p.value]), [['user', 0.1], ['nice', 0.2], ['system', 0.3], ['idle', 0.4]]);
});

t.test('columns beyond steal (guest, guest_nice, future) and unknown lines are ignored', async (t) => {
  const stat = parseProcStat(fixture('edge', 'stat-extra-columns'));
  t.equal(stat.cpus.length, 2);
  t.equal(parseBootTime(fixture('edge', 'stat-extra-columns')), 1700000001);
  const points = mapCpuStat(stat);
  t.equal(points.length, 16);
  t.equal(find(points, 'node_cpu_seconds_total', { cpu: '0', mode: 'steal' }), 8);
});

t.test('malformed or empty /proc/stat is a SOURCE_PARSE error', async (t) => {
  for (const text of ['', '\n\n', fixture('edge', 'stat-garbage'), fixture('edge', 'stat-short-line'), 'intr 1 2 3\n']) {
    t.throws(() => parseProcStat(text), { code: ErrorCodes.SOURCE_PARSE }, JSON.stringify(text.slice(0, 20)));
  }
});

t.test('the cpu source reads through its injected reader', async (t) => {
  const points = await cpuSource.create({}, depsAt('host')).collect(ctx);
  t.equal(find(points, 'node_cpu_seconds_total', { cpu: '1', mode: 'user' }), 111.93);
  await t.rejects(cpuSource.create({}, depsAt('empty')).collect(ctx), { code: ErrorCodes.SOURCE_PARSE });
  await t.rejects(cpuSource.create({}, depsAt('missing')).collect(ctx), { code: 'ENOENT' });
});

t.test('without /proc the cpu source maps os.cpus() (ms) to seconds', async (t) => {
  const times = { user: 1500, nice: 0, sys: 700, idle: 9000, irq: 10 };
  const os = { ...defaultSourceDeps().os, cpus: () => [{ model: 'x', speed: 1, times }] };
  const points = await cpuSource.create({}, depsAt('missing', { platform: 'darwin', os })).collect(ctx);
  t.same(points, mapOsCpus([{ model: 'x', speed: 1, times }]));
  t.equal(find(points, 'node_cpu_seconds_total', { cpu: '0', mode: 'system' }), 0.7);
  t.equal(points.length, 5);
});

t.test('uptime: node_boot_time_seconds from btime and node_time_seconds from the cycle', async (t) => {
  const points = await uptimeSource.create({}, depsAt('host')).collect(ctx);
  t.same(points, mapUptime(1795601587, ctx.nowMs));
  t.equal(find(points, 'node_boot_time_seconds'), 1795601587);
  t.equal(find(points, 'node_time_seconds'), 1_800_000_000.5);
  // A stat file without btime is an error for uptime only.
  const noBtime = { readFile: async () => 'cpu0 1 2 3 4\n' };
  await t.rejects(uptimeSource.create({}, depsAt('host', noBtime)).collect(ctx), { code: ErrorCodes.SOURCE_PARSE });
  t.equal((await cpuSource.create({}, depsAt('host', noBtime)).collect(ctx)).length, 4);
});

t.test('uptime reads the btime line alone: a bad cpu line fails the cpu source only', async (t) => {
  const intr = `intr ${Array.from({ length: 5000 }, (_, i) => i).join(' ')}\n`;
  const text = `cpu  1 2 3 4\ncpu0 1 2\n${intr}btimes 5\nbtime 1700000000\nprocs_running 1`;
  const deps = depsAt('host', { readFile: async () => text });
  t.same(await uptimeSource.create({}, deps).collect(ctx), mapUptime(1700000000, ctx.nowMs), 'btime after a long intr line, a "btimes" line is not it');
  await t.rejects(cpuSource.create({}, deps).collect(ctx), { code: ErrorCodes.SOURCE_PARSE, message: /cpu0: expected at least 4 columns/ });
  t.same(await uptimeSource.create({}, depsAt('host', { readFile: async () => 'btime 1600000000' })).collect(ctx), mapUptime(1600000000, ctx.nowMs), 'btime first, no newline');
  await t.rejects(uptimeSource.create({}, depsAt('host', { readFile: async () => 'btime soon\n' })).collect(ctx), { code: ErrorCodes.SOURCE_PARSE, message: /btime: expected a number/ });
});

t.test('uptime without /proc derives boot time from os.uptime()', async (t) => {
  const os = { ...defaultSourceDeps().os, uptime: () => 1000 };
  const points = await uptimeSource.create({}, depsAt('missing', { platform: 'darwin', os })).collect(ctx);
  t.equal(find(points, 'node_boot_time_seconds'), 1_799_999_001);
});

t.test('only cpu and btime lines are read: the intr and softirq columns, however many or odd, do not matter', async (t) => {
  const intr = `intr ${Array.from({ length: 5000 }, (_, i) => i).join(' ')} not-a-number\n`;
  const text = `cpu  1 2 3 4\ncpu0 1 2 3 4 5 6 7 8 9 10\n${intr}softirq x y z\nbtime 1700000000\n`;
  t.same(parseProcStat(text), { cpus: [{ cpu: '0', ticks: { user: 1, nice: 2, system: 3, idle: 4, iowait: 5, irq: 6, softirq: 7, steal: 8 } }] });
  t.equal(parseBootTime(text), 1700000000);
  t.throws(() => parseProcStat('cpu0 1 2 x 4\n'), { code: ErrorCodes.SOURCE_PARSE, message: /cpu0 system/ }, 'a bad cpu column is named');
});
