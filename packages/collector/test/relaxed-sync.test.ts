/**
 * Relaxed writes: the agent records and the metric store's own writes reach the WAL at
 * synchronous=NORMAL, with no fsync on the event loop, and the connection's setting is back to
 * FULL for every other write whatever happened.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { openDatabase, type Database } from '../src/store/database';
import { RelaxedSync } from '../src/store/relaxed-sync';

function setup(t: Test): Database {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-relaxed-'));
  const db = openDatabase(dir);
  db.exec('CREATE TABLE notes (text TEXT NOT NULL)');
  t.teardown(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return db;
}

const synchronous = (db: Database): number => db.pragma('synchronous', { simple: true }) as number;
const count = (db: Database): number => (db.prepare('SELECT COUNT(*) AS n FROM notes').get() as { n: number }).n;

t.test('a relaxed transaction commits at NORMAL and leaves the connection at FULL', (t) => {
  const db = setup(t);
  const relaxed = new RelaxedSync(db);
  const seen = relaxed.transaction(() => {
    db.prepare("INSERT INTO notes VALUES ('a')").run();
    return synchronous(db);
  });
  t.equal(seen, 1, 'NORMAL while it writes');
  t.equal(synchronous(db), 2, 'FULL again afterwards');
  t.equal(count(db), 1);
  t.end();
});

t.test('a failed relaxed transaction rolls back and still restores FULL', (t) => {
  const db = setup(t);
  const relaxed = new RelaxedSync(db);
  t.throws(() =>
    relaxed.transaction(() => {
      db.prepare("INSERT INTO notes VALUES ('a')").run();
      throw new Error('injected fault');
    }),
  );
  t.equal(count(db), 0, 'rolled back');
  t.equal(synchronous(db), 2);
  t.end();
});

t.test('inside an enclosing transaction the setting is left alone (SQLite refuses to change it there)', (t) => {
  const db = setup(t);
  const relaxed = new RelaxedSync(db);
  db.transaction(() => {
    relaxed.transaction(() => db.prepare("INSERT INTO notes VALUES ('a')").run());
    t.equal(synchronous(db), 2);
  })();
  t.equal(count(db), 1, 'written with the enclosing commit');
  t.end();
});

t.test('a connection set below NORMAL stays there', (t) => {
  const db = setup(t);
  db.pragma('synchronous = OFF');
  const relaxed = new RelaxedSync(db);
  t.equal(relaxed.run(() => synchronous(db)), 0);
  t.equal(synchronous(db), 0);
  t.end();
});
