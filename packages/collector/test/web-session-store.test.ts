/** Dashboard sessions in SQLite (SPEC §15): only the cookie hash stored, expiry, bounds, pruning. */
import * as path from 'node:path';
import t from 'tap';
import { openDatabase } from '../dist/store/database';
import { WebSessionStore } from '../dist/web/web-session-store';

const MINUTE = 60_000;
const T0 = Date.parse('2026-12-01T08:00:00Z');

function setup(t: { testdir(): string; teardown(fn: () => void): void }, options: Partial<ConstructorParameters<typeof WebSessionStore>[1]> = {}) {
  const db = openDatabase(path.join(t.testdir(), 'data'));
  t.teardown(() => db.close());
  return { db, store: new WebSessionStore(db, { idleTimeoutMs: 30 * MINUTE, maxAgeMs: 720 * MINUTE, ...options }) };
}

const alice = { name: 'alice', method: 'local' as const, role: 'monitoring-viewer' as const, nodes: null };

t.test('a session is found by its cookie; only the SHA-256 is stored', async (t) => {
  const { db, store } = setup(t);
  const { cookie, session } = store.create({ ...alice, displayName: 'Alice A.' }, T0);
  t.match(cookie, /^[A-Za-z0-9_-]{43}$/);
  t.match(session, { name: 'alice', method: 'local', displayName: 'Alice A.', role: 'monitoring-viewer', mustChangePassword: false });
  t.equal(session.idleExpiresMs, T0 + 30 * MINUTE);
  t.equal(session.expiresMs, T0 + 720 * MINUTE);
  const rows = db.prepare('SELECT * FROM web_sessions').all();
  t.notOk(JSON.stringify(rows).includes(cookie));
  t.match(store.authenticate(cookie, T0 + MINUTE), { name: 'alice', lastSeenMs: T0 + MINUTE });
  for (const bad of ['', 'x', cookie.slice(1), `${cookie}A`, cookie.toUpperCase()]) t.equal(store.authenticate(bad, T0), null);
  t.ok(store.csrfMatches(session, session.csrfToken));
  t.notOk(store.csrfMatches(session, undefined));
  t.notOk(store.csrfMatches(session, session.csrfToken.slice(1)));
});

t.test('idle and absolute deadlines; an expired row is deleted when met', async (t) => {
  const { store } = setup(t);
  const idle = store.create(alice, T0);
  t.ok(store.authenticate(idle.cookie, T0 + 29 * MINUTE));
  t.equal(store.authenticate(idle.cookie, T0 + 59 * MINUTE), null);
  t.equal(store.authenticate(idle.cookie, T0 + 30 * MINUTE), null, 'gone for good');
  const old = store.create(alice, T0);
  let now = T0;
  while (now + 10 * MINUTE < T0 + 720 * MINUTE) {
    now += 10 * MINUTE;
    t.ok(store.authenticate(old.cookie, now));
  }
  t.equal(store.authenticate(old.cookie, T0 + 720 * MINUTE), null);
  t.equal(store.count(), 0);
});

t.test('at most maxPerUser sessions per user: the oldest ends', async (t) => {
  const { store } = setup(t, { maxPerUser: 3 });
  const made = [0, 1, 2, 3].map((i) => store.create(alice, T0 + i));
  store.create({ ...alice, name: 'bob' }, T0);
  t.equal(store.authenticate(made[0].cookie, T0 + 10), null, 'the oldest is closed');
  for (const m of made.slice(1)) t.ok(store.authenticate(m.cookie, T0 + 10));
  t.equal(store.deleteOfUser('alice'), 3);
  t.equal(store.deleteOfUser('bob', 'oidc'), 0, 'a local bob is not an OIDC bob');
  t.equal(store.count(), 1);
});

t.test('expired rows are pruned at sign-in, a bounded batch at a time', async (t) => {
  const { store } = setup(t, { pruneBatch: 5, maxPerUser: 100 });
  for (let i = 0; i < 12; i++) store.create({ ...alice, name: `u${i}` }, T0);
  t.equal(store.count(), 12);
  const later = T0 + 31 * MINUTE;
  store.create(alice, later);
  t.equal(store.count(), 12 - 5 + 1, 'one batch of 5 went');
  t.equal(store.prune(later), 5);
  t.equal(store.prune(later), 2);
  t.equal(store.count(), 1, 'the live one stays');
});
