import * as fs from 'node:fs';
import * as path from 'node:path';
import BetterSqlite3 = require('better-sqlite3');
import { ErrorCodes, XimpError } from '@ximp/shared';

export type Database = BetterSqlite3.Database;

/** The database file inside `data_dir`. */
export const DATABASE_FILE = 'ximp.db';

/**
 * Forward-only migrations, applied in order, each in its own transaction together with the bump
 * of `schema_version`. Never edit a released entry: append a new one.
 */
const MIGRATIONS: readonly string[] = [
  // 1: state (tokens, clients, audit, agents) and the metric store.
  `
  CREATE TABLE agent_tokens (
    id TEXT PRIMARY KEY,
    node TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    revoked_ms INTEGER,
    last_used_ms INTEGER
  );
  CREATE INDEX agent_tokens_by_node ON agent_tokens (node, created_ms, id);

  CREATE TABLE api_clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    last_used_ms INTEGER,
    revoked_ms INTEGER,
    secret_rotated_ms INTEGER
  );

  CREATE TABLE access_tokens (
    token_hash BLOB PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES api_clients (id) ON DELETE CASCADE,
    issued_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
  );
  CREATE INDEX access_tokens_by_client ON access_tokens (client_id, expires_ms);
  CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_ms);

  CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    source TEXT NOT NULL
  );

  CREATE TABLE agents (
    node TEXT PRIMARY KEY,
    address TEXT,
    version TEXT,
    token_id TEXT,
    interval_ms INTEGER,
    boot_id TEXT,
    host_json TEXT,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER,
    connected INTEGER NOT NULL DEFAULT 0
  );

  CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
  );

  CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    node TEXT NOT NULL,
    name TEXT NOT NULL,
    labels_json TEXT NOT NULL,
    UNIQUE (node, name, labels_json)
  );

  -- One row per received batch (SPEC §9), not one per sample. The primary key drops replays.
  CREATE TABLE batches (
    node TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    series_ids BLOB NOT NULL,
    vals BLOB NOT NULL,
    PRIMARY KEY (node, stream_id, sequence)
  );
  CREATE INDEX batches_by_node_time ON batches (node, timestamp_ms);
  CREATE INDEX batches_by_time ON batches (timestamp_ms);

  -- Highest stored sequence per stream; kept apart from batches so retention cannot reset it.
  CREATE TABLE streams (
    node TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    last_sequence INTEGER NOT NULL,
    PRIMARY KEY (node, stream_id)
  ) WITHOUT ROWID;
  `,
  // 2: series expire. (From here on streams.last_sequence is the contiguous watermark: the highest
  // sequence with every earlier batch the agent sent stored too; see MetricStore.lastSequence.)
  // last_used_ms is when a live session last held the series; rows that were there before count
  // as used at the upgrade, or at their node's newest batch if that lies ahead (accepted before
  // future-stamped batches were refused), so retention keeps them as long as any batch of theirs.
  `
  ALTER TABLE series ADD COLUMN last_used_ms INTEGER NOT NULL DEFAULT 0;
  UPDATE series SET last_used_ms = MAX(
    CAST(strftime('%s', 'now') AS INTEGER) * 1000,
    COALESCE((SELECT MAX(timestamp_ms) FROM batches WHERE batches.node = series.node), 0)
  );
  CREATE INDEX series_by_last_used ON series (last_used_ms);
  `,
  // 3: alerting (SPEC §14) and node-scoped API clients. A rule or channel is stored as the JSON
  // object the API answers with; channel secrets only sealed (alerting/secret-box.ts), apart from
  // the settings shown to readers. `instance` is the node, or the component of a certificate.
  `
  CREATE TABLE alert_rules (
    name TEXT PRIMARY KEY,
    definition_json TEXT NOT NULL,
    built_in INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
  );

  CREATE TABLE alert_channels (
    name TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    settings_json TEXT NOT NULL,
    sealed_json TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
  );

  CREATE TABLE alert_instances (
    rule TEXT NOT NULL,
    instance TEXT NOT NULL,
    node TEXT,
    labels_json TEXT NOT NULL,
    status TEXT NOT NULL,
    active_since_ms INTEGER,
    fired_ms INTEGER,
    value REAL,
    PRIMARY KEY (rule, instance)
  ) WITHOUT ROWID;

  CREATE TABLE alert_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms INTEGER NOT NULL,
    rule TEXT NOT NULL,
    instance TEXT NOT NULL,
    node TEXT,
    event TEXT NOT NULL,
    value REAL,
    channel TEXT,
    outcome TEXT,
    detail TEXT
  );
  CREATE INDEX alert_history_by_time ON alert_history (time_ms);
  CREATE INDEX alert_history_by_node ON alert_history (node, time_ms);
  CREATE INDEX alert_history_by_rule ON alert_history (rule, time_ms);

  ALTER TABLE api_clients ADD COLUMN nodes TEXT;
  `,
  // 4: local dashboard users and web sessions (SPEC §15). A session is stored by the SHA-256 of
  // its cookie only; `method` is local or oidc. Audit entries gain an optional reason (why a
  // sign-in failed).
  `
  CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    nodes TEXT,
    password_hash TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 1,
    disabled_ms INTEGER,
    created_ms INTEGER NOT NULL,
    last_login_ms INTEGER
  );

  CREATE TABLE web_sessions (
    cookie_hash BLOB PRIMARY KEY,
    method TEXT NOT NULL,
    user_name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    nodes TEXT,
    csrf_token TEXT NOT NULL,
    must_change_password INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
  );
  CREATE INDEX web_sessions_by_user ON web_sessions (method, user_name, created_ms);
  CREATE INDEX web_sessions_by_last_seen ON web_sessions (last_seen_ms);
  CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_ms);

  ALTER TABLE audit_log ADD COLUMN reason TEXT;
  `,
  // 5: saved dashboards (the dashboard contract); panels as the JSON array the API answers with.
  `
  CREATE TABLE dashboards (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    panels_json TEXT NOT NULL,
    builtin INTEGER NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
  );
  `,
  // 6: series lose the UNIQUE (node, name, labels_json) index for a plain (node, name) one. The
  // unique index held every series' whole text a second time and made each new row cost about a
  // third more CPU (bench/series-rows.js); the store already resolves every definition
  // against its own index before it gives an id (metric-store.ts), and the reads it serves (a
  // node's series, a metric of a node, one series) all start with the node and the name. SQLite
  // cannot drop a table constraint, so the table is rebuilt; ids and stamps are kept.
  `
  CREATE TABLE series_v6 (
    id INTEGER PRIMARY KEY,
    node TEXT NOT NULL,
    name TEXT NOT NULL,
    labels_json TEXT NOT NULL,
    last_used_ms INTEGER NOT NULL DEFAULT 0
  );
  INSERT INTO series_v6 (id, node, name, labels_json, last_used_ms) SELECT id, node, name, labels_json, last_used_ms FROM series;
  DROP TABLE series;
  ALTER TABLE series_v6 RENAME TO series;
  CREATE INDEX series_by_node_name ON series (node, name);
  CREATE INDEX series_by_last_used ON series (last_used_ms);
  `,
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Opens (creating if needed) `<dataDir>/ximp.db`: directory 0700, file 0600 (SQLite gives its
 * -wal and -shm files the same mode), WAL with synchronous=FULL so every acknowledged commit is
 * on disk before the call returns and survives kill -9 and power loss, foreign keys on, and a busy
 * timeout so a checkpoint never fails a write. Then applies pending migrations.
 */
export function openDatabase(dataDir: string): Database {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, DATABASE_FILE);
  // Create the file ourselves so it never exists with the process umask's mode.
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  if ((fs.statSync(file).mode & 0o777) !== 0o600) fs.chmodSync(file, 0o600);

  let db: Database;
  try {
    db = new BetterSqlite3(file);
  } catch (err) {
    throw new XimpError(ErrorCodes.STORE_FAILED, `cannot open database ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // Bound the WAL file on disk after checkpoints.
    db.pragma('journal_size_limit = 67108864');
    migrate(db);
  } catch (err) {
    db.close();
    if (err instanceof XimpError) throw err;
    throw new XimpError(ErrorCodes.STORE_FAILED, `cannot prepare database ${file}: ${(err as Error).message}`, { cause: err });
  }
  return db;
}

/** The schema version recorded in the database (0 for a new file). */
export function schemaVersion(db: Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
  return row ? row.version : 0;
}

function migrate(db: Database): void {
  // IMMEDIATE takes the write lock first, so two processes opening one file cannot both migrate.
  db.transaction(() => {
    const current = schemaVersion(db);
    if (current > SCHEMA_VERSION) {
      throw new XimpError(
        ErrorCodes.STORE_FAILED,
        `database schema version ${current} is newer than this collector supports (${SCHEMA_VERSION}); upgrade the collector`,
      );
    }
    if (current === SCHEMA_VERSION) return;
    for (let v = current; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]);
    db.prepare('DELETE FROM schema_version').run();
    db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
  }).immediate();
}
