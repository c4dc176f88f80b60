import t from 'tap';
import { SeriesIdMap } from '../src/ingest/series-id-map';

t.test('maps dense, sparse and out-of-range ids like a Map would', (t) => {
  const map = new SeriesIdMap();
  const reference = new Map<number, number>();
  let seed = 7;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let k = 0; k < 20_000; k++) {
    const pick = random(10);
    const agentId = pick < 6 ? random(3000) : pick < 9 ? random(200_000) : 0xffff_fff0 + random(15);
    const collectorId = random(4) === 0 ? 0xffff_ffff : random(1_000_000);
    map.set(agentId, collectorId);
    reference.set(agentId, collectorId);
  }
  t.equal(map.size, reference.size, 'size counts each id once');
  let wrong = 0;
  for (const [id, v] of reference) if (map.get(id) !== v) wrong++;
  for (let id = 0; id < 5000; id++) if (!reference.has(id) && map.get(id) !== undefined) wrong++;
  t.equal(wrong, 0, 'every id reads back as set, and only those');

  const ids = Uint32Array.from([...reference.keys()].slice(0, 500));
  const expected = Array.from(ids, (id) => reference.get(id)! >>> 0);
  t.equal(map.mapInPlace(ids), -1, 'all defined');
  t.same(Array.from(ids), expected, 'mapped in place');
  t.end();
});

t.test('an undefined id stops the mapping at its index', (t) => {
  const map = new SeriesIdMap();
  map.set(1, 10);
  map.set(2, 20);
  map.set(5_000_000, 30);
  const ids = Uint32Array.from([1, 5_000_000, 3, 2]);
  t.equal(map.mapInPlace(ids), 2);
  t.same(Array.from(ids), [10, 30, 3, 2], 'the undefined id and what follows are left as they were');
  t.equal(map.get(3), undefined);
  t.equal(map.get(0), undefined, 'no id 0 unless defined');
  map.set(0, 0);
  t.equal(map.get(0), 0, 'collector id 0 is a value, not "none"');
  t.end();
});

t.test('a sparse id moves into the array when the array grows over it', (t) => {
  const map = new SeriesIdMap();
  map.set(3000, 7); // beyond the array's reach while the session holds nothing
  for (let id = 1; id <= 2000; id++) map.set(id, id * 2);
  t.equal(map.get(3000), 7);
  map.set(3000, 8);
  t.equal(map.get(3000), 8);
  t.equal(map.size, 2001);
  const ids = Uint32Array.from([3000, 1999]);
  t.equal(map.mapInPlace(ids), -1);
  t.same(Array.from(ids), [8, 3998]);
  t.end();
});
