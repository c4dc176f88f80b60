import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes, createLogger, type Logger } from '@ximp/shared';
import { SeriesTable } from '../src/series-table';

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-series-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A logger whose JSON lines land in `lines`. */
function captureLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ name: 'test', level: 'debug', destination: { write: (s: string) => lines.push(JSON.parse(s)) } });
  return { log, lines };
}

async function openTable(file: string, extra: { log?: Logger; maxSeries?: number } = {}): Promise<SeriesTable> {
  const table = new SeriesTable({ file, fsync: false, ...extra });
  await table.open();
  t.teardown(() => table.close());
  return table;
}

t.test('ids are 1, 2, 3, ... and stable for the same name and label set', async (t) => {
  const table = await openTable(path.join(tempDir(), 'series.log'));
  t.equal(table.idFor('node_load1', {}), 1);
  t.equal(table.idFor('node_cpu_seconds_total', { cpu: '0', mode: 'idle' }), 2);
  t.equal(table.idFor('node_cpu_seconds_total', { mode: 'idle', cpu: '0' }), 2, 'label order does not matter');
  t.equal(table.idFor('node_cpu_seconds_total', { cpu: '1', mode: 'idle' }), 3);
  t.equal(table.idFor('node_load1', {}), 1);
  t.equal(table.count, 3);
  t.equal(table.lookup('node_cpu_seconds_total', { mode: 'idle', cpu: '1' }), 3, 'lookup finds a known series in any label order');
  t.equal(table.lookup('node_cpu_seconds_total', { cpu: '2', mode: 'idle' }), undefined, 'lookup never assigns an id');
  t.equal(table.count, 3);
  t.same(table.definition(2), {
    id: 2,
    name: 'node_cpu_seconds_total',
    labels: [
      { name: 'cpu', value: '0' },
      { name: 'mode', value: 'idle' },
    ],
  });
  t.equal(table.definition(0), undefined);
  t.equal(table.definition(4), undefined);
  t.equal(table.definition(1.5), undefined);
});

t.test('keys cannot collide through separators in names or values', async (t) => {
  const table = await openTable(path.join(tempDir(), 'series.log'));
  const a = table.idFor('m', { a: 'x","b' });
  const b = table.idFor('m', { a: 'x', b: '' });
  const c = table.idFor('m', { 'a\u0000x': '' });
  t.not(a, b);
  t.not(b, c);
  t.not(a, c);
});

t.test('a __proto__ label key works, from a null-prototype object, JSON or a Map', async (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'series.log');
  const table = await openTable(file);
  const labels = Object.create(null) as Record<string, string>;
  labels.__proto__ = 'p';
  labels.device = 'sda';
  const id = table.idFor('node_disk_read_bytes_total', labels);
  t.equal(table.idFor('node_disk_read_bytes_total', JSON.parse('{"device":"sda","__proto__":"p"}')), id);
  t.equal(table.idFor('node_disk_read_bytes_total', new Map([['__proto__', 'p'], ['device', 'sda']])), id);
  t.same(table.definition(id)?.labels, [
    { name: '__proto__', value: 'p' },
    { name: 'device', value: 'sda' },
  ]);
  await table.close();
  const again = await openTable(file);
  t.same(again.definition(id)?.labels, [
    { name: '__proto__', value: 'p' },
    { name: 'device', value: 'sda' },
  ]);
  t.equal(again.idFor('node_disk_read_bytes_total', labels), id);
});

t.test('ids survive a restart once flushed; new ids continue after the highest', async (t) => {
  const file = path.join(tempDir(), 'series.log');
  const first = new SeriesTable({ file });
  t.equal(await first.open(), 'created');
  for (let i = 0; i < 100; i++) first.idFor('m', { i: String(i) });
  t.ok(first.dirty);
  await first.flush();
  t.notOk(first.dirty);
  first.idFor('late', {});
  await first.close(); // close flushes too
  await first.close(); // idempotent

  const second = new SeriesTable({ file });
  t.equal(await second.open(), 'loaded');
  t.teardown(() => second.close());
  t.equal(second.count, 101);
  t.equal(second.idFor('m', { i: '42' }), 43);
  t.equal(second.idFor('late', {}), 101);
  t.equal(second.idFor('new', {}), 102);
});

t.test('a torn tail is cut off and the earlier definitions survive', async (t) => {
  const file = path.join(tempDir(), 'series.log');
  const first = await openTable(file);
  first.idFor('a', {});
  first.idFor('b', {});
  first.idFor('c', {});
  await first.close();
  const size = fs.statSync(file).size;
  fs.truncateSync(file, size - 3);

  const { log, lines } = captureLog();
  const second = await openTable(file, { log });
  t.equal(second.count, 2);
  t.equal(second.idFor('a', {}), 1);
  t.equal(second.idFor('b', {}), 2);
  t.ok(lines.some((l) => l.msg === 'series table tail repaired'));
  t.ok(fs.statSync(file).size < size - 3, 'the partial record was truncated away');
  t.equal(second.idFor('d', {}), 3, 'the torn id was never used by a durable batch, so it is free again');
  await second.close();
  const third = await openTable(file);
  t.equal(third.count, 3, 'appending after the repair yields a clean log');
});

t.test('a flipped byte loses one definition, not the table, and its id is not reused', async (t) => {
  const file = path.join(tempDir(), 'series.log');
  const first = await openTable(file);
  first.idFor('alpha', {});
  first.idFor('bravo', {});
  first.idFor('charlie', {});
  await first.close();
  const image = fs.readFileSync(file);
  const at = image.indexOf('bravo');
  image[at] ^= 0x20;
  fs.writeFileSync(file, image);

  const { log, lines } = captureLog();
  const second = await openTable(file, { log });
  t.equal(second.definition(1)?.name, 'alpha');
  t.equal(second.definition(2), undefined);
  t.equal(second.definition(3)?.name, 'charlie');
  t.equal(second.idFor('delta', {}), 4);
  t.ok(lines.some((l) => l.msg === 'series table records unreadable, skipped' && l.records === 1));
});

t.test('an unreadable header resets the table and says so', async (t) => {
  const file = path.join(tempDir(), 'series.log');
  fs.writeFileSync(file, 'not a series table at all');
  const table = new SeriesTable({ file, fsync: false });
  t.equal(await table.open(), 'reset');
  t.teardown(() => table.close());
  t.equal(table.idFor('a', {}), 1);
});

t.test('more series than the bound is an error with a code', async (t) => {
  const table = await openTable(path.join(tempDir(), 'series.log'), { maxSeries: 3 });
  table.idFor('a', {});
  table.idFor('b', {});
  table.idFor('c', {});
  t.throws(() => table.idFor('d', {}), { code: ErrorCodes.SERIES_LIMIT });
  t.equal(table.idFor('b', {}), 2, 'known series still resolve');
});

t.test('the log file is created 0600', async (t) => {
  const file = path.join(tempDir(), 'series.log');
  await openTable(file);
  t.equal(fs.statSync(file).mode & 0o777, 0o600);
});
