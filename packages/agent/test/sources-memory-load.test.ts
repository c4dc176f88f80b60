import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes } from '@ximp/shared';
import { mapMeminfo, memorySource, parseMeminfo } from '../src/sources/memory';
import { loadSource, mapLoad, parseLoadavg } from '../src/sources/load';
import { createProcReader } from '../src/proc-reader';
import { defaultSourceDeps, type SourceDeps } from '../src/sources/source';
import type { Point } from '../src/point';

const FIXTURES = path.join(__dirname, 'fixtures', 'proc');
const fixture = (...p: string[]): string => readFileSync(path.join(FIXTURES, ...p), 'utf8');
const ctx = { nowMs: 1_800_000_000_000, signal: new AbortController().signal };
const find = (points: Point[], name: string): number | undefined => points.find((p) => p.name === name)?.value;
const depsAt = (root: string, extra: Partial<SourceDeps> = {}): SourceDeps => ({
  ...defaultSourceDeps(),
  ...createProcReader({ procRoot: path.join(FIXTURES, root) }),
  platform: 'linux',
  ...extra,
});

t.test('meminfo from this host: node_memory_<Field>_bytes, kB * 1024', async (t) => {
  const entries = parseMeminfo(fixture('host', 'meminfo'));
  t.equal(entries.length, 54);
  const points = mapMeminfo(entries);
  t.equal(points.length, 54);
  t.equal(find(points, 'node_memory_MemTotal_bytes'), 24683656 * 1024);
  t.equal(find(points, 'node_memory_MemAvailable_bytes'), 24313364 * 1024);
  t.equal(find(points, 'node_memory_Buffers_bytes'), 6340 * 1024);
  t.equal(find(points, 'node_memory_Cached_bytes'), 149908 * 1024);
  t.equal(find(points, 'node_memory_SwapTotal_bytes'), 0);
  t.equal(find(points, 'node_memory_VmallocTotal_bytes'), 34359738367 * 1024);
  // "Active(anon)" becomes "Active_anon"; unitless counts get no _bytes suffix.
  t.equal(find(points, 'node_memory_Active_anon_bytes'), 1556 * 1024);
  t.equal(find(points, 'node_memory_HugePages_Total'), 0);
  t.equal(find(points, 'node_memory_Hugepagesize_bytes'), 2048 * 1024);
  t.ok(points.every((p) => /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(p.name)), 'every name is a valid metric name');
});

t.test('odd meminfo lines are skipped, the first of a repeated key wins', async (t) => {
  const points = mapMeminfo(parseMeminfo(fixture('edge', 'meminfo-odd')));
  t.same(
    points.map((p) => [p.name, p.value]),
    [
      ['node_memory_MemTotal_bytes', 1000 * 1024],
      ['node_memory_MemFree_bytes', 250 * 1024],
      ['node_memory_Active_anon_bytes', 10 * 1024],
      ['node_memory_Inactive_file_bytes', 20 * 1024],
      ['node_memory_HugePages_Total', 4],
      ['node_memory_Hugepagesize_bytes', 2048 * 1024],
      ['node_memory_DirectMap4k_bytes', 20480 * 1024],
    ],
  );
});

/** The reading of meminfo the scanner replaced: split into lines, then on runs of blanks. */
function splitReading(text: string): { key: string; value: number; unit: 'kB' | null }[] {
  const entries: { key: string; value: number; unit: 'kB' | null }[] = [];
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    const fields = trimmed === '' ? [] : trimmed.split(/\s+/);
    if (fields.length < 2 || fields.length > 3) continue;
    const [rawKey, rawValue, unit] = fields as [string, string, string | undefined];
    if (!rawKey.endsWith(':') || (unit !== undefined && unit !== 'kB') || !/^\d+$/.test(rawValue)) continue;
    const key = rawKey.slice(0, -1);
    if (seen.has(key)) continue;
    seen.add(key);
    entries.push({ key, value: Number(rawValue), unit: unit === 'kB' ? 'kB' : null });
  }
  return entries;
}

