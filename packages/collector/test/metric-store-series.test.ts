/**
 * Series of a session: written inside the group commit, admitted against per-node limits that
 * survive reconnects, resolved from a per-node index read once and kept within a byte bound, and
 * removed by retention once nothing can refer to them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ErrorCodes } from '@ximp/shared';
import BetterSqlite3 = require('better-sqlite3');
import { DATABASE_FILE, openDatabase, type Database } from '../src/store/database';
import { labelsJsonOf, MetricStore, type MetricStoreOptions } from '../src/store/metric-store';
import { idOf, packSeries, SeriesIndex, stampOf } from '../src/store/series-index';
import { SeriesHold } from '../src/store/series-hold';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

function setup(t: { teardown(fn: () => void | Promise<void>): void }, options: MetricStoreOptions = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-series-'));
  const clock = { now: Date.UTC(2026, 0, 1) };
  const state: { db: Database; store: MetricStore } = { db: openDatabase(dir), store: undefined as unknown as MetricStore };
  const make = () => new MetricStore(state.db, { now: () => clock.now, ...options });
  state.store = make();
  t.teardown(async () => {
    await state.store.stop();
    state.db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    clock,
    state,
    async reopen(): Promise<MetricStore> {
      await state.store.stop();
      state.db.close();
      state.db = openDatabase(dir);
      state.store = make();
      await state.store.start();
      return state.store;
    },
  };
}

const rows = (db: Database): number => (db.prepare('SELECT COUNT(*) AS n FROM series').get() as { n: number }).n;
const label = (i: number) => [{ name: 'i', value: String(i) }];

t.test('a new series is written by the group commit, not by its own transaction', async (t) => {
  const { state, clock } = setup(t);
  const s = state.store;
  await s.start();
  const held = new SeriesHold();
  const a = s.resolveSeries('n1', 'm', label(1), held);
  const b = s.resolveSeries('n1', 'm', label(2), held);
  t.not(a, b);
  t.equal(s.resolveSeries('n1', 'm', label(1), held), a, 'the same series again: the same id (a cache hit)');
  t.equal(rows(state.db), 0, 'nothing written yet');
  t.equal(s.commits, 0);
  await s.append({ node: 'n1', streamId: 'st', sequence: 1, timestampMs: clock.now, seriesIds: Uint32Array.of(a, b), values: Float64Array.of(1, 2) });
  t.equal(rows(state.db), 2, 'written with the batch');
  t.equal(s.commits, 1, 'in the batch\'s commit');
  t.equal(s.counters.seriesCreated, 2);
  t.same(s.query('n1', 'm', 0, clock.now).map((x) => x.labels.i), ['1', '2']);
  t.equal(new MetricStore(state.db).seriesId('n1', 'm', label(2)), b, 'the row is there for every reader');
});

t.test('a failed commit keeps its series for the next one', async (t) => {
  const { state, clock } = setup(t);
  const s = state.store;
  await s.start();
  state.db.exec("CREATE TEMP TRIGGER fail_all BEFORE INSERT ON batches BEGIN SELECT RAISE(ABORT, 'injected fault'); END");
  const id = s.resolveSeries('n1', 'm', label(1), new SeriesHold());
  const b = { node: 'n1', streamId: 'st', sequence: 1, timestampMs: clock.now, seriesIds: Uint32Array.of(id), values: Float64Array.of(1) };
  await t.rejects(s.append(b), { code: ErrorCodes.STORE_FAILED });
  t.equal(rows(state.db), 0, 'rolled back with the batch');
  t.equal(s.resolveSeries('n1', 'm', label(1), new SeriesHold()), id, 'still known by its id');
  state.db.exec('DROP TRIGGER fail_all');
  await s.append(b);
  t.equal(rows(state.db), 1);
  t.equal(s.seriesId('n1', 'm', label(1)), id);
});

t.test('a series waiting for its commit keeps its id though the cache evicted it', async (t) => {
  const { state, clock } = setup(t, { seriesCacheBytes: 1 });
  const s = state.store;
  await s.start();
  const held = new SeriesHold();
  const ids = [1, 2, 3].map((i) => s.resolveSeries('n1', 'm', label(i), held));
  t.same([1, 2, 3].map((i) => s.resolveSeries('n1', 'm', label(i), held)), ids);
  await s.append({ node: 'n1', streamId: 'st', sequence: 1, timestampMs: clock.now, seriesIds: Uint32Array.from(ids), values: Float64Array.of(1, 2, 3) });
  t.equal(rows(state.db), 3, 'one row each, no duplicate key');
  t.same([1, 2, 3].map((i) => s.resolveSeries('n1', 'm', label(i), held)), ids, 'read back from the table');
});

t.test('per-node series limit: counts rows, so a reconnect or a restart does not reset it', async (t) => {
  const env = setup(t, { seriesLimits: { maxSeriesPerNode: 5, maxNewSeriesPerMinute: 1000 } });
  let s = env.state.store;
  await s.start();
  for (let i = 0; i < 3; i++) s.resolveSeries('n1', 'm', label(i), new SeriesHold());
  await s.stop();
  s = await env.reopen();
  const session = new SeriesHold();
  s.resolveSeries('n1', 'm', label(3), session);
  s.resolveSeries('n1', 'm', label(4), session);
  t.throws(() => s.resolveSeries('n1', 'm', label(5), new SeriesHold()), { code: ErrorCodes.SERIES_LIMIT }, 'the sixth series of the node');
  t.equal(s.resolveSeries('n1', 'm', label(0), new SeriesHold()) > 0, true, 'a known series is still fine');
  t.ok(s.resolveSeries('n2', 'm', label(5), new SeriesHold()) > 0, 'other nodes have their own limit');
  t.equal(s.seriesCache.entries > 0, true);
});

t.test('new series per node per minute', async (t) => {
  const { state, clock } = setup(t, { seriesLimits: { maxSeriesPerNode: 1000, maxNewSeriesPerMinute: 3 } });
  const s = state.store;
  for (let i = 0; i < 3; i++) s.resolveSeries('n1', 'm', label(i), new SeriesHold());
  t.throws(() => s.resolveSeries('n1', 'm', label(3), new SeriesHold()), { code: ErrorCodes.SERIES_LIMIT });
  t.ok(s.resolveSeries('n2', 'm', label(3), new SeriesHold()) > 0, 'per node');
  clock.now += 60_000;
  t.ok(s.resolveSeries('n1', 'm', label(3), new SeriesHold()) > 0, 'a new minute, a new allowance');
});

t.test('series id space exhausted is a store failure, not a crash', async (t) => {
  const { state } = setup(t);
  state.db.prepare("INSERT INTO series (id, node, name, labels_json, last_used_ms) VALUES (4294967295, 'n0', 'x', '[]', 0)").run();
  t.throws(() => state.store.resolveSeries('n1', 'm', [], new SeriesHold()), { code: ErrorCodes.STORE_FAILED });
  t.throws(() => state.store.seriesId('n1', 'm', []), { code: ErrorCodes.STORE_FAILED });
});

t.test('retention removes series nothing can refer to, never one a live session holds', async (t) => {
  const { state, clock } = setup(t);
  const s = state.store;
  await s.start();
  const retention = 15 * DAY;
  const sessionA = new SeriesHold();
  const sessionB = new SeriesHold();
  const kept = s.resolveSeries('n1', 'm', label(1), sessionA);
  const released = s.resolveSeries('n1', 'm', label(2), sessionB);
  const pendingOnly = new SeriesHold();
  await s.append({ node: 'n1', streamId: 'st', sequence: 1, timestampMs: clock.now, seriesIds: Uint32Array.of(kept, released), values: Float64Array.of(1, 2) });
  s.releaseSeries(sessionB);
  t.equal(sessionB.size, 0);

  clock.now += retention;
  t.equal(s.applyRetention(clock.now, retention), 0, 'the batch is exactly at the cutoff and stays');
  t.equal(s.removeUnusedSeries(clock.now, clock.now - retention), 0, 'nothing is old enough yet');

  clock.now += 2 * HOUR;
  // Defined in a live session, its batch not yet committed: not even in the table.
  const fresh = s.resolveSeries('n1', 'm', label(3), pendingOnly);
  t.equal(s.applyRetention(clock.now, retention), 1, 'the batch is deleted');
  t.equal(rows(state.db), 2, 'the released series outlives its batches by a day (a stamp may be a day old)');
  clock.now += DAY;
  t.equal(s.applyRetention(clock.now, retention), 0);
  t.equal(rows(state.db), 1, 'then the released series is removed; the held one stays');
  t.equal(s.counters.seriesRemoved, 1);
  t.equal(s.seriesId('n1', 'm', label(1)), kept);
  const again = s.resolveSeries('n1', 'm', label(2), new SeriesHold());
  t.not(again, released, 'a removed series defined again gets a new row');
  await s.append({ node: 'n1', streamId: 'st', sequence: 2, timestampMs: clock.now, seriesIds: Uint32Array.of(fresh, again), values: Float64Array.of(3, 4) });
  t.equal(rows(state.db), 3, 'the pending one was written by its commit');

  // A held series is stamped again once its stamp is a day old, so a collector killed later does not lose it.
  clock.now += 20 * DAY;
  s.applyRetention(clock.now, retention);
  const stamp = state.db.prepare('SELECT last_used_ms AS ms FROM series WHERE id = ?');
  t.equal((stamp.get(kept) as { ms: number }).ms, clock.now);
  const stampedAt = clock.now;
  clock.now += HOUR;
  s.applyRetention(clock.now, retention);
  t.equal((stamp.get(kept) as { ms: number }).ms, stampedAt, 'a fresh stamp is not written again at every pass');
});

t.test('a series two sessions hold stays while either holds it; stamps a pass cannot write go with the next commit', async (t) => {
  const { state, clock } = setup(t);
  const s = state.store;
  await s.start();
  const retention = 15 * DAY;
  const stamp = (id: number) => (state.db.prepare('SELECT last_used_ms AS ms FROM series WHERE id = ?').get(id) as { ms: number } | undefined)?.ms;
  const first = new SeriesHold();
  const second = new SeriesHold();
  const shared = s.resolveSeries('n1', 'm', label(1), first);
  t.equal(s.resolveSeries('n1', 'm', label(1), second), shared);
  // The second holder also holds a series of another node (as a test, not a session, may).
  const other = s.resolveSeries('n2', 'm', label(1), second);
  await s.append({ node: 'n1', streamId: 'st', sequence: 1, timestampMs: clock.now, seriesIds: Uint32Array.of(shared, other), values: Float64Array.of(1, 2) });
  s.releaseSeries(first);
  t.equal(first.size, 0);

  clock.now += retention + 3 * DAY;
  state.db.exec("CREATE TEMP TRIGGER fail_stamp BEFORE UPDATE ON series BEGIN SELECT RAISE(ABORT, 'injected fault'); END");
  t.throws(() => s.applyRetention(clock.now, retention), /injected fault/, 'the pass cannot stamp the held series');
  state.db.exec('DROP TRIGGER fail_stamp');
  t.equal(rows(state.db), 2, 'and so removes nothing');
  await s.append({ node: 'n1', streamId: 'st', sequence: 2, timestampMs: clock.now, seriesIds: Uint32Array.of(), values: Float64Array.of() });
  t.equal(stamp(shared), clock.now, "the next commit wrote the pass's stamps");
  t.equal(stamp(other), clock.now);

  clock.now += retention + 3 * DAY;
  s.applyRetention(clock.now, retention);
  t.equal(rows(state.db), 2, 'still held by the second session: stamped again, not removed');
  t.equal(stamp(shared), clock.now);
  s.releaseSeries(second);
  clock.now += retention + 3 * DAY;
  s.applyRetention(clock.now, retention);
  t.equal(rows(state.db), 0, 'once no session holds them, both go');
  t.equal(s.counters.seriesRemoved, 2);
});

t.test('a held series counts as stamped before a time by its hour, never later than its row', async (t) => {
  const hold = new SeriesHold();
  const at = (h: number, m = 0) => Date.UTC(2026, 0, 1, h, m);
  hold.add(1, at(10, 30));
  hold.add(2, at(11));
  const before = (ms: number) => {
    const ids: number[] = [];
    hold.forEachStampedBefore(ms, (id) => ids.push(id));
    return ids;
  };
  t.same(before(at(10)), [], 'neither is older than 10:00');
  t.same(before(at(10, 45)), [1], 'kept as 10:00, the first may be older than 10:45');
  t.same(before(at(11)), [1]);
  t.same(before(at(11, 1)), [1, 2]);
  hold.restampBefore(at(11), at(12));
  t.same(before(at(11, 1)), [2], 'the first now counts as stamped at 12:00');
  t.ok(hold.has(2));
  t.notOk(hold.has(3));
  for (let i = 0; i < 200; i++) hold.add(100 + i, at(12));
  t.equal(hold.size, 202);
  t.same(Array.from(hold.ids().subarray(0, 3)), [1, 2, 100], 'grown past its first arrays, in order');
  hold.clear();
  t.equal(hold.size, 0);
  t.notOk(hold.has(1));
});

t.test('series rows from before the upgrade count as used at the upgrade', async (t) => {
  const { state } = setup(t);
  const col = state.db.prepare("SELECT COUNT(*) AS n FROM pragma_table_info('series') WHERE name = 'last_used_ms'").get() as { n: number };
  t.equal(col.n, 1);
});

t.test('series index: bounded in bytes, least recently used node dropped whole, one node at most half the bound', async (t) => {
  // A node named by one letter costs 258 bytes and 16 per entry as allocated (8, 10, 13, 17, 22, 28, 35 ... entries).
  const index = new SeriesIndex(1_500);
  const a = index.open('a');
  for (let i = 0; i < 20; i++) t.ok(index.fill(a, `a${i}`, packSeries(i, 0)));
  t.ok(a.complete);
  t.equal(a.bytes, 258 + 22 * 16, 'its name, its object and 22 entries as allocated, whatever the keys\' lengths');
  const b = index.open('b');
  index.add(b, 'b0', packSeries(100, 0));
  t.equal(index.size, 21);
  t.equal(index.get('a'), a, 'a is now the most recently used node');
  const c = index.open('c');
  for (let i = 0; i < 20; i++) index.add(c, `c${i}`, packSeries(200 + i, 0));
  t.ok(index.bytes <= 1_500, `${index.bytes} bytes`);
  t.equal(index.get('b'), undefined, 'the least recently used node went, whole');
  t.equal(index.get('a'), a);
  t.equal(idOf(a.get('a7') as number), 7);
  t.equal(a.get('c7'), undefined, "another node's key is not this node's");
  // c grows past half the bound (750 bytes: 28 entries): it keeps what it holds and no longer claims to hold all.
  t.ok(c.complete);
  for (let i = 20; i < 40; i++) index.add(c, `c${i}`, packSeries(200 + i, 0));
  t.notOk(c.complete, 'c is now a cache of some of its series');
  t.equal(c.size, 28);
  t.ok(c.bytes <= 750, `${c.bytes} bytes for one node`);
  t.equal(idOf(c.get('c27') as number), 227);
  t.equal(c.get('c28'), undefined, 'beyond the share: not held');
  index.add(c, 'c3', packSeries(203, 7 * 3600_000));
  t.equal(stampOf(c.get('c3') as number), 7 * 3600_000, 'a series it holds is still restamped when full');
  t.ok(index.bytes <= 1_500);
  index.delete('a', 'a1');
  index.delete('a', 'absent');
  t.equal(a.size, 19);
  t.equal(a.get('a1'), undefined);
  t.equal(index.size, 19 + 28);
  // Loading stops at the node's share.
  const d = index.open('d');
  let filled = 0;
  while (index.fill(d, `d${filled}`, packSeries(filled, 0))) filled++;
  t.equal(filled, 28);
  t.notOk(d.complete);
  const tiny = new SeriesIndex(10);
  const e = tiny.open('e');
  tiny.add(e, 'key', packSeries(1, 0));
  t.notOk(e.complete, 'an index larger than the bound is not kept');
  t.equal(tiny.size, 0);
  t.equal(tiny.bytes, 0);
});

t.test('series index: room made at once for what a load or a first batch brings, within the share', async (t) => {
  const index = new SeriesIndex(20_000);
  const a = index.open('a');
  index.reserve(a, 700);
  t.equal(a.bytes, 258 + 608 * 16, 'capped at the share (10,000 bytes): 608 entries');
  const b = index.open('b');
  index.reserve(b, 40);
  t.equal(b.bytes, 258 + 40 * 16, 'exactly 40 entries');
  for (let i = 0; i < 40; i++) index.add(b, `b${i}`, packSeries(i, 0));
  t.equal(b.bytes, 258 + 40 * 16, 'filled without growing');
  t.equal(index.bytes, a.bytes + b.bytes);
  index.add(b, 'b40', packSeries(40, 0));
  t.equal(b.bytes, 258 + 50 * 16, 'then grows by a quarter');
  index.reserve(b, 5);
  t.equal(b.bytes, 258 + 50 * 16, 'room already there: nothing allocated');
  t.equal(idOf(b.get('b39') as number), 39);
});

t.test('series index: random adds, restamps, deletes and reads answer as a map would', async (t) => {
  let seed = 7;
  const random = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const index = new SeriesIndex(64 * 1024 * 1024);
  const ns = index.open('n');
  const model = new Map<string, number>();
  let mismatches = 0;
  for (let step = 0; step < 40_000; step++) {
    const key = `m\u0000[["i","${random(6_000)}"]]`;
    const op = random(10);
    if (op < 5) {
      const packed = packSeries(random(2 ** 32), random(1_000) * 3600_000);
      index.add(ns, key, packed);
      model.set(key, packed);
    } else if (op < 7) {
      const packed = packSeries(random(2 ** 32), random(1_000) * 3600_000);
      index.restamp(ns, key, packed);
      if (model.has(key)) model.set(key, packed);
    } else if (op < 8) {
      index.delete('n', key);
      model.delete(key);
    } else if (ns.get(key) !== model.get(key)) mismatches++;
  }
  t.equal(mismatches, 0, 'every read matched');
  t.equal(ns.size, model.size);
  t.equal(index.size, model.size);
  let missing = 0;
  for (const [key, packed] of model) if (ns.get(key) !== packed) missing++;
  t.equal(missing, 0, 'every entry is there with its value');
  t.ok(ns.complete);
  t.equal(ns.bytes, index.bytes);
  t.ok(ns.bytes <= 258 + model.size * 16 * 1.25 + 16 * 64, `${ns.bytes} bytes for ${model.size} entries: at most a quarter over`);
});

t.test('a packed series keeps its id and its stamp rounded down to the hour', async (t) => {
  const stamp = Date.UTC(2026, 0, 1, 13, 59, 59);
  const packed = packSeries(0xffffffff, stamp);
  t.equal(idOf(packed), 0xffffffff);
  t.equal(stampOf(packed), Date.UTC(2026, 0, 1, 13));
  t.ok(Number.isSafeInteger(packSeries(0xffffffff, Date.UTC(2200, 0, 1))));
});

/** The store on a connection that records every statement it runs (SQLite's expanded text). */
function traced(t: { teardown(fn: () => void | Promise<void>): void }, options: MetricStoreOptions = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-series-'));
  openDatabase(dir).close();
  const statements: string[] = [];
  const db = new BetterSqlite3(path.join(dir, DATABASE_FILE), { verbose: (sql) => statements.push(String(sql)) });
  const clock = { now: Date.UTC(2026, 0, 1) };
  const store = new MetricStore(db, { now: () => clock.now, ...options });
  t.teardown(async () => {
    await store.stop();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const count = (pattern: RegExp): number => statements.filter((s) => pattern.test(s)).length;
  return { db, store, clock, statements, count };
}

const NODE_READ = /^SELECT id, name \|\| char\(0\) \|\| labels_json, last_used_ms FROM series WHERE node =/;
const ANY_SERIES_READ = /FROM series WHERE/;

t.test("a node's series are read with one query when it first defines, then resolved in memory", async (t) => {
  const { db, store: s, clock, statements, count } = traced(t);
  await s.start();
  const first = new SeriesHold();
  const ids = Array.from({ length: 300 }, (_, i) => s.resolveSeries('n1', 'm', label(i), first));
  t.equal(count(NODE_READ), 1, 'the node is read once');
  t.equal(count(ANY_SERIES_READ), 1, 'no read per new definition');
  await s.append({ node: 'n1', streamId: 'st', sequence: 1, timestampMs: clock.now, seriesIds: Uint32Array.from(ids), values: new Float64Array(300) });
  t.equal(rows(db), 300);
  t.equal(count(/^INSERT INTO series .*\), \(/), 4, 'new series written 64 rows per statement');
  t.equal(count(/^INSERT INTO series /), 4 + 300 - 4 * 64, 'the rest one by one');
  t.equal(count(/^UPDATE series/), 0, 'a new series needs no stamp besides its row');

  // The agent reconnects: the same series again, and a few new ones.
  s.releaseSeries(first);
  clock.now += HOUR;
  statements.length = 0;
  const again = new SeriesHold();
  t.same(Array.from({ length: 300 }, (_, i) => s.resolveSeries('n1', 'm', label(i), again)), ids, 'the same ids');
  const more = [300, 301].map((i) => s.resolveSeries('n1', 'm', label(i), again));
  t.equal(count(ANY_SERIES_READ), 0, 'no read at all while the index is loaded');
  await s.append({ node: 'n1', streamId: 'st', sequence: 2, timestampMs: clock.now, seriesIds: Uint32Array.from(more), values: Float64Array.of(1, 2) });
  t.equal(count(/^UPDATE series/), 0, 'series stamped within the day are not stamped again by a reconnect');
  t.equal(rows(db), 302);
  t.same(s.query('n1', 'm', clock.now, clock.now).map((x) => x.labels.i), ['300', '301']);
});

t.test('a series stamped more than a day ago is stamped when held and when let go', async (t) => {
  const { db, store: s, clock, count } = traced(t);
  await s.start();
  const stamp = db.prepare('SELECT last_used_ms AS ms FROM series WHERE id = ?');
  const first = new SeriesHold();
  const id = s.resolveSeries('n1', 'm', label(1), first);
  await s.append({ node: 'n1', streamId: 'st', sequence: 1, timestampMs: clock.now, seriesIds: Uint32Array.of(id), values: Float64Array.of(1) });
  const created = clock.now;
  s.releaseSeries(first);
  clock.now += 2 * DAY;
  await s.append({ node: 'n1', streamId: 'st', sequence: 2, timestampMs: clock.now, seriesIds: Uint32Array.of(), values: Float64Array.of() });
  t.equal((stamp.get(id) as { ms: number }).ms, created, 'a release within the day wrote nothing');
  const second = new SeriesHold();
  t.equal(s.resolveSeries('n1', 'm', label(1), second), id);
  await s.append({ node: 'n1', streamId: 'st', sequence: 3, timestampMs: clock.now, seriesIds: Uint32Array.of(id), values: Float64Array.of(1) });
  t.equal((stamp.get(id) as { ms: number }).ms, clock.now, 'held again two days later: stamped now');
  clock.now += 2 * DAY;
  s.releaseSeries(second);
  await s.append({ node: 'n1', streamId: 'st', sequence: 4, timestampMs: clock.now, seriesIds: Uint32Array.of(), values: Float64Array.of() });
  t.equal((stamp.get(id) as { ms: number }).ms, clock.now, 'let go two days after its stamp: stamped now');
  t.equal(count(/^UPDATE series/), 2);
});

t.test('a dropped node index is read again; its series waiting for their commit keep their ids', async (t) => {
  // Room for two nodes of 30 series (820 bytes each: 260, and 35 entries as allocated) at a time.
  const { db, store: s, clock, count } = traced(t, { seriesCacheBytes: 2_000 });
  await s.start();
  const held = new SeriesHold();
  const define = (node: string, n = 30) => Array.from({ length: n }, (_, i) => s.resolveSeries(node, 'm', label(i), held));
  const a = define('n1');
  const b = define('n2');
  const c = define('n3');
  t.ok(s.seriesCache.bytes <= 2_000, `${s.seriesCache.bytes} bytes`);
  t.equal(s.seriesCache.entries, 60, 'n1 was dropped to make room for n3');
  t.same(define('n1'), a, 'n1 read again: its series waiting for their commit keep their ids');
  t.equal(count(NODE_READ), 4, 'n1, n2, n3, n1 again');
  const extra = s.resolveSeries('n1', 'm', label(30), held);
  t.notOk([...a, ...b, ...c].includes(extra), 'a new id');
  await s.append({ node: 'n1', streamId: 'st', sequence: 1, timestampMs: clock.now, seriesIds: Uint32Array.from([...a, ...b, ...c, extra]), values: new Float64Array(91) });
  t.equal(rows(db), 91, 'each written once');
  t.same(define('n2'), b, 'n2 read again, from the table');
  t.equal(count(NODE_READ), 5);
  t.equal(s.findSeries('n1', 'm', label(30)), extra);
  t.equal(s.findSeries('n1', 'm', label(31)), undefined);
});

t.test('a first batch\'s definitions get their room at once; a node with series stored gets none', async (t) => {
  const { store: s, clock } = traced(t, { seriesCacheBytes: 1_000_000 });
  await s.start();
  const held = new SeriesHold();
  s.expectSeries('n1', 30);
  const before = s.seriesCache.bytes;
  t.equal(before, 260 + 31 * 16, 'room for the thirty and for the node\'s up');
  const ids = Array.from({ length: 30 }, (_, i) => s.resolveSeries('n1', 'm', label(i), held));
  t.equal(s.seriesCache.bytes, before, 'thirty definitions, no growth');
  s.seriesId('n1', 'up', []);
  t.equal(s.seriesCache.bytes, before, 'and the node\'s up, no growth');
  await s.append({ node: 'n1', streamId: 'st', sequence: 1, timestampMs: clock.now, seriesIds: Uint32Array.from(ids), values: new Float64Array(30) });
  s.expectSeries('n1', 30);
  t.equal(s.seriesCache.bytes, before, 'known series: no room made');

  // The node's up may come first: its session's definitions still get their room.
  s.seriesId('n2', 'up', []);
  s.expectSeries('n2', 30);
  const n2 = s.seriesCache.bytes;
  Array.from({ length: 30 }, (_, i) => s.resolveSeries('n2', 'm', label(i), held));
  t.equal(s.seriesCache.bytes, n2, 'up first, then thirty definitions: no growth');
});

t.test("a node whose series outgrow half the bound is resolved through reads, within the bound", async (t) => {
  const { db, store: s, clock, count } = traced(t, { seriesCacheBytes: 1_000, seriesLimits: { maxSeriesPerNode: 60, maxNewSeriesPerMinute: 1000 } });
  await s.start();
  const long = (i: number) => [{ name: 'i', value: `${i}${'v'.repeat(1000)}` }];
  const held = new SeriesHold();
  const ids = Array.from({ length: 50 }, (_, i) => s.resolveSeries('big', 'm', long(i), held));
  t.ok(s.seriesCache.bytes <= 1_000, `${s.seriesCache.bytes} bytes`);
  t.same(Array.from({ length: 50 }, (_, i) => s.resolveSeries('big', 'm', long(i), held)), ids, 'the same ids, from the index or the series waiting for their commit');
  await s.append({ node: 'big', streamId: 'st', sequence: 1, timestampMs: clock.now, seriesIds: Uint32Array.from(ids), values: new Float64Array(50) });
  t.equal(rows(db), 50);
  t.same(Array.from({ length: 50 }, (_, i) => s.resolveSeries('big', 'm', long(i), held)), ids, 'and from the table');
  t.ok(count(/^SELECT id, last_used_ms FROM series WHERE node = 'big'/) > 0, 'a miss reads the table');
  t.equal(count(/FROM series WHERE node = 'big' LIMIT 31(\.0)?$/), 1, "its load read at most the rows half the bound could hold (500 bytes / 16)");
  for (let i = 50; i < 60; i++) s.resolveSeries('big', 'm', long(i), held);
  t.throws(() => s.resolveSeries('big', 'm', long(60), held), { code: ErrorCodes.SERIES_LIMIT }, 'the limit counts rows and waiting series');
  t.ok(s.seriesCache.bytes <= 1_000);
});

t.test('definitions that meet the limit part way keep the ones before them', async (t) => {
  const { state, clock } = setup(t, { seriesLimits: { maxSeriesPerNode: 5, maxNewSeriesPerMinute: 1000 } });
  const s = state.store;
  await s.start();
  const session = new SeriesHold();
  const defs = Array.from({ length: 8 }, (_, i) => ({ name: 'm', labels: label(i) }));
  const resolve = (list: typeof defs, holder = session): number[] => list.map((d) => s.resolveSeries('n1', d.name, d.labels, holder));
  const first = resolve(defs.slice(0, 2));
  t.equal(first.length, 2);
  t.throws(() => resolve(defs.slice(2)), { code: ErrorCodes.SERIES_LIMIT });
  t.equal(session.size, 5, 'the five admitted are held');
  t.same(resolve(defs.slice(0, 5), new SeriesHold()).slice(0, 2), first, 'known ones resolve as before');
  await s.append({ node: 'n1', streamId: 'st', sequence: 1, timestampMs: clock.now, seriesIds: session.ids(), values: new Float64Array(5) });
  t.equal(rows(state.db), 5);
  s.releaseSeries(session);
  t.throws(() => s.resolveSeries('n1', 'm', label(5), new SeriesHold()), { code: ErrorCodes.SERIES_LIMIT }, 'still five rows');
});

t.test('labels are stored sorted by name, as JSON, whatever their order', async (t) => {
  t.equal(labelsJsonOf([]), '[]');
  const labels = [{ name: 'mode', value: 'idle' }, { name: 'cpu', value: '0' }, { name: 'x', value: 'quote " \\ \u0000 \u2028' }];
  t.equal(labelsJsonOf(labels), JSON.stringify([['cpu', '0'], ['mode', 'idle'], ['x', 'quote " \\ \u0000 \u2028']]));
  t.equal(labelsJsonOf([labels[1], labels[0], labels[2]]), labelsJsonOf(labels));
  t.equal(labels[0].name, 'mode', 'the caller\'s array is not reordered');
});

t.test("the collector's own series neither read a node's whole index nor read again once known", async (t) => {
  const { store: s, statements, count } = traced(t);
  await s.start();
  const session = new SeriesHold();
  const agent = s.resolveSeries('n1', 'm', label(1), session);
  statements.length = 0;
  const up = Array.from({ length: 3 }, (_, i) => s.seriesId(`n${i + 1}`, 'up', []));
  t.equal(count(NODE_READ), 0, "no node's series read for up");
  t.equal(new Set([...up, agent]).size, 4);
  statements.length = 0;
  t.same(Array.from({ length: 3 }, (_, i) => s.seriesId(`n${i + 1}`, 'up', [])), up);
  t.same(statements, [], 'known: nothing read or written');
  t.equal(s.findSeries('n1', 'up', []), up[0], "and in the node's loaded index");
  t.equal(s.seriesId('n1', 'm', label(1)), agent, 'a series a session defined, waiting for its commit');
});

t.test("the collector's own series has one row, whichever store on the file wrote it first", async (t) => {
  const { state, clock, reopen } = setup(t);
  const s = state.store;
  await s.start();
  s.resolveSeries('n1', 'm', label(1), new SeriesHold()); // n1's index is loaded, complete, without up
  const other = new MetricStore(state.db, { now: () => clock.now });
  const up = other.seriesId('n1', 'up', []);
  t.equal(s.seriesId('n1', 'up', []), up, "the other store's row is read back, not written again");
  const upRows = () => (state.db.prepare("SELECT COUNT(*) AS n FROM series WHERE node = 'n1' AND name = 'up'").get() as { n: number }).n;
  t.equal(upRows(), 1);
  const again = await reopen();
  t.equal(again.seriesId('n1', 'up', []), up, 'after a restart too');
  t.equal(upRows(), 1);
});

t.test('a failed commit keeps every series it was writing, many rows per statement or one', async (t) => {
  const { state, clock } = setup(t);
  const s = state.store;
  await s.start();
  state.db.exec("CREATE TEMP TRIGGER fail_all BEFORE INSERT ON batches BEGIN SELECT RAISE(ABORT, 'injected fault'); END");
  const held = new SeriesHold();
  const ids = Array.from({ length: 100 }, (_, i) => s.resolveSeries('n1', 'm', label(i), held));
  const b = { node: 'n1', streamId: 'st', sequence: 1, timestampMs: clock.now, seriesIds: Uint32Array.from(ids), values: new Float64Array(100) };
  await t.rejects(s.append(b), { code: ErrorCodes.STORE_FAILED });
  t.equal(rows(state.db), 0, 'rolled back with the batch');
  t.equal(s.counters.seriesCreated, 0);
  const more = s.resolveSeries('n1', 'm', label(100), held);
  state.db.exec('DROP TRIGGER fail_all');
  await s.append({ ...b, seriesIds: Uint32Array.from([...ids, more]), values: new Float64Array(101) });
  t.equal(rows(state.db), 101, 'written by the next commit, with the one defined since');
  t.equal(s.counters.seriesCreated, 101);
  t.same(Array.from({ length: 101 }, (_, i) => new MetricStore(state.db).findSeries('n1', 'm', label(i))), [...ids, more]);
});
