import { readFileSync, statfsSync } from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes } from '@ximp/shared';
import { filesystemSource, mapFilesystem, parseMounts, selectMounts, unescapeMountField } from '../src/sources/filesystem';
import { createProcReader, type StatfsInfo } from '../src/proc-reader';
import { defaultSourceDeps, type SourceDeps } from '../src/sources/source';
import type { Point } from '../src/point';

const FIXTURES = path.join(__dirname, 'fixtures', 'proc');
const fixture = (...p: string[]): string => readFileSync(path.join(FIXTURES, ...p), 'utf8');
const ctx = (): { nowMs: number; signal: AbortSignal } => ({ nowMs: 1_800_000_000_000, signal: new AbortController().signal });
const find = (points: Point[], name: string, mountpoint: string): number | undefined =>
  points.find((p) => p.name === name && p.labels.mountpoint === mountpoint)?.value;
const STAT: StatfsInfo = { bsize: 4096, blocks: 1000, bfree: 600, bavail: 500, files: 2000, ffree: 1500 };
const depsWith = (mounts: string, statfs: SourceDeps['statfs']): SourceDeps => ({
  ...defaultSourceDeps(),
  ...createProcReader({ procRoot: path.join(FIXTURES, 'missing') }),
  readFile: async (file) => {
    if (file !== '/proc/self/mounts') throw new Error(`unexpected read of ${file}`);
    return mounts;
  },
  statfs,
  platform: 'linux',
});

t.test('mounts of this host: only the real root file system is kept', async (t) => {
  const mounts = parseMounts(fixture('host', 'self', 'mounts'));
  t.equal(mounts.length, 19);
  t.same(mounts[5], { device: '/dev/vda', mountPoint: '/', fsType: 'ext4', options: ['rw', 'relatime', 'discard', 'resv_strict', 'resuid=65534', 'resgid=65534'] });
  t.same(selectMounts(mounts).map((m) => m.mountPoint), ['/']);
});

t.test('node_exporter default exclusions, octal escapes and repeated mounts', async (t) => {
  const kept = selectMounts(parseMounts(fixture('edge', 'mounts-mixed')));
  t.same(
    kept.map((m) => [m.device, m.mountPoint, m.fsType]),
    [
      ['/dev/sda2', '/', 'ext4'],
      ['/dev/sda1', '/boot/efi', 'vfat'],
      ['/dev/sdb1', '/mnt/My Disk', 'ext4'],
      ['server:/export', '/srv/nfs', 'nfs4'],
      ['tmpfs', '/run', 'tmpfs'],
    ],
  );
  t.equal(unescapeMountField('a\\040b\\011c\\012d\\134e'), 'a b\tc\nd\\e');
  const custom = selectMounts(parseMounts(fixture('edge', 'mounts-mixed')), { fsTypesExclude: /^(tmpfs|nfs4)$/, mountPointsExclude: /^\/boot/ });
  t.same(custom.map((m) => m.mountPoint), ['/', '/mnt/My Disk', '/var/lib/docker/overlay2/abc/merged', '/var/lib/docker/volumes', '/snap/core/1', '/proc', '/sys']);
});

t.test('mapFilesystem: bytes from blocks * bsize, inode counts, readonly, device_error', async (t) => {
  const [root, , disk] = parseMounts(fixture('edge', 'mounts-mixed'));
  const points = mapFilesystem(root!, STAT);
  t.same(points[0]!.labels, { device: '/dev/sda2', fstype: 'ext4', mountpoint: '/' });
  t.same(
    points.map((p) => [p.name, p.value]),
    [
      ['node_filesystem_size_bytes', 4096000],
      ['node_filesystem_free_bytes', 2457600],
      ['node_filesystem_avail_bytes', 2048000],
      ['node_filesystem_files', 2000],
      ['node_filesystem_files_free', 1500],
      ['node_filesystem_readonly', 0],
      ['node_filesystem_device_error', 0],
    ],
  );
  t.same(mapFilesystem(disk!, null).map((p) => [p.name, p.value]), [['node_filesystem_readonly', 1], ['node_filesystem_device_error', 1]]);
});

t.test('a malformed or empty mounts file is a SOURCE_PARSE error', async (t) => {
  for (const text of ['', '\n', 'only two\n']) t.throws(() => parseMounts(text), { code: ErrorCodes.SOURCE_PARSE }, JSON.stringify(text));
  const deps = { ...depsWith('', async () => STAT), ...createProcReader({ procRoot: path.join(FIXTURES, 'empty') }) };
  await t.rejects(filesystemSource.create({}, deps).collect(ctx()), { code: ErrorCodes.SOURCE_PARSE });
});

