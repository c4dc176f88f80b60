import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes } from '@ximp/shared';
import { DEFAULT_DISK_DEVICE_EXCLUDE, diskSource, mapDiskstats, parseDiskstats } from '../src/sources/disk';
import { mapNetDev, networkSource, parseNetDev } from '../src/sources/network';
import { createProcReader } from '../src/proc-reader';
import { defaultSourceDeps, type SourceDeps } from '../src/sources/source';
import type { Point } from '../src/point';

const FIXTURES = path.join(__dirname, 'fixtures', 'proc');
const fixture = (...p: string[]): string => readFileSync(path.join(FIXTURES, ...p), 'utf8');
const ctx = { nowMs: 1_800_000_000_000, signal: new AbortController().signal };
const find = (points: Point[], name: string, device: string): number | undefined =>
  points.find((p) => p.name === name && p.labels.device === device)?.value;
const devices = (points: Point[]): string[] => Array.from(new Set(points.map((p) => p.labels.device ?? '')));
const depsAt = (root: string, extra: Partial<SourceDeps> = {}): SourceDeps => ({
  ...defaultSourceDeps(),
  ...createProcReader({ procRoot: path.join(FIXTURES, root) }),
  platform: 'linux',
  ...extra,
});

t.test('diskstats from this host: loop and zram skipped, vda mapped to node_exporter units', async (t) => {
  const disks = parseDiskstats(fixture('host', 'diskstats'));
  t.equal(disks.length, 10);
  t.same(disks.find((d) => d.device === 'vda'), {
    major: 254,
    minor: 0,
    device: 'vda',
    stats: [12488, 6263, 1458746, 6139, 1826, 23908, 876320, 5470, 0, 4712, 12195, 3133, 71, 57808, 585, 3, 1],
  });
  const points = mapDiskstats(disks);
  t.same(devices(points), ['vda']);
  t.equal(points.length, 17);
  t.equal(find(points, 'node_disk_reads_completed_total', 'vda'), 12488);
  t.equal(find(points, 'node_disk_writes_completed_total', 'vda'), 1826);
  t.equal(find(points, 'node_disk_read_bytes_total', 'vda'), 1458746 * 512);
  t.equal(find(points, 'node_disk_written_bytes_total', 'vda'), 876320 * 512);
  t.equal(find(points, 'node_disk_io_time_seconds_total', 'vda'), 4.712);
  t.equal(find(points, 'node_disk_read_time_seconds_total', 'vda'), 6.139);
  t.equal(find(points, 'node_disk_io_now', 'vda'), 0);
  t.equal(find(points, 'node_disk_discarded_sectors_total', 'vda'), 57808);
  t.equal(find(points, 'node_disk_flush_requests_time_seconds_total', 'vda'), 0.001);
});

t.test('node_exporter device exclusion and 11/15/17-column kernels', async (t) => {
  const disks = parseDiskstats(fixture('edge', 'diskstats-mixed'));
  t.notOk(disks.some((d) => d.device === 'hda1'), 'a 4-column partition line is skipped');
  const points = mapDiskstats(disks);
  t.same(devices(points), ['sda', 'nvme0n1', 'dm-0', 'mmcblk0']);
  const count = (device: string): number => points.filter((p) => p.labels.device === device).length;
  t.equal(count('sda'), 11);
  t.equal(count('nvme0n1'), 15);
  t.equal(count('dm-0'), 17);
  t.equal(find(points, 'node_disk_read_bytes_total', 'sda'), 2048 * 512);
  t.equal(find(points, 'node_disk_io_time_weighted_seconds_total', 'sda'), 0.13);
  // Whole disks stay, partitions go.
  for (const d of ['sda', 'vda', 'xvda', 'hda', 'nvme0n1', 'dm-0', 'md0']) t.notOk(DEFAULT_DISK_DEVICE_EXCLUDE.test(d), d);
  for (const d of ['sda1', 'vdb2', 'xvda1', 'nvme0n1p1', 'loop0', 'ram0', 'zram0', 'fd0']) t.ok(DEFAULT_DISK_DEVICE_EXCLUDE.test(d), d);
  t.same(devices(mapDiskstats(disks, /^dm-/)).sort(), ['fd0', 'loop0', 'mmcblk0', 'nvme0n1', 'nvme0n1p1', 'ram0', 'sda', 'sda1'].sort());
});

t.test('diskstats: empty means no devices; a bad number is a SOURCE_PARSE error', async (t) => {
  t.same(parseDiskstats(''), []);
  t.same(await diskSource.create({}, depsAt('empty')).collect(ctx), []);
  t.throws(() => parseDiskstats('8 0 sda 1 2 3 4 5 6 x 8 9 10 11\n'), { code: ErrorCodes.SOURCE_PARSE });
});

t.test('an excluded device is skipped before its columns are read', async (t) => {
  const text = '8 1 sda1 1 2 3 4 5 6 x 8 9 10 11\n8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n';
  t.same(parseDiskstats(text, DEFAULT_DISK_DEVICE_EXCLUDE).map((d) => d.device), ['sda'], 'a partition with a bad column is left out');
  t.throws(() => parseDiskstats(text), { code: ErrorCodes.SOURCE_PARSE, message: /sda1 column 10/ }, 'without the exclusion it is read, and named');
  const source = diskSource.create({}, { ...depsAt('empty'), readFile: async () => text });
  t.same(devices(await source.collect(ctx)), ['sda']);
  // As the kernel pads it: the device is still found in the third column.
  const padded = `   7       0 loop0 1 2 x\n \t8 2  sda2 x\n${text}`;
  t.same(parseDiskstats(padded, DEFAULT_DISK_DEVICE_EXCLUDE).map((d) => d.device), ['sda'], 'padded excluded lines are left out');
  t.same(parseDiskstats('   7       0 loop0 1 2 x\n', /^sda$/), [], 'a short line the exclusion keeps is skipped as before');
});

