import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { AccessTokenStore, MAX_ACCESS_TOKENS_PER_CLIENT } from '../src/auth/access-token-store';
import { ApiClientStore } from '../src/auth/api-client-store';
import { openDatabase } from '../src/store/database';

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3600_000;

function setup(tt: { teardown(fn: () => void): void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ximp-access-'));
  const db = openDatabase(dir);
  tt.teardown(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { db, clients: new ApiClientStore(db), access: new AccessTokenStore(db, { maxPerClient: 20 }) };
}

t.test('issue and verify, hashed at rest', async (t) => {
  const { db, clients, access } = setup(t);
  const c = clients.create('viewer', 'monitoring-viewer', T0);
  const issued = access.issue(c.clientId, HOUR, T0);
  t.match(issued.accessToken, /^xat_[a-z0-9]{52}$/);
  t.equal(issued.expiresIn, 3600);
  t.same(access.verify(issued.accessToken, T0 + 1), { clientId: c.clientId, role: 'monitoring-viewer', nodes: null });
  const stored = JSON.stringify(db.prepare('SELECT * FROM access_tokens').all(), (_k, v: unknown) =>
    Buffer.isBuffer(v) ? v.toString('latin1') : v,
  );
  t.notOk(stored.includes(issued.accessToken.slice(4)), 'only the hash is stored');
  t.not(access.issue(c.clientId, HOUR, T0).accessToken, issued.accessToken, 'tokens are unique');
});

t.test('expiry', async (t) => {
  const { clients, access } = setup(t);
  const c = clients.create('x', 'monitoring-admin', T0);
  const { accessToken } = access.issue(c.clientId, HOUR, T0);
  t.ok(access.verify(accessToken, T0 + HOUR - 1));
  t.equal(access.verify(accessToken, T0 + HOUR), null, 'expired at expiry');
  t.equal(access.purgeExpired(T0 + HOUR), 1);
  t.equal(access.purgeExpired(T0 + HOUR), 0);
});

t.test('revoking the client ends its tokens at once', async (t) => {
  const { db, clients, access } = setup(t);
  const c = clients.create('x', 'monitoring-admin', T0);
  const d = clients.create('y', 'monitoring-editor', T0);
  const tokC = access.issue(c.clientId, HOUR, T0).accessToken;
  const tokD = access.issue(d.clientId, HOUR, T0).accessToken;
  // Even if a row survived (the join is the real check), a revoked client's token is refused.
  db.prepare('UPDATE api_clients SET revoked_ms = ? WHERE id = ?').run(T0 + 1, c.clientId);
  t.equal(access.verify(tokC, T0 + 2), null, 'join on the client refuses');
  t.same(access.verify(tokD, T0 + 2), { clientId: d.clientId, role: 'monitoring-editor', nodes: null }, 'other clients unaffected');
  db.prepare('UPDATE api_clients SET revoked_ms = NULL WHERE id = ?').run(c.clientId);
  clients.create('spare admin', 'monitoring-admin', T0 + 3); // the last admin cannot be revoked
  t.equal(clients.revoke(c.clientId, T0 + 3), 'revoked');
  t.equal(access.verify(tokC, T0 + 4), null);
  t.equal((db.prepare('SELECT COUNT(*) AS n FROM access_tokens WHERE client_id = ?').get(c.clientId) as { n: number }).n, 0, 'rows dropped');
});

t.test('single token revoke, malformed input, per-client bound', async (t) => {
  const { db, clients, access } = setup(t);
  const c = clients.create('x', 'monitoring-viewer', T0);
  const a = access.issue(c.clientId, HOUR, T0).accessToken;
  const b = access.issue(c.clientId, HOUR, T0).accessToken;
  t.equal(access.revoke(a), true);
  t.equal(access.revoke(a), false);
  t.equal(access.verify(a, T0 + 1), null);
  t.ok(access.verify(b, T0 + 1));
  for (const bad of ['', 'xat_', b.toUpperCase(), `${b}x`, `Bearer ${b}`, undefined as unknown as string]) {
    t.equal(access.verify(bad, T0 + 1), null);
  }
  t.equal(access.revokeClient(c.clientId), 1);

  t.equal(MAX_ACCESS_TOKENS_PER_CLIENT, 1000, 'default bound');
  for (let i = 0; i < 25; i++) access.issue(c.clientId, HOUR, T0 + i);
  const n = (db.prepare('SELECT COUNT(*) AS n FROM access_tokens WHERE client_id = ?').get(c.clientId) as { n: number }).n;
  t.equal(n, 20, 'live tokens per client are bounded');
  const last = access.issue(c.clientId, HOUR, T0 + 10_000).accessToken;
  t.ok(access.verify(last, T0 + 10_001), 'the newest survives trimming');
});
