import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { KernelFileReader } from '../src/kernel-file-reader';

const linuxOnly = process.platform === 'linux' ? false : 'reads /proc';
const openDescriptors = (): number => fs.readdirSync('/proc/self/fd').length;

t.test('a kept descriptor reads the kernel file afresh each time, and no new one is opened', { skip: linuxOnly }, async (t) => {
  const reader = new KernelFileReader();
  t.teardown(() => reader.close());
  const first = reader.read('/proc/uptime');
  const opened = openDescriptors();
  let last = first;
  for (let i = 0; i < 100 && last === first; i++) {
    await new Promise((r) => setTimeout(r, 20));
    last = reader.read('/proc/uptime');
  }
  t.not(last, first, 'a later read sees the kernel\'s newer text');
  t.match(last, /^\d+\.\d+ \d+\.\d+\n$/, 'whole, from its first byte');
  t.equal(openDescriptors(), opened, 'the same descriptor served every read');
  reader.close();
  t.equal(openDescriptors(), opened - 1, 'close() releases it');
});

t.test('a file larger than the buffer is read whole', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'big');
  const text = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'é'.repeat(i % 7)}`).join('\n');
  fs.writeFileSync(file, text);
  const reader = new KernelFileReader();
  t.teardown(() => reader.close());
  t.equal(reader.read(file), text);
  t.equal(reader.read(file), text, 'and again from the kept descriptor');
});

t.test('a read that fails is thrown, and its descriptor is not kept', async (t) => {
  const dir = t.testdir();
  const reader = new KernelFileReader();
  t.teardown(() => reader.close());
  t.throws(() => reader.read(path.join(dir, 'missing')), { code: 'ENOENT' });
  const before = openDescriptors();
  t.throws(() => reader.read(dir), { code: 'EISDIR' }, 'opened, but its read fails');
  t.equal(openDescriptors(), before, 'the failed descriptor was closed');
  t.throws(() => reader.read(dir), { code: 'EISDIR' }, 'the next read tries anew and fails the same way');
});

t.test('at most 32 descriptors are kept; further files are read whole each time', { skip: linuxOnly }, async (t) => {
  const dir = t.testdir();
  const reader = new KernelFileReader();
  t.teardown(() => reader.close());
  const before = openDescriptors();
  for (let i = 0; i < 40; i++) {
    fs.writeFileSync(path.join(dir, `f${i}`), `file ${i}\n`);
    t.equal(reader.read(path.join(dir, `f${i}`)), `file ${i}\n`);
  }
  t.equal(openDescriptors() - before, 32);
});

t.test('a file past the 16 MiB bound is an error naming it, and its descriptor is not kept', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'huge');
  const reader = new KernelFileReader();
  t.teardown(() => reader.close());
  fs.writeFileSync(file, Buffer.alloc(16 * 1024 * 1024, 0x61));
  t.equal(reader.read(file).length, 16 * 1024 * 1024, 'exactly 16 MiB is read whole');
  fs.appendFileSync(file, 'a');
  const withKept = openDescriptors();
  t.throws(() => reader.read(file), { message: `${file}: larger than 16777216 bytes` }, 'one byte more is not');
  t.equal(openDescriptors(), withKept - 1, 'its kept descriptor was closed');
  fs.writeFileSync(file, 'small again\n');
  t.equal(reader.read(file), 'small again\n', 'the next read opens it anew');
});