t.test('the disk source reads through its reader and is unavailable without /proc', async (t) => {
  const points = await diskSource.create({}, depsAt('host')).collect(ctx);
  t.same(devices(points), ['vda']);
  await t.rejects(diskSource.create({}, depsAt('missing', { platform: 'darwin' })).collect(ctx), { code: ErrorCodes.SOURCE_UNAVAILABLE });
});

t.test('net/dev from this host: every column, node_exporter names', async (t) => {
  const stats = parseNetDev(fixture('host', 'net', 'dev'));
  t.same(stats.map((s) => s.device), ['lo', 'ifb0', 'ifb1', 'eth0']);
  const points = mapNetDev(stats);
  t.equal(points.length, 4 * 16);
  t.equal(find(points, 'node_network_receive_bytes_total', 'eth0'), 161140503);
  t.equal(find(points, 'node_network_receive_packets_total', 'eth0'), 6703);
  t.equal(find(points, 'node_network_transmit_bytes_total', 'eth0'), 654848);
  t.equal(find(points, 'node_network_transmit_packets_total', 'eth0'), 5176);
  t.equal(find(points, 'node_network_receive_bytes_total', 'lo'), 3193);
  for (const name of [
    'node_network_receive_errs_total',
    'node_network_transmit_errs_total',
    'node_network_receive_drop_total',
    'node_network_transmit_drop_total',
    'node_network_receive_multicast_total',
    'node_network_transmit_colls_total',
    'node_network_transmit_carrier_total',
  ]) {
    t.equal(find(points, name, 'eth0'), 0, name);
  }
});

t.test('a large counter glued to the colon and the column order are read right', async (t) => {
  const points = mapNetDev(parseNetDev(fixture('edge', 'net-dev-glued')));
  t.equal(find(points, 'node_network_receive_bytes_total', 'eth0'), 98765432101234);
  t.equal(find(points, 'node_network_receive_errs_total', 'eth0'), 1);
  t.equal(find(points, 'node_network_receive_drop_total', 'eth0'), 2);
  t.equal(find(points, 'node_network_receive_multicast_total', 'eth0'), 6);
  t.equal(find(points, 'node_network_transmit_bytes_total', 'eth0'), 123456789012);
  t.equal(find(points, 'node_network_transmit_errs_total', 'eth0'), 7);
  t.equal(find(points, 'node_network_transmit_drop_total', 'eth0'), 8);
  t.equal(find(points, 'node_network_transmit_compressed_total', 'eth0'), 12);
  t.equal(find(points, 'node_network_transmit_bytes_total', 'wlan0'), 7);
  t.same(devices(mapNetDev(parseNetDev(fixture('edge', 'net-dev-glued')), /^wlan/)), ['eth0']);
});

t.test('a malformed net/dev is a SOURCE_PARSE error', async (t) => {
  const header = fixture('host', 'net', 'dev').split('\n').slice(0, 2).join('\n');
  t.same(parseNetDev(header + '\n'), [], 'no interfaces is not an error');
  for (const text of ['', 'just one line\n', fixture('edge', 'net-dev-short-row'), header + '\n eth0 1 2 3\n', 'x\n face |by-tes|bytes\n']) {
    t.throws(() => parseNetDev(text), { code: ErrorCodes.SOURCE_PARSE }, JSON.stringify(text.slice(-30)));
  }
  await t.rejects(networkSource.create({}, depsAt('empty')).collect(ctx), { code: ErrorCodes.SOURCE_PARSE });
});

t.test('a header that changes is read again: a new column becomes a series, a bad one an error', async (t) => {
  const [title, header, ...rows] = fixture('edge', 'net-dev-glued').split('\n');
  const before = parseNetDev([title, header, ...rows].join('\n'));
  t.notOk('extra' in before[0]!.receive);
  const wider = header!.replace('|bytes', '|bytes    extra');
  const widened = [title, wider, ...rows.map((r) => (r.includes(':') ? r.replace(/:\s*(\d+)/, ': $1 42') : r))].join('\n');
  const after = parseNetDev(widened);
  t.equal(after[0]!.receive.extra, 42);
  t.equal(find(mapNetDev(after), 'node_network_receive_extra_total', 'eth0'), 42);
  t.equal(after[0]!.receive.bytes, before[0]!.receive.bytes, 'the other columns keep their values');
  t.throws(() => parseNetDev([title, header!.replace('|bytes', '|By-tes'), ...rows].join('\n')), { code: ErrorCodes.SOURCE_PARSE, message: /By-tes/ });
  t.same(parseNetDev([title, header, ...rows].join('\n')), before, 'and back');
});

t.test('the network source reads /proc/net/dev; without /proc it maps networkStats', async (t) => {
  const linux = await networkSource.create({ netDeviceExclude: /^lo$/ }, depsAt('host')).collect(ctx);
  t.same(devices(linux), ['ifb0', 'ifb1', 'eth0']);
  const si = {
    ...defaultSourceDeps().si,
    networkStats: async () => [{ iface: 'en0', rx_bytes: 10, tx_bytes: 20, rx_errors: 1, tx_errors: 2, rx_dropped: 3, tx_dropped: 4 } as never],
  };
  const other = await networkSource.create({}, depsAt('missing', { platform: 'darwin', si })).collect(ctx);
  t.equal(find(other, 'node_network_receive_bytes_total', 'en0'), 10);
  t.equal(find(other, 'node_network_transmit_drop_total', 'en0'), 4);
  t.equal(other.length, 6);
});