t.test('meminfo read by character agrees with splitting on blanks, line by line', async (t) => {
  const pieces = ['MemTotal:', 'Active(anon):', 'A:', ':', 'NoColon', 'x::', '12', '0', '007', '123456789012345678901', '1e3', '-4', 'kB', 'KB', 'kBx', 'MB', ''];
  const blanks = [' ', '\t', '   ', ' \t ', '\r', '\f'];
  let seed = 42;
  const pick = <T>(list: T[]): T => list[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % list.length]!;
  let compared = 0;
  for (let round = 0; round < 400; round++) {
    const lines: string[] = [];
    for (let l = 0; l < 6; l++) {
      // Mostly the kernel's shape with one part odd, sometimes anything.
      const words = pick([true, true, false])
        ? [pick(['MemTotal:', 'Active(anon):', 'A:', ':', 'x::', 'NoColon']), pick(['12', '0', '007', '123456789012345678901', '1e3', '-4', '']), ...(pick([true, false]) ? [pick(['kB', 'KB', 'kBx', 'MB'])] : [])]
        : Array.from({ length: 1 + pick([0, 1, 2, 3, 4]) }, () => pick(pieces));
      lines.push((pick([true, false]) ? pick(blanks) : '') + words.join(pick(blanks)) + (pick([true, false]) ? pick(blanks) : ''));
    }
    const text = lines.join('\n') + pick(['', '\n', '\n\n']);
    const expected = splitReading(text);
    if (expected.length === 0) {
      t.throws(() => parseMeminfo(text), { code: ErrorCodes.SOURCE_PARSE }, JSON.stringify(text));
    } else {
      const actual = parseMeminfo(text);
      if (JSON.stringify(actual) !== JSON.stringify(expected)) t.same(actual, expected, JSON.stringify(text));
      compared++;
    }
  }
  t.ok(compared > 100, `${compared} texts with entries compared`);
  t.same(parseMeminfo(fixture('host', 'meminfo')), splitReading(fixture('host', 'meminfo')), "this host's meminfo");
  t.same(parseMeminfo('Big:  123456789012345678901 kB'), [{ key: 'Big', value: Number('123456789012345678901'), unit: 'kB' }], 'more than 15 digits read as Number() reads them');
});

t.test('an empty or foreign meminfo is a SOURCE_PARSE error', async (t) => {
  for (const text of ['', 'garbage\nmore garbage\n']) t.throws(() => parseMeminfo(text), { code: ErrorCodes.SOURCE_PARSE });
  await t.rejects(memorySource.create({}, depsAt('empty')).collect(ctx), { code: ErrorCodes.SOURCE_PARSE });
});

t.test('the memory source reads /proc/meminfo; without /proc it uses the os module', async (t) => {
  const linux = await memorySource.create({}, depsAt('host')).collect(ctx);
  t.equal(find(linux, 'node_memory_MemFree_bytes'), 24339956 * 1024);
  const os = { ...defaultSourceDeps().os, totalmem: () => 8000, freemem: () => 3000 };
  const other = await memorySource.create({}, depsAt('missing', { platform: 'win32', os })).collect(ctx);
  t.same(other, [
    { name: 'node_memory_MemTotal_bytes', labels: {}, value: 8000 },
    { name: 'node_memory_MemFree_bytes', labels: {}, value: 3000 },
  ]);
});

t.test('loadavg: node_load1, node_load5, node_load15', async (t) => {
  t.same(parseLoadavg(fixture('host', 'loadavg')), [0.03, 0.17, 0.09]);
  t.same(mapLoad([0.03, 0.17, 0.09]), [
    { name: 'node_load1', labels: {}, value: 0.03 },
    { name: 'node_load5', labels: {}, value: 0.17 },
    { name: 'node_load15', labels: {}, value: 0.09 },
  ]);
  // Extra columns are ignored; missing or non-numeric ones are errors.
  t.same(parseLoadavg('1.50 2.00 3.25 4/100 77 extra\n'), [1.5, 2, 3.25]);
  for (const text of ['', '0.1 0.2\n', '0.1 x 0.3 1/2 3\n', '-1 0 0\n']) {
    t.throws(() => parseLoadavg(text), { code: ErrorCodes.SOURCE_PARSE }, JSON.stringify(text));
  }
});

t.test('the load source reads /proc/loadavg; without /proc it uses os.loadavg()', async (t) => {
  t.equal(find(await loadSource.create({}, depsAt('host')).collect(ctx), 'node_load5'), 0.17);
  await t.rejects(loadSource.create({}, depsAt('empty')).collect(ctx), { code: ErrorCodes.SOURCE_PARSE });
  const os = { ...defaultSourceDeps().os, loadavg: () => [4, 5, 6] };
  t.same((await loadSource.create({}, depsAt('missing', { platform: 'darwin', os })).collect(ctx)).map((p) => p.value), [4, 5, 6]);
});