t.test('a hanging or failing statfs costs only its own mount, and a hung mount is not asked again', async (t) => {
  const calls: string[] = [];
  let releaseNfs: (s: StatfsInfo) => void = () => {};
  const statfs = (mountPoint: string): Promise<StatfsInfo> => {
    calls.push(mountPoint);
    if (mountPoint === '/srv/nfs') return new Promise((resolve) => (releaseNfs = resolve));
    if (mountPoint === '/boot/efi') return Promise.reject(Object.assign(new Error('EACCES'), { code: 'EACCES' }));
    if (mountPoint === '/run') throw new Error('synchronous failure');
    return Promise.resolve(STAT);
  };
  const source = filesystemSource.create({ statfsTimeoutMs: 50 }, depsWith(fixture('edge', 'mounts-mixed'), statfs));

  const started = Date.now();
  const first = await source.collect(ctx());
  t.ok(Date.now() - started < 1000, 'the cycle ends at the per-mount deadline');
  t.equal(find(first, 'node_filesystem_size_bytes', '/'), 4096000);
  t.equal(find(first, 'node_filesystem_size_bytes', '/mnt/My Disk'), 4096000);
  for (const mp of ['/srv/nfs', '/boot/efi', '/run']) {
    t.equal(find(first, 'node_filesystem_device_error', mp), 1, `${mp} device_error`);
    t.equal(find(first, 'node_filesystem_size_bytes', mp), undefined, `${mp} has no size`);
  }
  t.equal(find(first, 'node_filesystem_device_error', '/'), 0);

  // Still hung: the next cycle does not issue another statfs on it.
  const second = await source.collect(ctx());
  t.equal(calls.filter((c) => c === '/srv/nfs').length, 1);
  t.equal(find(second, 'node_filesystem_device_error', '/srv/nfs'), 1);

  // Once it answers, the mount is measured again.
  releaseNfs(STAT);
  await new Promise((r) => setImmediate(r));
  const third = await source.collect(ctx());
  t.equal(calls.filter((c) => c === '/srv/nfs').length, 2);
  t.equal(find(third, 'node_filesystem_device_error', '/srv/nfs'), 1, 'the second call hangs again');
  releaseNfs(STAT);
  await new Promise((r) => setImmediate(r));
  const fourth = filesystemSource.create({ statfsTimeoutMs: 50 }, depsWith(fixture('edge', 'mounts-mixed'), async () => STAT));
  t.equal(find(await fourth.collect(ctx()), 'node_filesystem_avail_bytes', '/srv/nfs'), 2048000);
});

t.test('an aborted cycle stops waiting for statfs at once', async (t) => {
  const controller = new AbortController();
  const source = filesystemSource.create({ statfsTimeoutMs: 10_000 }, depsWith('/dev/sda2 / ext4 rw 0 0\n', () => new Promise(() => {})));
  const started = Date.now();
  const pending = source.collect({ nowMs: 0, signal: controller.signal });
  setTimeout(() => controller.abort(), 20);
  const points = await pending;
  t.ok(Date.now() - started < 2000);
  t.equal(find(points, 'node_filesystem_device_error', '/'), 1);
});

t.test('without /proc the filesystem source maps fsSize', async (t) => {
  const si = {
    ...defaultSourceDeps().si,
    fsSize: async () => [{ fs: '/dev/disk1s1', type: 'apfs', size: 1000, used: 400, available: 500, mount: '/' } as never],
  };
  const points = await filesystemSource.create({}, { ...depsWith('', async () => STAT), platform: 'darwin', si }).collect(ctx());
  t.same(points.map((p) => [p.name, p.value]), [
    ['node_filesystem_size_bytes', 1000],
    ['node_filesystem_free_bytes', 600],
    ['node_filesystem_avail_bytes', 500],
  ]);
  t.same(points[0]!.labels, { device: '/dev/disk1s1', fstype: 'apfs', mountpoint: '/' });
});

t.test('the real reader asks a local file system synchronously and any other through the thread pool, with the same answer', async (t) => {
  const reader = createProcReader();
  const expected = statfsSync('/');
  for (const fsType of ['ext4', 'xfs', 'nfs4', undefined]) {
    const s = await reader.statfs('/', fsType);
    t.same({ bsize: s.bsize, blocks: s.blocks }, { bsize: expected.bsize, blocks: expected.blocks }, String(fsType));
  }
  // A failure is a rejection either way, never a throw into the source.
  for (const fsType of ['ext4', 'nfs4']) {
    const call = reader.statfs('/nonexistent/ximp', fsType);
    t.ok(call instanceof Promise);
    await t.rejects(call, { code: 'ENOENT' }, fsType);
  }
});

t.test('the mount table is parsed again as soon as it changes: a new mount shows in the next cycle, a removed one goes', async (t) => {
  let table = '/dev/sda2 / ext4 rw 0 0\n';
  const deps = { ...depsWith('', async () => STAT), readFile: async () => table };
  const source = filesystemSource.create({}, deps);
  const mountpoints = async (): Promise<string[]> => [...new Set((await source.collect(ctx())).map((p) => p.labels.mountpoint!))];
  t.same(await mountpoints(), ['/']);
  t.same(await mountpoints(), ['/'], 'the same table again');
  table += '/dev/sdb1 /data xfs ro 0 0\n';
  t.same(await mountpoints(), ['/', '/data']);
  const points = await source.collect(ctx());
  t.equal(find(points, 'node_filesystem_readonly', '/data'), 1, 'the new mount is read with its own options');
  table = '/dev/sdb1 /data xfs rw 0 0\n';
  t.same(await mountpoints(), ['/data']);
  t.equal(find(await source.collect(ctx()), 'node_filesystem_readonly', '/data'), 0, 'remounted read-write');
  table = 'garbage\n';
  await t.rejects(source.collect(ctx()), { code: ErrorCodes.SOURCE_PARSE }, 'a table that stops parsing is an error, not the last good one');
});
