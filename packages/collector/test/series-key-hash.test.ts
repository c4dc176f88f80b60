/**
 * The series index holds a 64-bit hash of each key in place of the key: two keys of one node
 * that shared a hash would be taken for one series, so the hash must spread structured keys
 * (names and labels that differ in a digit) as a random function would.
 */
import t from 'tap';
import { labelsJsonOf } from '../src/store/metric-store';
import { adoptSeriesKey, hashSeries, hashSeriesKey, keyHash } from '../src/store/series-key-hash';

function hash(key: string): [number, number] {
  hashSeriesKey(key);
  return [keyHash[0], keyHash[1]];
}

t.test('the same key hashes the same; keys that differ by length, padding or one unit do not', async (t) => {
  t.same(hash('node_load1\u0000[]'), hash('node_load1\u0000[]'));
  const keys = ['', '\u0000', '\u0000\u0000', 'a', 'a\u0000', 'ab', 'ba', 'abc', 'abd', '\ud800', '\udc00\ud800', 'é', 'm\u0000[["i","1"]]', 'm\u0000[["i","10"]]'];
  const seen = new Set(keys.map((k) => hash(k).join(':')));
  t.equal(seen.size, keys.length);
});

t.test('half a million structured keys: no 64-bit collision, and each half collides as a random 32-bit value would', async (t) => {
  const whole = new Set<string>();
  const high = new Set<number>();
  const low = new Set<number>();
  const modes = ['idle', 'user', 'system', 'iowait', 'irq', 'softirq', 'steal', 'nice', 'guest', 'guest_nice'];
  let n = 0;
  const add = (key: string) => {
    const [h, l] = hash(key);
    whole.add(`${h}:${l}`);
    high.add(h);
    low.add(l);
    n++;
  };
  for (let i = 0; i < 250_000; i++) add(`m\u0000[["i","${i}"]]`);
  for (let cpu = 0; cpu < 25_000; cpu++) for (const mode of modes) add(`node_cpu_seconds_total\u0000[["cpu","${cpu}"],["mode","${mode}"]]`);
  t.equal(n, 500_000);
  t.equal(whole.size, n, 'no two keys share a hash');
  // Half a million random 32-bit values collide about n^2 / 2^33 = 29 times.
  t.ok(n - high.size < 90, `${n - high.size} collisions of the high word`);
  t.ok(n - low.size < 90, `${n - low.size} collisions of the low word`);
});

t.test('changing one character flips about half of the 64 bits', async (t) => {
  const popcount = (x: number) => {
    let c = 0;
    for (let v = x >>> 0; v !== 0; v &= v - 1) c++;
    return c;
  };
  let flipped = 0;
  let trials = 0;
  const perBit = new Array<number>(64).fill(0);
  for (let i = 0; i < 2_000; i++) {
    const key = `node_network_receive_bytes_total\u0000[["device","eth${i}"]]`;
    const [h0, l0] = hash(key);
    for (let at = 0; at < key.length; at += 7) {
      const changed = key.slice(0, at) + String.fromCharCode(key.charCodeAt(at) ^ 1) + key.slice(at + 1);
      const [h1, l1] = hash(changed);
      const dh = (h0 ^ h1) >>> 0;
      const dl = (l0 ^ l1) >>> 0;
      flipped += popcount(dh) + popcount(dl);
      for (let b = 0; b < 32; b++) {
        perBit[b] += (dh >>> b) & 1;
        perBit[32 + b] += (dl >>> b) & 1;
      }
      trials++;
    }
  }
  const mean = flipped / trials;
  t.ok(mean > 31 && mean < 33, `${mean.toFixed(2)} bits flipped on average`);
  const worst = Math.max(...perBit.map((c) => Math.abs(c / trials - 0.5)));
  t.ok(worst < 0.03, `every bit flips with a probability within 0.03 of a half (worst ${worst.toFixed(3)})`);
});

t.test('a series hashed from its name and labels hashes as its key does, or declines where the key needs an escape or a sort', async (t) => {
  let seed = 11;
  const random = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const plain = 'abcxyz_:019 /.-=%~é漢';
  const awkward = ['"', '\\', '\n', '\u0000', '\u001f', '\ud800', '\udc00', '\ud83d\ude00'];
  const text = (max: number, escapes: boolean): string => {
    let out = '';
    for (let n = random(max + 1); n > 0; n--) out += escapes && random(12) === 0 ? awkward[random(awkward.length)] : plain[random(plain.length)];
    return out;
  };
  let hashed = 0;
  let declined = 0;
  let wrong = 0;
  for (let i = 0; i < 20_000; i++) {
    const escapes = random(4) === 0;
    const labels = Array.from({ length: random(5) }, () => ({ name: text(6, false) || 'n', value: text(12, escapes) }));
    if (random(3) > 0) labels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const name = text(20, false) || 'm';
    const key = `${name}\u0000${labelsJsonOf(labels)}`;
    const needsEscape = labels.some((l) => JSON.stringify(l.value) !== `"${l.value}"` || /[\ud800-\udfff]/.test(l.value));
    const unsorted = labels.some((l, k) => k > 0 && labels[k - 1].name > l.name);
    keyHash[0] = 0;
    keyHash[1] = 0;
    if (hashSeries(name, labels)) {
      hashed++;
      const streamed = [keyHash[0], keyHash[1]];
      hashSeriesKey(key);
      if (streamed[0] !== keyHash[0] || streamed[1] !== keyHash[1] || needsEscape || unsorted) wrong++;
    } else {
      declined++;
      if (!needsEscape && !unsorted) wrong++;
    }
  }
  t.equal(wrong, 0, 'the same hash as the built key whenever it answers; declined only where it must');
  t.ok(hashed > 10_000 && declined > 3_000, `${hashed} hashed, ${declined} declined`);
});

t.test('a key adopted after hashSeries is not hashed again; any other key is', async (t) => {
  const labels = [{ name: 'cpu', value: '0' }];
  const key = `node_cpu_seconds_total\u0000${labelsJsonOf(labels)}`;
  hashSeriesKey(key);
  const expected = [keyHash[0], keyHash[1]];
  t.ok(hashSeries('node_cpu_seconds_total', labels));
  adoptSeriesKey(key);
  keyHash[0] = 1;
  hashSeriesKey(key);
  t.equal(keyHash[0], 1, 'adopted: taken as hashed');
  hashSeriesKey('other');
  hashSeriesKey(key);
  t.same([keyHash[0], keyHash[1]], expected, 'after another key, hashed anew');
});
