import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import BetterSqlite3 = require('better-sqlite3');
import { ErrorCodes, hasCode } from '@ximp/shared';
import { DATABASE_FILE, SCHEMA_VERSION, openDatabase, schemaVersion } from '../src/store/database';

/** Undoes migration 6: the series table as schemas 2 to 5 had it, UNIQUE (node, name, labels_json) and all. */
const SERIES_BEFORE_MIGRATION_6 = `
  DROP TABLE series;
  CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    node TEXT NOT NULL,
    name TEXT NOT NULL,
    labels_json TEXT NOT NULL,
    last_used_ms INTEGER NOT NULL DEFAULT 0,
    UNIQUE (node, name, labels_json)
  );
  CREATE INDEX series_by_last_used ON series (last_used_ms);
`;

function tempDir(tt: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-db-'));
  tt.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('creates a private data dir and database file with durable settings', async (t) => {
  const dataDir = path.join(tempDir(t), 'nested', 'data');
  const db = openDatabase(dataDir);
  t.teardown(() => db.close());
  t.equal(fs.statSync(dataDir).mode & 0o777, 0o700, 'data dir is 0700');
  const file = path.join(dataDir, DATABASE_FILE);
  t.equal(fs.statSync(file).mode & 0o777, 0o600, 'database file is 0600');
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(db.pragma('synchronous', { simple: true }), 2, 'synchronous=FULL');
  t.equal(db.pragma('foreign_keys', { simple: true }), 1);
  t.ok((db.pragma('busy_timeout', { simple: true }) as number) > 0, 'busy timeout set');
  db.prepare("INSERT INTO settings (key, value, updated_ms) VALUES ('k', 'v', 1)").run();
  t.equal(fs.statSync(`${file}-wal`).mode & 0o777, 0o600, 'WAL file inherits 0600');
  t.equal(schemaVersion(db), SCHEMA_VERSION);
});

t.test('tightens an existing database file and keeps data across reopen', async (t) => {
  const dataDir = tempDir(t);
  let db = openDatabase(dataDir);
  db.prepare("INSERT INTO settings (key, value, updated_ms) VALUES ('kept', 'yes', 1)").run();
  db.close();
  const file = path.join(dataDir, DATABASE_FILE);
  fs.chmodSync(file, 0o644);
  db = openDatabase(dataDir);
  t.teardown(() => db.close());
  t.equal(fs.statSync(file).mode & 0o777, 0o600);
  t.same(db.prepare("SELECT value FROM settings WHERE key = 'kept'").get(), { value: 'yes' });
  t.equal(schemaVersion(db), SCHEMA_VERSION, 'migrations are not re-run');
});

t.test('refuses a database written by a newer collector', async (t) => {
  const dataDir = tempDir(t);
  openDatabase(dataDir).close();
  const raw = new BetterSqlite3(path.join(dataDir, DATABASE_FILE));
  raw.prepare('UPDATE schema_version SET version = ?').run(SCHEMA_VERSION + 1);
  raw.close();
  let caught: unknown;
  try {
    openDatabase(dataDir).close();
  } catch (err) {
    caught = err;
  }
  t.ok(hasCode(caught, ErrorCodes.STORE_FAILED), 'XIMP_ERR_STORE_FAILED');
});

t.test('foreign keys are enforced', async (t) => {
  const db = openDatabase(tempDir(t));
  t.teardown(() => db.close());
  t.throws(() =>
    db.prepare('INSERT INTO access_tokens (token_hash, client_id, issued_ms, expires_ms) VALUES (?, ?, 1, 2)').run(Buffer.alloc(32), 'xc_missing'),
  );
});

t.test('migration 2 stamps existing series no earlier than their node\'s newest batch', async (t) => {
  const dataDir = tempDir(t);
  openDatabase(dataDir).close();
  // Back to schema 1, as a collector before series expiry left it: one series, one batch a week ahead.
  const raw = new BetterSqlite3(path.join(dataDir, DATABASE_FILE));
  const weekAhead = Date.now() + 7 * 86_400_000;
  raw.exec(
    [
      SERIES_BEFORE_MIGRATION_6,
      // what migration 5 added
      'DROP TABLE dashboards;',
      // what migration 4 added
      'DROP TABLE web_sessions; DROP TABLE users; ALTER TABLE audit_log DROP COLUMN reason;',
      // what migration 3 added
      'DROP TABLE alert_rules; DROP TABLE alert_channels; DROP TABLE alert_instances; DROP TABLE alert_history;',
      'ALTER TABLE api_clients DROP COLUMN nodes;',
      // what migration 2 added
      'DROP INDEX series_by_last_used; ALTER TABLE series DROP COLUMN last_used_ms; UPDATE schema_version SET version = 1;',
    ].join(' '),
  );
  raw.prepare("INSERT INTO series (id, node, name, labels_json) VALUES (1, 'n1', 'node_load1', '[]'), (2, 'n2', 'node_load1', '[]')").run();
  raw.prepare("INSERT INTO batches (node, stream_id, sequence, timestamp_ms, series_ids, vals) VALUES ('n1', 's', 1, ?, x'01000000', x'0000000000000000')").run(weekAhead);
  raw.close();
  const before = Date.now();
  const db = openDatabase(dataDir);
  t.teardown(() => db.close());
  t.equal(schemaVersion(db), SCHEMA_VERSION);
  const stamps = db.prepare('SELECT id, last_used_ms FROM series ORDER BY id').all() as { id: number; last_used_ms: number }[];
  t.equal(stamps[0].last_used_ms, weekAhead, 'a series whose node has a batch ahead counts as used then');
  t.ok(stamps[1].last_used_ms >= Math.floor(before / 1000) * 1000, 'the others count as used at the upgrade');
});

t.test('migration 4 adds users and web sessions to a schema-3 database; older audit entries keep their shape', async (t) => {
  const dataDir = tempDir(t);
  openDatabase(dataDir).close();
  const raw = new BetterSqlite3(path.join(dataDir, DATABASE_FILE));
  raw.exec(`${SERIES_BEFORE_MIGRATION_6} DROP TABLE dashboards; DROP TABLE users; DROP TABLE web_sessions; ALTER TABLE audit_log DROP COLUMN reason; UPDATE schema_version SET version = 3;`);
  raw.prepare("INSERT INTO audit_log (time_ms, actor, action, target, source) VALUES (0, 'xc_a', 'client.create', 'xc_b', '10.0.0.1')").run();
  raw.close();
  const db = openDatabase(dataDir);
  t.teardown(() => db.close());
  t.equal(schemaVersion(db), SCHEMA_VERSION);
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
  t.ok(tables.includes('users') && tables.includes('web_sessions'));
  t.same(db.prepare('SELECT actor, reason FROM audit_log').all(), [{ actor: 'xc_a', reason: null }]);
});

t.test('migration 6 keeps every series row and stamp, and trades the unique index for (node, name)', async (t) => {
  const dataDir = tempDir(t);
  openDatabase(dataDir).close();
  const raw = new BetterSqlite3(path.join(dataDir, DATABASE_FILE));
  raw.exec(`${SERIES_BEFORE_MIGRATION_6} UPDATE schema_version SET version = 5;`);
  const rows = [
    { id: 7, node: 'n1', name: 'node_load1', labels_json: '[]', last_used_ms: 1000 },
    { id: 9, node: 'n1', name: 'node_cpu_seconds_total', labels_json: '[["cpu","0"],["mode","idle"]]', last_used_ms: 2000 },
    { id: 12, node: 'n2', name: 'node_load1', labels_json: '[]', last_used_ms: 3000 },
  ];
  const insert = raw.prepare('INSERT INTO series (id, node, name, labels_json, last_used_ms) VALUES (@id, @node, @name, @labels_json, @last_used_ms)');
  for (const row of rows) insert.run(row);
  raw.close();

  const db = openDatabase(dataDir);
  t.teardown(() => db.close());
  t.equal(schemaVersion(db), SCHEMA_VERSION);
  t.same(db.prepare('SELECT id, node, name, labels_json, last_used_ms FROM series ORDER BY id').all(), rows, 'ids, keys and stamps as they were');
  const indexes = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'series' ORDER BY name").all() as { name: string; sql: string | null }[];
  t.same(indexes.map((i) => i.name), ['series_by_last_used', 'series_by_node_name'], 'no unique index is left');
  // The store's reads by node, by metric and by series all go through the new index.
  const reads: [string, string[]][] = [
    ['SELECT id, name, labels_json, last_used_ms FROM series WHERE node = ? LIMIT 10', ['n1']],
    ['SELECT id, labels_json FROM series WHERE node = ? AND name = ? ORDER BY labels_json', ['n1', 'node_load1']],
    ['SELECT id, last_used_ms FROM series WHERE node = ? AND name = ? AND labels_json = ?', ['n1', 'node_load1', '[]']],
  ];
  for (const [sql, params] of reads) {
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((p) => p.detail).join('; ');
    t.match(plan, /USING (COVERING )?INDEX series_by_node_name/, sql);
  }
});

t.test('migration 6 failing part way leaves the series table as it was, at schema 5', async (t) => {
  const dataDir = tempDir(t);
  openDatabase(dataDir).close();
  const raw = new BetterSqlite3(path.join(dataDir, DATABASE_FILE));
  // An index of that name elsewhere makes the migration's last step fail, after the copy and the drop.
  raw.exec(`${SERIES_BEFORE_MIGRATION_6} UPDATE schema_version SET version = 5; CREATE INDEX series_by_node_name ON settings (value);`);
  raw.prepare("INSERT INTO series (id, node, name, labels_json, last_used_ms) VALUES (3, 'n1', 'up', '[]', 42)").run();
  raw.close();
  t.throws(() => openDatabase(dataDir), { code: ErrorCodes.STORE_FAILED });
  const after = new BetterSqlite3(path.join(dataDir, DATABASE_FILE));
  t.teardown(() => after.close());
  t.equal((after.prepare('SELECT version FROM schema_version').get() as { version: number }).version, 5);
  t.same(after.prepare('SELECT id, node, name, labels_json, last_used_ms FROM series').all(), [{ id: 3, node: 'n1', name: 'up', labels_json: '[]', last_used_ms: 42 }]);
  t.match(String((after.prepare("SELECT sql FROM sqlite_master WHERE name = 'series'").get() as { sql: string }).sql), /UNIQUE \(node, name, labels_json\)/, 'with its unique index');
  t.notOk(after.prepare("SELECT 1 FROM sqlite_master WHERE name = 'series_v6'").get(), 'no half-built copy left');
});
