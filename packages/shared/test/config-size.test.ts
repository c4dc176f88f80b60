import fc from 'fast-check';
import t from 'tap';
import { formatSize, parseSize } from '../src/config/size';

t.test('binary units are powers of 1024', async (t) => {
  t.equal(parseSize('64MiB'), 64 * 1024 * 1024);
  t.equal(parseSize('1GiB'), 1024 ** 3);
  t.equal(parseSize('512KiB'), 512 * 1024);
  t.equal(parseSize('100B'), 100);
  t.equal(parseSize('2TiB'), 2 * 1024 ** 4);
});

t.test('decimal units are powers of 1000', async (t) => {
  t.equal(parseSize('1KB'), 1000);
  t.equal(parseSize('10MB'), 10_000_000);
  t.equal(parseSize('2GB'), 2_000_000_000);
});

t.test('rejects anything else', async (t) => {
  for (const bad of ['', '64', '64mib', '64 MiB', '1.5GiB', '-1B', 'MiB', '64M', '64MiBs', '9999999999999999TiB']) {
    t.equal(parseSize(bad), null, JSON.stringify(bad));
  }
});

t.test('formatSize picks the largest exact binary unit and round-trips', async (t) => {
  t.equal(formatSize(64 * 1024 * 1024), '64MiB');
  t.equal(formatSize(1536), '1536B');
  t.equal(formatSize(0), '0B');
  t.throws(() => formatSize(1.5));
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 50 }), (n) => parseSize(formatSize(n)) === n));
});
