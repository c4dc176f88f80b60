import t from 'tap';
import { formatFields, formatTable } from '../dist/cli/table';
import { formatTimeCell, isoSeconds, relativeTime } from '../dist/cli/relative-time';

t.test('tables align columns and show "-" for empty cells', async (t) => {
  const text = formatTable(['ID', 'NODE', 'DAYS-LEFT'], [
    ['a1', 'compute-node-04', 12],
    ['b22', null, 0],
  ]);
  t.equal(text, ['ID   NODE             DAYS-LEFT', 'a1   compute-node-04  12', 'b22  -                0', ''].join('\n'));
  t.equal(formatTable(['NODE', 'STATE'], []), 'NODE  STATE\n', 'no rows: the header alone');
  t.equal(formatTable(['A'], [['x\ny']]), 'A\nx\\ny\n', 'a newline in a value cannot forge a row: it shows as \\n');
});

t.test('key: value fields', async (t) => {
  t.equal(formatFields([['id', 'abc'], ['expires', null], ['token', 'ximp_x']]), 'id:      abc\nexpires: -\ntoken:   ximp_x\n');
});

t.test('relative time', async (t) => {
  const now = Date.UTC(2026, 10, 23, 19, 31, 17);
  t.equal(relativeTime(now - 12_000, now), '12s ago');
  t.equal(relativeTime(now - 500, now), 'now');
  t.equal(relativeTime(now - 59_999, now), '59s ago');
  t.equal(relativeTime(now - 60_000, now), '1m ago');
  t.equal(relativeTime(now - 3 * 3_600_000 - 5, now), '3h ago');
  t.equal(relativeTime(now - 49 * 3_600_000, now), '2d ago');
  t.equal(relativeTime(now + 364 * 86_400_000 + 1000, now), 'in 364d');
  t.equal(relativeTime(now + 90_000, now), 'in 1m');
});

t.test('time cells', async (t) => {
  const now = Date.UTC(2026, 10, 23, 19, 31, 17);
  t.equal(isoSeconds(Date.UTC(2026, 10, 23, 19, 31, 5, 250)), '2026-11-23T19:31:05Z');
  t.equal(formatTimeCell('2026-11-23T19:31:05.000Z', now), '2026-11-23T19:31:05Z (12s ago)');
  t.equal(formatTimeCell('2026-11-23T19:31:05.250Z', now), '2026-11-23T19:31:05Z (11s ago)', 'whole seconds, rounded down');
  t.equal(formatTimeCell(null, now), '-');
  t.equal(formatTimeCell(undefined, now), '-');
  t.equal(formatTimeCell('garbage', now), 'garbage');
});
